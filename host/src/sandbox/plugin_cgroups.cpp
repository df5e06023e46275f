// Per-plugin cgroups: finding the host's cgroup of each controller, creating and limiting
// one set per process, removing it, and cleaning up after a host that died
// (plugin_cgroups.hpp).
#include "airlock/host/plugin_cgroups.hpp"
#include "airlock/host/no_follow_open.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>

namespace airlock::host {

struct PluginCgroups::Member {
    std::vector<CgroupController> controllers;
    CgroupVersion version = CgroupVersion::V1;
    std::string path;  // for messages and path()
    std::string name;  // beneath parent_fd
    std::shared_ptr<const UniqueFd> parent_fd;
    UniqueFd dir;   // the cgroup's directory
    UniqueFd join;  // its `tasks` (v1) or cgroup.procs (v2), for the child
};

namespace {

constexpr std::string_view kNamePrefix = "airlock-";
// Plugin names are at most NAME_MAX long already; keep room for "-<pid>-<n>".
constexpr std::size_t kMaxLabel = 200;
// Above this the kernel's page counter is unlimited anyway; write "max"/-1 instead.
constexpr std::uint64_t kUnlimitedFrom = std::uint64_t{1} << 62;
// remove(): how often to retry rmdir while killed leftovers exit, and how long to wait between.
constexpr int kRemoveAttempts = 50;
constexpr auto kRemoveRetryDelay = std::chrono::milliseconds(10);
// CFS bandwidth period: the kernel's default, 100 ms; the quota is a share of it.
constexpr std::uint64_t kCpuPeriodUs = 100'000;
// Never follow a symlink, never leave the directory we resolve from, never cross a mount.
constexpr std::uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

std::atomic<std::uint64_t> g_counter{0};

std::string errno_text(int error) {
    return std::string(strerrordesc_np(error)) + " (" + strerrorname_np(error) + ")";
}

bool is_cgroup_fs(int fd) {
    struct statfs fs {};
    return ::fstatfs(fd, &fs) == 0 && (fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC);
}

// openat2 with `resolve`, then a check that the result is a cgroup file system object of
// the wanted type (S_IFDIR or S_IFREG). 0 or the errno (ENOTDIR/EXDEV for a wrong type).
int open_checked(int dirfd, const std::string& path, int flags, std::uint64_t resolve, mode_t type, UniqueFd& out) {
    UniqueFd fd = openat2_no_follow(dirfd, path.c_str(), flags, 0, resolve);
    if (!fd) return errno;
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return errno;
    if ((status.st_mode & S_IFMT) != type) return type == S_IFDIR ? ENOTDIR : EISDIR;
    if (!is_cgroup_fs(fd.get())) return EXDEV;
    out = std::move(fd);
    return 0;
}

int open_beneath(int dirfd, const std::string& path, int flags, mode_t type, UniqueFd& out) {
    return open_checked(dirfd, path, flags, kBeneath, type, out);
}

// An absolute directory (a mount point, or a parent named by a caller) without following
// symlinks on the way.
int open_directory_path(const std::string& path, UniqueFd& out) {
    return open_checked(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                        S_IFDIR, out);
}

std::optional<std::string> read_file_at(int dirfd, const char* name) {
    UniqueFd fd;
    if (open_beneath(dirfd, name, O_RDONLY, S_IFREG, fd) != 0) return std::nullopt;
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return std::nullopt;
        if (got == 0) return text;
        text.append(buffer, static_cast<std::size_t>(got));
    }
}

// Writes `value` to a cgroup interface file beneath `dirfd`; 0 or the errno.
int write_file_at(int dirfd, const char* name, std::string_view value) {
    UniqueFd fd;
    if (int error = open_beneath(dirfd, name, O_WRONLY, S_IFREG, fd); error != 0) return error;
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

// The value of a "key N" line in memory.oom_control / memory.events / pids.events.
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

// Every cgroup mount in /proc/self/mountinfo, v1 hierarchies first.
std::vector<CgroupMount> cgroup_mounts() {
    std::vector<CgroupMount> v1, v2;
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
        if (fstype == "cgroup") v1.push_back({root, point, super_options, false});
        if (fstype == "cgroup2") v2.push_back({root, point, {}, true});
    }
    v1.insert(v1.end(), v2.begin(), v2.end());
    return v1;
}

// /proc/self/cgroup (one line per hierarchy).
std::string own_cgroup_table() {
    std::ifstream in("/proc/self/cgroup");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// This process's cgroup path in the v1 hierarchy of `controller`, or in the v2 one, as
// `table` (own_cgroup_table()) says.
std::optional<std::string> own_cgroup_path(const char* controller, bool v2, const std::string& table) {
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);) {
        // ID:CONTROLLERS:PATH; v2 is "0::PATH".
        const std::size_t first = line.find(':');
        const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        const std::string_view controllers(line.data() + first + 1, second - first - 1);
        if (v2 ? controllers.empty() && line.compare(0, first, "0") == 0 : has_token(controllers, controller, ',')) {
            return line.substr(second + 1);
        }
    }
    return std::nullopt;
}

