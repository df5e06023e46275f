// Per-plugin memory cgroups: finding the host's memory cgroup, creating and limiting one
// per process, removing it, and cleaning up after a host that died (memory_cgroup.hpp).
#include "airlock/host/memory_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace airlock::host {
namespace {

constexpr std::string_view kNamePrefix = "airlock-";
// Plugin names are at most NAME_MAX long already; keep room for "-<pid>-<n>".
constexpr std::size_t kMaxLabel = 200;
// Above this the kernel's page counter is unlimited anyway; write "max"/-1 instead.
constexpr std::uint64_t kUnlimitedFrom = std::uint64_t{1} << 62;
// remove(): how often to retry rmdir while killed leftovers exit, and how long to wait between.
constexpr int kRemoveAttempts = 50;
constexpr auto kRemoveRetryDelay = std::chrono::milliseconds(10);
// The trial cgroup's limit (any value the kernel accepts).
constexpr std::uint64_t kTrialLimit = 64ull << 20;

std::atomic<std::uint64_t> g_counter{0};

std::string errno_text(int error) {
    return std::string(strerrordesc_np(error)) + " (" + strerrorname_np(error) + ")";
}

std::optional<std::string> read_small_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Writes `value` to a cgroup interface file; 0 or the errno.
int write_cgroup_file(const std::string& path, std::string_view value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return errno;
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) return errno;
    return 0;
}

bool has_token(std::string_view list, std::string_view token, char separator) {
    while (!list.empty()) {
        const std::size_t end = list.find(separator);
        if (list.substr(0, end) == token) return true;
        if (end == std::string_view::npos) break;
        list.remove_prefix(end + 1);
    }
    return false;
}

std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// The value of a "key N" line in memory.oom_control / memory.events.
std::uint64_t counter_in(const std::string& text, std::string_view key) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ') {
            std::uint64_t value = 0;
            std::from_chars(line.data() + key.size() + 1, line.data() + line.size(), value);
            return value;
        }
    }
    return 0;
}

struct CgroupMount {
    std::string root;   // the part of the hierarchy mounted there ("/" unless namespaced)
    std::string point;  // where it is mounted
    bool v2 = false;
};

// cgroup mounts from /proc/self/mountinfo: a v1 hierarchy with the memory controller, and
// every cgroup2 mount.
std::vector<CgroupMount> memory_candidate_mounts() {
    std::vector<CgroupMount> mounts;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        // ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
        std::istringstream fields(line);
        std::string id, parent, device, root, point;
        fields >> id >> parent >> device >> root >> point;
        std::string word;
        while (fields >> word && word != "-") {
        }
        std::string fstype, source, super_options;
        fields >> fstype >> source >> super_options;
        if (fstype == "cgroup" && has_token(super_options, "memory", ',')) {
            mounts.insert(mounts.begin(), {root, point, false});  // v1 memory first: it owns the controller
        } else if (fstype == "cgroup2") {
            mounts.push_back({root, point, true});
        }
    }
    return mounts;
}

// This process's cgroup path in the v1 memory hierarchy or in the v2 one.
std::optional<std::string> own_cgroup_path(bool v2) {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        // ID:CONTROLLERS:PATH; v2 is "0::PATH".
        const std::size_t first = line.find(':');
        const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        const std::string_view controllers(line.data() + first + 1, second - first - 1);
        if (v2 ? controllers.empty() && line.compare(0, first, "0") == 0 : has_token(controllers, "memory", ',')) {
            return line.substr(second + 1);
        }
    }
    return std::nullopt;
}

// The directory of cgroup `path` under `mount`, if that mount shows it.
std::optional<std::string> directory_of(const CgroupMount& mount, const std::string& path) {
    if (mount.root == "/") return path == "/" ? mount.point : mount.point + path;
    if (path == mount.root) return mount.point;
    if (path.compare(0, mount.root.size(), mount.root) == 0 && path[mount.root.size()] == '/') {
        return mount.point + path.substr(mount.root.size());
    }
    return std::nullopt;
}