// Cgroup `path` relative to `mount`'s mount point ("." for the mount point itself).
std::optional<std::string> relative_to(const CgroupMount& mount, const std::string& path) {
    std::string rest;
    if (mount.root == "/") {
        rest = path;
    } else if (path == mount.root) {
        rest = "/";
    } else if (path.compare(0, mount.root.size(), mount.root) == 0 && path[mount.root.size()] == '/') {
        rest = path.substr(mount.root.size());
    } else {
        return std::nullopt;
    }
    rest.erase(0, rest.find_first_not_of('/'));
    return rest.empty() ? "." : rest;
}

std::string join_path(const std::string& point, const std::string& relative) {
    return relative == "." ? point : point + "/" + relative;
}

// The host's own cgroup of `mount`, opened beneath the mount; `problem` says why not.
std::optional<std::pair<std::string, UniqueFd>> open_own_cgroup(const CgroupMount& mount, const char* controller,
                                                                const std::string& table, std::string& problem) {
    const auto path = own_cgroup_path(controller, mount.v2, table);
    if (!path) {
        problem = std::string("/proc/self/cgroup names no ") + (mount.v2 ? "cgroup v2" : controller) + " cgroup";
        return std::nullopt;
    }
    const auto relative = relative_to(mount, *path);
    UniqueFd mount_fd, dir;
    int error = 0;
    if (!relative) {
        error = ENOENT;
    } else if ((error = open_directory_path(mount.point, mount_fd)) == 0) {
        error = open_beneath(mount_fd.get(), *relative, O_RDONLY | O_DIRECTORY, S_IFDIR, dir);
    }
    if (error != 0) {
        problem = "the host's cgroup " + *path + " cannot be opened beneath " + mount.point + ": " + errno_text(error);
        return std::nullopt;
    }
    // Another user who owns the host's cgroup or one above it (a `sudo` from a cgroup systemd
    // delegated to that user) can move the plugins' processes out of their cgroups (cgroup v2:
    // write access to the common ancestor; v1: to a plugin of their uid), set the limits above
    // them, remove the spare cgroups, freeze or kill them: such a cgroup is not the host's to use.
    std::string full = join_path(mount.point, *relative);
    if (Status trusted = check_only_host_can_change(full); !trusted.ok()) {
        problem = "the host's cgroup is not the host's alone (" + trusted.message() +
                  "): its owner could move plugins out of their limits or kill them";
        return std::nullopt;
    }
    return std::make_pair(std::move(full), std::move(dir));
}

// v2: the host's cgroup must offer the controller and hand it to its children. Without
// `may_enable` nothing is written: whether the host could enable it is asked with access(2).
std::optional<std::string> v2_controller_problem(int dir, const std::string& path, const CgroupMount& mount,
                                                 const char* controller, bool may_enable) {
    const std::string controllers = trim(read_file_at(dir, "cgroup.controllers").value_or(""));
    if (!has_token(controllers, controller, ' ')) {
        return "cgroup v2 at " + mount.point + " offers no " + controller + " controller to " + path +
               " (cgroup.controllers: " + (controllers.empty() ? "none" : controllers) + ")";
    }
    const std::string subtree = trim(read_file_at(dir, "cgroup.subtree_control").value_or(""));
    if (has_token(subtree, controller, ' ')) return std::nullopt;
    const auto enable = [&]() {
        if (may_enable) return write_file_at(dir, "cgroup.subtree_control", std::string("+") + controller);
        return ::faccessat(dir, "cgroup.subtree_control", W_OK, AT_EACCESS) == 0 ? 0 : errno;
    };
    if (int error = enable(); error != 0) {
        // A non-root cgroup with processes in it cannot hand controllers to children.
        return std::string("cannot enable the ") + controller + " controller for child cgroups of " + path + ": " +
               errno_text(error) +
               (error == EBUSY ? " (the host's cgroup has processes; run it in a delegated subtree where "
                                 "it can, e.g. a systemd unit with Delegate=yes that moves the host into "
                                 "a leaf cgroup)"
                               : "");
    }
    return std::nullopt;
}

// Where plugin cgroups of `controller` would go, before trying to make one.
CgroupSupport locate(CgroupController controller, bool may_enable, const CgroupTables& tables) {
    const char* name = controller_name(controller);
    CgroupSupport support;
    support.controller = controller;
    std::string why_not;
    const std::string& table = tables.own_cgroups;
    for (const CgroupMount& mount : tables.mounts) {
        if (!mount.v2 && !has_token(mount.options, name, ',')) continue;
        std::string problem;
        auto own = open_own_cgroup(mount, name, table, problem);
        if (own && mount.v2) {
            if (auto v2_problem = v2_controller_problem(own->second.get(), own->first, mount, name, may_enable)) {
                problem = *v2_problem;
                own.reset();
            }
        }
        if (own) {
            support.available = true;
            support.version = mount.v2 ? CgroupVersion::V2 : CgroupVersion::V1;
            support.parent = own->first;
            support.parent_fd = std::make_shared<const UniqueFd>(std::move(own->second));
            support.detail = std::string(mount.v2 ? "cgroup v2 " : "cgroup v1 ") + name + " controller, beneath " +
                             support.parent;
            return support;
        }
        if (!why_not.empty()) why_not += "; ";
        why_not += problem;
    }
    support.detail = why_not.empty() ? std::string("no ") + name + " controller is mounted (no cgroup v1 " + name +
                                           " hierarchy, no cgroup2)"
                                     : std::string("no usable ") + name + " controller: " + why_not;
    return support;
}

bool is_member(int dir, pid_t pid) {
    std::istringstream pids(read_file_at(dir, "cgroup.procs").value_or(""));
    for (pid_t other = 0; pids >> other;) {
        if (other == pid) return true;
    }
    return false;
}

// Kills every process left in the cgroup `dir` (the plugin's own children).
void kill_remaining(int dir) {
    // cgroup v2 (5.14+) kills the whole cgroup in one write, forks in flight included.
    if (write_file_at(dir, "cgroup.kill", "1") == 0) return;
    std::istringstream pids(read_file_at(dir, "cgroup.procs").value_or(""));
    for (pid_t pid = 0; pids >> pid;) {
        // Pin the process first, then check it is still in this cgroup: a pid that exited and
        // was reused between the read and the signal must not be killed.
        UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        if (!pidfd) continue;
        if (is_member(dir, pid)) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    }
}

// rmdir of `name` beneath `parent`; on EBUSY kills what is left in `dir` and tries again
// (a process forking while it is killed needs more than one round).
Status remove_directory(int parent, const std::string& name, int dir, const std::string& path) {
    for (int attempt = 0;; ++attempt) {
        if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return {};
        const int error = errno;
        if (error != EBUSY || attempt == kRemoveAttempts) return errno_status("rmdir " + path, error);
        kill_remaining(dir);
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

// A plugin name as one path component: anything unusual becomes '_'.
std::string safe_label(std::string_view label) {
    std::string out(label.substr(0, kMaxLabel));
    for (char& c : out) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                           c == '-' || c == '.';
        if (!plain) c = '_';
    }
    return out.empty() ? "_" : out;
}

std::size_t remove_stale_beneath(int parent_fd, const std::string& parent) {
    std::vector<std::string> stale;
    UniqueFd listing;
    if (open_beneath(parent_fd, ".", O_RDONLY | O_DIRECTORY, S_IFDIR, listing) != 0) return 0;
    if (DIR* dir = ::fdopendir(listing.get())) {
        (void)listing.release();  // the DIR owns it now
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_type != DT_DIR) continue;
            const pid_t host = host_pid_of(entry->d_name);
            if (host == 0 || host == ::getpid()) continue;
            // EPERM: the pid runs (as another user); only ESRCH means the host is gone.
            if (::kill(host, 0) == 0 || errno != ESRCH) continue;
            stale.emplace_back(entry->d_name);
        }
        ::closedir(dir);
    }
    std::size_t removed = 0;
    for (const auto& name : stale) {
        UniqueFd cgroup;
        if (open_beneath(parent_fd, name, O_RDONLY | O_DIRECTORY, S_IFDIR, cgroup) != 0) continue;
        if (remove_directory(parent_fd, name, cgroup.get(), parent + "/" + name).ok()) ++removed;
    }
    return removed;
}