bool is_directory(const std::string& path) {
    struct stat status {};
    return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

// v2: the host's cgroup must offer memory and hand it to its children.
std::optional<std::string> v2_memory_problem(const std::string& dir, const std::string& point) {
    const std::string controllers = trim(read_small_file(dir + "/cgroup.controllers").value_or(""));
    if (!has_token(controllers, "memory", ' ')) {
        return "cgroup v2 at " + point + " offers no memory controller to " + dir + " (cgroup.controllers: " +
               (controllers.empty() ? "none" : controllers) + ")";
    }
    const std::string subtree = read_small_file(dir + "/cgroup.subtree_control").value_or("");
    if (has_token(trim(subtree), "memory", ' ')) return std::nullopt;
    if (int error = write_cgroup_file(dir + "/cgroup.subtree_control", "+memory"); error != 0) {
        // A non-root cgroup with processes in it cannot hand controllers to children.
        return "cannot enable the memory controller for child cgroups of " + dir + ": " + errno_text(error) +
               (error == EBUSY ? " (the host's cgroup has processes; run it in a delegated subtree where "
                                 "it can, e.g. a systemd unit with Delegate=yes that moves the host into "
                                 "a leaf cgroup)"
                               : "");
    }
    return std::nullopt;
}

// Where plugin cgroups would go, before trying to make one.
MemoryCgroupSupport locate_memory_cgroup() {
    MemoryCgroupSupport support;
    std::string why_not;
    for (const CgroupMount& mount : memory_candidate_mounts()) {
        const auto path = own_cgroup_path(mount.v2);
        const auto dir = path ? directory_of(mount, *path) : std::nullopt;
        std::string problem;
        if (!path) {
            problem = std::string("/proc/self/cgroup names no ") + (mount.v2 ? "cgroup v2" : "memory") + " cgroup";
        } else if (!dir || !is_directory(*dir)) {
            problem = "the host's cgroup " + *path + " is not visible beneath " + mount.point;
        } else if (mount.v2) {
            if (auto v2_problem = v2_memory_problem(*dir, mount.point)) problem = *v2_problem;
        }
        if (problem.empty()) {
            support.available = true;
            support.version = mount.v2 ? CgroupVersion::V2 : CgroupVersion::V1;
            support.parent = *dir;
            support.detail = std::string(mount.v2 ? "cgroup v2 memory controller" : "cgroup v1 memory controller") +
                             ", beneath " + *dir;
            return support;
        }
        if (!why_not.empty()) why_not += "; ";
        why_not += problem;
    }
    support.detail = why_not.empty() ? "no memory controller is mounted (no cgroup v1 memory hierarchy, no cgroup2)"
                                     : "no usable memory controller: " + why_not;
    return support;
}

// Kills every process left in the cgroup at `path` (the plugin's own children).
void kill_remaining(const std::string& path) {
    // cgroup v2 (5.14+) kills the whole cgroup in one write.
    if (write_cgroup_file(path + "/cgroup.kill", "1") == 0) return;
    const auto procs = read_small_file(path + "/cgroup.procs");
    if (!procs) return;
    std::istringstream pids(*procs);
    for (pid_t pid = 0; pids >> pid;) {
        // Pin the process first, then check it is still in this cgroup: a pid that exited and
        // was reused between the read and the signal must not be killed.
        UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        if (!pidfd) continue;
        const auto again = read_small_file(path + "/cgroup.procs").value_or("");
        std::istringstream still(again);
        bool member = false;
        for (pid_t other = 0; still >> other;) member = member || other == pid;
        if (member) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    }
}

Status remove_directory(const std::string& path) {
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return {};
        const int error = errno;
        if (error != EBUSY || attempt == kRemoveAttempts) return errno_status("rmdir " + path, error);
        kill_remaining(path);
        std::this_thread::sleep_for(kRemoveRetryDelay);
    }
}

// The host pid in `airlock-<label>-<pid>-<n>`, or 0 when the name is not of that form.
pid_t host_pid_of(std::string_view name) {
    if (name.substr(0, kNamePrefix.size()) != kNamePrefix) return 0;
    const std::size_t last = name.rfind('-');
    if (last == std::string_view::npos || last < kNamePrefix.size()) return 0;
    const std::size_t before = name.rfind('-', last - 1);
    if (before == std::string_view::npos || before < kNamePrefix.size()) return 0;
    pid_t pid = 0;
    const char* begin = name.data() + before + 1;
    const char* end = name.data() + last;
    auto [stop, error] = std::from_chars(begin, end, pid);
    if (error != std::errc() || stop != end || pid <= 0) return 0;
    return pid;
}

std::string limit_text(std::uint64_t limit, CgroupVersion version) {
    if (limit >= kUnlimitedFrom) return version == CgroupVersion::V2 ? "max" : "-1";
    return std::to_string(limit);
}

// Sets the limits of a fresh cgroup; 0 or the errno (and `what` names the file).
int set_limits(const std::string& path, CgroupVersion version, std::uint64_t limit, std::string& what) {
    const std::string value = limit_text(limit, version);
    auto set = [&](const char* file, const std::string& text, bool optional) {
        what = file;
        const int error = write_cgroup_file(path + "/" + file, text);
        return optional && error == ENOENT ? 0 : error;
    };
    if (version == CgroupVersion::V1) {
        // memsw (memory + swap) after the memory limit: the kernel wants memsw >= memory.
        if (int error = set("memory.limit_in_bytes", value, false)) return error;
        if (int error = set("memory.memsw.limit_in_bytes", value, true)) return error;
        // An OOM killer disabled in the parent is inherited: the plugin would hang at the
        // limit instead of ending. Written only when needed (the kernel warns on each use).
        const auto oom = read_small_file(path + "/memory.oom_control").value_or("");
        if (counter_in(oom, "oom_kill_disable") != 0) {
            if (int error = set("memory.oom_control", "0", false)) return error;
        }
        return 0;
    }
    if (int error = set("memory.max", value, false)) return error;
    if (int error = set("memory.swap.max", "0", true)) return error;  // swap is no way around memory.max
    // On OOM, end every process of the plugin, not just the largest one.
    return set("memory.oom.group", "1", true);
}

} // namespace