std::string limit_text(std::uint64_t limit, CgroupVersion version) {
    if (limit >= kUnlimitedFrom) return version == CgroupVersion::V2 ? "max" : "-1";
    return std::to_string(limit);
}

// Sets one controller's limits in a fresh cgroup; 0 or the errno (and `what` names the file).
int set_limits(int dir, CgroupController controller, CgroupVersion version, const CgroupLimits& limits,
               std::string& what) {
    auto set = [&](const char* file, const std::string& text, bool optional) {
        what = file;
        const int error = write_file_at(dir, file, text);
        return optional && error == ENOENT ? 0 : error;
    };
    const bool v1 = version == CgroupVersion::V1;
    switch (controller) {
    case CgroupController::Memory: {
        const std::string value = limit_text(*limits.memory_bytes, version);
        if (v1) {
            // memsw (memory + swap) after the memory limit: the kernel wants memsw >= memory.
            if (int error = set("memory.limit_in_bytes", value, false)) return error;
            if (int error = set("memory.memsw.limit_in_bytes", value, true)) return error;
            // An OOM killer disabled in the parent is inherited: the plugin would hang at the
            // limit instead of ending. Written only when needed (the kernel warns on each use).
            if (counter_in(read_file_at(dir, "memory.oom_control").value_or(""), "oom_kill_disable") != 0) {
                if (int error = set("memory.oom_control", "0", false)) return error;
            }
            return 0;
        }
        if (int error = set("memory.max", value, false)) return error;
        if (int error = set("memory.swap.max", "0", true)) return error;  // swap is no way around memory.max
        // On OOM, end every process of the plugin, not just the largest one.
        return set("memory.oom.group", "1", true);
    }
    case CgroupController::Pids:
        return set("pids.max", *limits.tasks >= kUnlimitedFrom ? "max" : std::to_string(*limits.tasks), false);
    case CgroupController::Cpu: {
        const std::uint64_t quota = std::uint64_t{*limits.cpu_quota_percent} * kCpuPeriodUs / 100;
        if (!v1) return set("cpu.max", std::to_string(quota) + " " + std::to_string(kCpuPeriodUs), false);
        if (int error = set("cpu.cfs_period_us", std::to_string(kCpuPeriodUs), false)) return error;
        return set("cpu.cfs_quota_us", std::to_string(quota), false);
    }
    }
    return EINVAL;
}

} // namespace

const char* controller_name(CgroupController controller) noexcept {
    switch (controller) {
    case CgroupController::Memory: return "memory";
    case CgroupController::Pids: return "pids";
    case CgroupController::Cpu: return "cpu";
    }
    return "?";
}

PluginCgroups::PluginCgroups() = default;

PluginCgroups::PluginCgroups(PluginCgroups&& other) noexcept
    : members_(std::exchange(other.members_, {})), join_fds_(std::exchange(other.join_fds_, {})),
      owner_(std::exchange(other.owner_, 0)) {}

PluginCgroups& PluginCgroups::operator=(PluginCgroups&& other) noexcept {
    if (this != &other) {
        remove_if_made_here();
        members_ = std::exchange(other.members_, {});
        join_fds_ = std::exchange(other.join_fds_, {});
        owner_ = std::exchange(other.owner_, 0);
    }
    return *this;
}

PluginCgroups::~PluginCgroups() { remove_if_made_here(); }

// A copy a forked process inherited belongs to its parent, which may still use it (its plugin
// may run in it): the copy lets go of its descriptors and leaves the directories alone.
void PluginCgroups::remove_if_made_here() noexcept {
    if (made_by_this_process()) {
        (void)remove();
        return;
    }
    members_.clear();
    join_fds_.clear();
}

std::string PluginCgroups::path(CgroupController controller) const {
    for (const Member& member : members_) {
        if (std::find(member.controllers.begin(), member.controllers.end(), controller) != member.controllers.end()) {
            return member.path;
        }
    }
    return {};
}

void PluginCgroups::close_join_fds() noexcept {
    for (Member& member : members_) member.join.reset();
    join_fds_.clear();
}

std::uint64_t PluginCgroups::oom_kills() const {
    for (const Member& member : members_) {
        if (std::find(member.controllers.begin(), member.controllers.end(), CgroupController::Memory) ==
            member.controllers.end()) {
            continue;
        }
        const bool v1 = member.version == CgroupVersion::V1;
        const auto text = read_file_at(member.dir.get(), v1 ? "memory.oom_control" : "memory.events");
        return text ? counter_in(*text, "oom_kill") : 0;
    }
    return 0;
}

std::uint64_t PluginCgroups::tasks_refused() const {
    for (const Member& member : members_) {
        if (std::find(member.controllers.begin(), member.controllers.end(), CgroupController::Pids) !=
            member.controllers.end()) {
            return counter_in(read_file_at(member.dir.get(), "pids.events").value_or(""), "max");
        }
    }
    return 0;
}

Status PluginCgroups::remove() {
    close_join_fds();
    Status first;
    while (!members_.empty()) {
        Member& member = members_.back();
        Status status = remove_directory(member.parent_fd->get(), member.name, member.dir.get(), member.path);
        if (!status.ok()) {
            // Left for a later host's stale cleanup; the others are still removed.
            if (first.ok()) first = status;
        }
        members_.pop_back();
    }
    return first;
}

Result<PluginCgroups> PluginCgroups::create(const std::vector<CgroupSupport>& supports, std::string_view label,
                                            const CgroupLimits& limits) {
    int error = 0;
    return create(supports, label, limits, error);
}

Result<PluginCgroups> PluginCgroups::create(const std::vector<CgroupSupport>& supports, std::string_view label,
                                            const CgroupLimits& limits, int& error_out) {
    error_out = 0;
    PluginCgroups cgroups;
    cgroups.owner_ = ::getpid();
    std::vector<Member> members;
    // One directory per hierarchy: co-mounted controllers share their parent.
    for (const CgroupSupport& support : supports) {
        if (!support.available || !support.parent_fd) {
            return Status(StatusCode::Unsupported,
                          std::string("no ") + controller_name(support.controller) + " cgroup: " + support.detail);
        }
        auto same = std::find_if(members.begin(), members.end(),
                                 [&](const Member& m) { return m.parent_fd->get() == support.parent_fd->get(); });
        if (same == members.end()) {
            members.emplace_back();
            same = members.end() - 1;
            same->version = support.version;
            same->parent_fd = support.parent_fd;
            same->path = support.parent;
        }
        same->controllers.push_back(support.controller);
    }
    const std::string base = std::string(kNamePrefix) + safe_label(label) + "-" + std::to_string(::getpid()) + "-";
    for (Member& member : members) {
        const std::string parent = member.path;
        const int parent_fd = member.parent_fd->get();
        for (;;) {
            member.name = base + std::to_string(g_counter.fetch_add(1));
            if (::mkdirat(parent_fd, member.name.c_str(), 0755) == 0) break;
            error_out = errno;
            // EEXIST: left by an earlier host that had this pid; take the next number.
            if (error_out != EEXIST) return errno_status("cannot create a cgroup beneath " + parent, error_out);
        }
        member.path = parent + "/" + member.name;
        // Owned from here on: `cgroups` removes the directory again if anything fails.
        const std::string path = member.path;
        cgroups.members_.push_back(std::move(member));
        Member& made = cgroups.members_.back();
        if (int error = open_beneath(parent_fd, made.name, O_RDONLY | O_DIRECTORY, S_IFDIR, made.dir); error != 0) {
            error_out = error;
            return errno_status("cannot open " + path, error);
        }
        for (CgroupController controller : made.controllers) {
            std::string file;
            if (int error = set_limits(made.dir.get(), controller, made.version, limits, file); error != 0) {
                error_out = error;
                return errno_status("cannot set " + file + " of " + path, error);
            }
        }
        // v1: the child writes "0" to `tasks`, which moves only the writing thread and so skips
        // the kernel's global threadgroup lock, whose RCU grace period made a `cgroup.procs`
        // write cost ~9-40 ms here. The child is single-threaded (a fresh clone before exec),
        // so that thread is the whole process, and every thread it starts inherits the cgroup.
        const char* join_file = made.version == CgroupVersion::V1 ? "tasks" : "cgroup.procs";
        if (int error = open_beneath(made.dir.get(), join_file, O_WRONLY, S_IFREG, made.join); error != 0) {
            error_out = error;
            return errno_status("cannot open " + path + "/" + join_file, error);
        }
        cgroups.join_fds_.push_back(made.join.get());
    }
    return Result<PluginCgroups>(std::move(cgroups));
}