MemoryCgroup::MemoryCgroup(MemoryCgroup&& other) noexcept
    : path_(std::exchange(other.path_, {})), version_(other.version_), join_fd_(std::move(other.join_fd_)) {}

MemoryCgroup& MemoryCgroup::operator=(MemoryCgroup&& other) noexcept {
    if (this != &other) {
        (void)remove();
        path_ = std::exchange(other.path_, {});
        version_ = other.version_;
        join_fd_ = std::move(other.join_fd_);
    }
    return *this;
}

MemoryCgroup::~MemoryCgroup() { (void)remove(); }

std::uint64_t MemoryCgroup::oom_kills() const {
    if (path_.empty()) return 0;
    const bool v1 = version_ == CgroupVersion::V1;
    const auto text = read_small_file(path_ + (v1 ? "/memory.oom_control" : "/memory.events"));
    return text ? counter_in(*text, "oom_kill") : 0;
}

Status MemoryCgroup::remove() {
    join_fd_.reset();
    if (path_.empty()) return {};
    Status status = remove_directory(path_);
    if (status.ok()) path_.clear();
    return status;
}

Result<MemoryCgroup> MemoryCgroup::create(const MemoryCgroupSupport& support, std::string_view label,
                                          std::uint64_t limit_bytes) {
    int error = 0;
    return create(support, label, limit_bytes, error);
}

Result<MemoryCgroup> MemoryCgroup::create(const MemoryCgroupSupport& support, std::string_view label,
                                          std::uint64_t limit_bytes, int& error_out) {
    error_out = 0;
    if (!support.available) return Status(StatusCode::Unsupported, "no memory cgroup: " + support.detail);
    const std::string base = support.parent + "/" + std::string(kNamePrefix) +
                             std::string(label.substr(0, kMaxLabel)) + "-" + std::to_string(::getpid()) + "-";
    MemoryCgroup cgroup;
    cgroup.version_ = support.version;
    for (;;) {
        cgroup.path_ = base + std::to_string(g_counter.fetch_add(1));
        if (::mkdir(cgroup.path_.c_str(), 0755) == 0) break;
        error_out = errno;
        // EEXIST: left by an earlier host that had this pid; take the next number.
        if (error_out != EEXIST) {
            cgroup.path_.clear();
            return errno_status("cannot create a cgroup beneath " + support.parent, error_out);
        }
    }
    // From here on `cgroup` removes the directory again if anything fails.
    std::string file;
    if (int error = set_limits(cgroup.path_, support.version, limit_bytes, file); error != 0) {
        error_out = error;
        return errno_status("cannot set " + file + " of " + cgroup.path_, error);
    }
    cgroup.join_fd_.reset(::open((cgroup.path_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!cgroup.join_fd_) {
        error_out = errno;
        return errno_status("cannot open " + cgroup.path_ + "/cgroup.procs", error_out);
    }
    return Result<MemoryCgroup>(std::move(cgroup));
}

std::size_t remove_stale_memory_cgroups(const std::string& parent) {
    std::vector<std::string> stale;
    if (DIR* dir = ::opendir(parent.c_str())) {
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_type != DT_DIR) continue;
            const pid_t host = host_pid_of(entry->d_name);
            if (host == 0 || host == ::getpid()) continue;
            // EPERM: the pid runs (as another user); only ESRCH means the host is gone.
            if (::kill(host, 0) == 0 || errno != ESRCH) continue;
            stale.push_back(parent + "/" + entry->d_name);
        }
        ::closedir(dir);
    }
    std::size_t removed = 0;
    for (const auto& path : stale) {
        if (remove_directory(path).ok()) ++removed;
    }
    return removed;
}

MemoryCgroupSupport probe_memory_cgroup() {
    MemoryCgroupSupport support = locate_memory_cgroup();
    if (!support.available) return support;
    remove_stale_memory_cgroups(support.parent);
    int error = 0;
    auto trial = MemoryCgroup::create(support, "probe", kTrialLimit, error);
    if (!trial) {
        support.available = false;
        support.detail = trial.status().message();
        if ((error == EACCES || error == EPERM) && ::geteuid() != 0) {
            support.detail += support.version == CgroupVersion::V1
                                  ? " (the host is not root: cgroup v1 memory limits need root)"
                                  : " (the host is not root and this cgroup is not delegated to its user)";
        }
        return support;
    }
    if (Status removed = trial->remove(); !removed.ok()) {
        support.available = false;
        support.detail = removed.message();
    }
    return support;
}

} // namespace airlock::host