namespace {

// The hint a refusal gets when the host is not root.
std::string not_root_hint(CgroupVersion version) {
    return version == CgroupVersion::V1 ? " (the host is not root: cgroup v1 limits need root)"
                                        : " (the host is not root and this cgroup is not delegated to its user)";
}

} // namespace

CgroupTables read_cgroup_tables() { return {cgroup_mounts(), own_cgroup_table()}; }

CgroupSupport probe_cgroup_controller(CgroupController controller, CgroupProbe how) {
    return probe_cgroup_controller(controller, how, read_cgroup_tables());
}

CgroupSupport probe_cgroup_controller(CgroupController controller, CgroupProbe how, const CgroupTables& tables) {
    CgroupSupport support = locate(controller, how != CgroupProbe::Look, tables);
    if (!support.available || how == CgroupProbe::Locate) return support;
    if (how == CgroupProbe::Look) {
        // What mkdir beneath the parent would be refused for, without making anything.
        if (::faccessat(support.parent_fd->get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
            const int error = errno;
            support.available = false;
            support.parent_fd.reset();
            support.detail = errno_status("cannot create a cgroup beneath " + support.parent, error).message();
            if ((error == EACCES || error == EPERM) && ::geteuid() != 0) support.detail += not_root_hint(support.version);
        }
        return support;
    }
    CgroupLimits trial_limits;
    trial_limits.memory_bytes = 64ull << 20;  // any values the kernel accepts
    trial_limits.tasks = 64;
    trial_limits.cpu_quota_percent = 100;
    int error = 0;
    auto trial = PluginCgroups::create({support}, "probe", trial_limits, error);
    if (!trial) {
        support.available = false;
        support.parent_fd.reset();
        support.detail = trial.status().message();
        if ((error == EACCES || error == EPERM) && ::geteuid() != 0) support.detail += not_root_hint(support.version);
        return support;
    }
    if (Status removed = trial->remove(); !removed.ok()) {
        support.available = false;
        support.parent_fd.reset();
        support.detail = removed.message();
    }
    return support;
}

std::size_t remove_stale_cgroups() { return remove_stale_cgroups(read_cgroup_tables()); }

std::size_t remove_stale_cgroups(const CgroupTables& tables) {
    std::size_t removed = 0;
    std::vector<std::string> seen;
    const std::string& table = tables.own_cgroups;
    for (const CgroupMount& mount : tables.mounts) {
        const char* controller = nullptr;
        for (CgroupController c : {CgroupController::Memory, CgroupController::Pids, CgroupController::Cpu}) {
            if (!mount.v2 && has_token(mount.options, controller_name(c), ',')) controller = controller_name(c);
        }
        if (!mount.v2 && controller == nullptr) continue;  // a hierarchy airlock never uses
        std::string problem;
        auto own = open_own_cgroup(mount, controller == nullptr ? "" : controller, table, problem);
        if (!own || std::find(seen.begin(), seen.end(), own->first) != seen.end()) continue;
        seen.push_back(own->first);
        removed += remove_stale_beneath(own->second.get(), own->first);
    }
    return removed;
}

std::size_t remove_stale_cgroups_in(const std::string& parent) {
    UniqueFd dir;
    if (open_directory_path(parent, dir) != 0) return 0;
    return remove_stale_beneath(dir.get(), parent);
}

} // namespace airlock::host
