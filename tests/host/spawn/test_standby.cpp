// The standby child (docs/spawning.md, "Standby child"): after a reap the Spawner prepares its
// next start ahead, confined up to the execveat; the next launch re-checks and releases it,
// or discards it when something it was prepared with changed. Real processes throughout.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

namespace {

// The pids whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> found;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return found;
    while (dirent* entry = ::readdir(proc)) {
        const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
        if (pid <= 0) continue;
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("PPid:", 0) == 0 && std::stoi(line.substr(5)) == parent) found.push_back(pid);
        }
    }
    ::closedir(proc);
    return found;
}

// The value of `field` in /proc/<pid>/status ("Seccomp" -> "2"), tabs removed.
std::string status_field(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(field + ":", 0) != 0) continue;
        std::string value = line.substr(field.size() + 1);
        std::string out;
        for (char c : value) out += c == '\t' ? ' ' : c;
        return out.substr(out.find_first_not_of(' '));
    }
    return "<missing>";
}

std::string link_of(const std::string& path) {
    char target[4096];
    const ssize_t size = ::readlink(path.c_str(), target, sizeof target);
    return size < 0 ? "<" + std::string(std::strerror(errno)) + ">" : std::string(target, static_cast<std::size_t>(size));
}

// The standby a Spawner of this process keeps after a reap: its launch child (a child of
// this process, pid 1 of the plugin's PID namespace) and the plugin below it, parked before
// its execveat (so still running this test program's image).
struct Parked {
    pid_t launch_child = -1;
    pid_t plugin = -1;
};

std::optional<Parked> parked_standby() {
    const std::vector<pid_t> children = children_of(::getpid());
    if (children.size() != 1) return std::nullopt;
    const std::vector<pid_t> below = children_of(children[0]);
    if (below.size() != 1) return std::nullopt;
    return Parked{children[0], below[0]};
}

// Everything the plugin writes to `fd` (non-blocking) until end of stream.
std::string read_to_end(int fd) {
    std::string text;
    for (;;) {
        pollfd entry{fd, POLLIN, 0};
        if (::poll(&entry, 1, 10000) <= 0) return text + "<timeout>";
        char buffer[4096];
        const ssize_t size = ::read(fd, buffer, sizeof buffer);
        if (size == 0) return text;
        if (size > 0) text.append(buffer, static_cast<std::size_t>(size));
        else if (errno != EAGAIN && errno != EINTR) return text + "<read error>";
    }
}

// What a plugin launched with default options printed, and how it ended.
struct Launched {
    pid_t pid = -1;
    std::string out;
    PluginExit exit;
};

Launched launch_and_wait(const Spawner& spawner) {
    SpawnedPlugin spawned = spawner.launch();
    Launched launched;
    launched.pid = spawned.process.pid();
    launched.out = read_to_end(spawned.stdout_pipe.get());
    launched.exit = spawned.process.wait();
    return launched;
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

std::multiset<std::string> open_fds() {
    std::multiset<std::string> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    while (dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == ::dirfd(dir)) continue;
        fds.insert(link_of(std::string("/proc/self/fd/") + entry->d_name));
    }
    ::closedir(dir);
    return fds;
}

// A probe speaking protocol "airlock" (the standby's case) that reports what it sees and
// opens what its private root and Landlock refuse (nothing its filter would report: no one
// answers the listener here).
ProbeConfig reporting_probe(const std::string& exec = kProbe) {
    ProbeConfig probe;
    probe.protocol = "airlock";
    probe.exec = exec;
    probe.args = {"report", "open", "/etc/shadow", "open", "/proc/1/status", "open", "/usr/bin/env"};
    probe.limits = "memory = \"256MiB\"\nprocesses = 1\nopen_files = 64";
    return probe;
}

bool standby_expected(const Spawner& spawner) {
    if (::geteuid() != 0) return false;  // unprivileged: a user namespace per launch, no standby
    for (const auto& layer : spawner.layers())
        if (layer.layer == IsolationLayer::Seccomp && !layer.applied) return false;
    return true;
}

} // namespace

TEST_CASE("standby: the next launch releases the child prepared after the reap, confined as a cold start",
          "[standby]") {
    Spawner spawner(probe_config(reporting_probe()));
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE_FALSE(parked_standby().has_value());
    // Open in the host when the standby is cloned: its pid 1 waits for as long as the child
    // is parked and must not hold a copy (a socket's end of stream would never come).
    int canary[2];
    REQUIRE(::pipe2(canary, O_CLOEXEC) == 0);
    const Launched cold = launch_and_wait(spawner);
    REQUIRE(cold.exit.shell_status() == 0);

    // Prepared at the reap: confined (filter, no_new_privs, the plugin's user) and waiting
    // before its exec, so still this program's image.
    const std::optional<Parked> parked = parked_standby();
    REQUIRE(parked.has_value());
    CHECK(link_of("/proc/" + std::to_string(parked->plugin) + "/exe") == link_of("/proc/self/exe"));
    CHECK(status_field(parked->plugin, "Seccomp") == "2");
    CHECK(status_field(parked->plugin, "NoNewPrivs") == "1");
    CHECK(status_field(parked->plugin, "Uid").rfind(std::to_string(*spawner.plugin().user_id) + " ", 0) == 0);
    CHECK(status_field(parked->plugin, "CapEff") == "0000000000000000");
    const std::string canary_pipe = link_of("/proc/self/fd/" + std::to_string(canary[0]));
    for (pid_t pid : {parked->launch_child, parked->plugin}) {
        const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
        DIR* fds = ::opendir(fd_dir.c_str());
        REQUIRE(fds != nullptr);
        int count = 0;
        while (dirent* entry = ::readdir(fds)) {
            if (entry->d_name[0] == '.') continue;
            ++count;
            CHECK(link_of(fd_dir + "/" + entry->d_name) != canary_pipe);
        }
        ::closedir(fds);
        CHECK(count <= 16);  // the plan's descriptors only
    }
    ::close(canary[0]);
    ::close(canary[1]);

    const Launched warm = launch_and_wait(spawner);
    CHECK(warm.pid == parked->plugin);
    REQUIRE(warm.exit.shell_status() == 0);
    // The same confinement seen from inside: identity, descriptors, environment, limits,
    // session, signal mask, the private root, the filter (one process, launched once).
    CHECK(warm.out == cold.out);
    INFO(warm.out);
    CHECK(warm.out.find("open /etc/shadow ENOENT") != std::string::npos);
    CHECK(warm.out.find("open /usr/bin/env ok") != std::string::npos);
    CHECK(parked_standby().has_value());  // the next one, made after this reap
}

TEST_CASE("standby: a replaced executable discards it, and the launch checks and runs the new one or refuses",
          "[standby]") {
    TempDir dir;
    const std::string exe = dir.path() + "/probe";
    const auto copy_probe = [&](const std::string& to) {
        REQUIRE(std::system(("cp '" + kProbe + "' '" + to + "'").c_str()) == 0);
        REQUIRE(::chmod(to.c_str(), 0755) == 0);
    };
    copy_probe(exe);
    Spawner spawner(probe_config(reporting_probe(exe)));
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE(launch_and_wait(spawner).exit.shell_status() == 0);
    std::optional<Parked> parked = parked_standby();
    REQUIRE(parked.has_value());

    // Another file at the path: the standby would execute the old one.
    copy_probe(exe + ".new");
    REQUIRE(::rename((exe + ".new").c_str(), exe.c_str()) == 0);
    const Launched after_replace = launch_and_wait(spawner);
    CHECK(after_replace.pid != parked->plugin);
    CHECK(gone_within(parked->launch_child, std::chrono::seconds(5)));
    CHECK(gone_within(parked->plugin, std::chrono::seconds(5)));
    CHECK(after_replace.exit.shell_status() == 0);
    CHECK(after_replace.out.find("nnp 1") != std::string::npos);

    // A start the checks refuse: another user could now change the program.
    parked = parked_standby();
    REQUIRE(parked.has_value());
    REQUIRE(::chmod(exe.c_str(), 0777) == 0);
    CHECK_THROWS_WITH(spawner.launch(), Catch::Contains("cannot start: executable"));
    CHECK(gone_within(parked->launch_child, std::chrono::seconds(5)));
    CHECK(gone_within(parked->plugin, std::chrono::seconds(5)));
    CHECK(children_of(::getpid()).empty());
}

TEST_CASE("standby: a replaced system path discards it", "[standby]") {
    TempDir dir;
    const std::string system_dir = dir.dir("sys");
    dir.file("sys/data", "1");
    ProbeConfig probe = reporting_probe();
    probe.system_paths.push_back(system_dir);
    Spawner spawner(probe_config(probe));
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE(launch_and_wait(spawner).exit.shell_status() == 0);
    const std::optional<Parked> parked = parked_standby();
    REQUIRE(parked.has_value());

    // Another directory at the path: the standby's root and Landlock rules name the old one.
    REQUIRE(::rename(system_dir.c_str(), (system_dir + ".old").c_str()) == 0);
    dir.dir("sys");
    const Launched launched = launch_and_wait(spawner);
    CHECK(launched.pid != parked->plugin);
    CHECK(gone_within(parked->plugin, std::chrono::seconds(5)));
    CHECK(launched.exit.shell_status() == 0);
}

TEST_CASE("standby: discarded and replaced children leave no descriptor or process behind", "[standby]") {
    TempDir dir;
    const std::string exe = dir.path() + "/probe";
    REQUIRE(std::system(("cp '" + kProbe + "' '" + exe + "'").c_str()) == 0);
    const PluginConfig config = probe_config(reporting_probe(exe));
    {
        Spawner first(config);  // what a launch opens once per process is open before the baseline
        if (!standby_expected(first)) {
            WARN("not root or no seccomp: no standby child to test");
            return;
        }
        (void)launch_and_wait(first);
    }
    const std::multiset<std::string> before = open_fds();
    REQUIRE(children_of(::getpid()).empty());
    std::optional<Spawner> spawner(std::in_place, config);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(launch_and_wait(*spawner).exit.shell_status() == 0);  // released (or cold the first time)
        const std::optional<Parked> parked = parked_standby();
        REQUIRE(parked.has_value());
        // A new change time: the executable is no longer the one prepared, the standby goes.
        REQUIRE(::utimensat(AT_FDCWD, exe.c_str(), nullptr, 0) == 0);
        const Launched launched = launch_and_wait(*spawner);
        CHECK(launched.pid != parked->plugin);
        CHECK(gone_within(parked->plugin, std::chrono::seconds(5)));
    }
    REQUIRE(parked_standby().has_value());
    spawner.reset();  // discards the last standby: killed, reaped, its cgroups removed
    CHECK(children_of(::getpid()).empty());
    CHECK(open_fds() == before);
}

TEST_CASE("standby: a host killed with SIGKILL leaves no standby child", "[standby]") {
    {
        Spawner probe_spawner(probe_config(reporting_probe()));
        if (!standby_expected(probe_spawner)) {
            WARN("not root or no seccomp: no standby child to test");
            return;
        }
    }
    int report[2];
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
    const pid_t host = ::fork();
    REQUIRE(host >= 0);
    if (host == 0) {
        // The host: one launch and its reap leave a standby; then it waits to be killed.
        Spawner spawner(probe_config(reporting_probe()));
        (void)launch_and_wait(spawner);
        const std::optional<Parked> parked = parked_standby();
        const pid_t pids[2] = {parked ? parked->launch_child : -1, parked ? parked->plugin : -1};
        (void)!::write(report[1], pids, sizeof pids);
        for (;;) ::pause();
    }
    ::close(report[1]);
    pid_t pids[2] = {-1, -1};
    const ssize_t got = ::read(report[0], pids, sizeof pids);
    ::close(report[0]);
    REQUIRE(got == static_cast<ssize_t>(sizeof pids));
    REQUIRE(pids[0] > 0);
    REQUIRE(pids[1] > 0);
    const int launch_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pids[0], 0));
    const int plugin_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pids[1], 0));
    REQUIRE(launch_pidfd >= 0);
    REQUIRE(plugin_pidfd >= 0);
    CHECK(status_field(pids[1], "Seccomp") == "2");

    REQUIRE(::kill(host, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(host, &status, 0) == host);
    // A pidfd is readable once its process has exited.
    pollfd exited[2] = {{launch_pidfd, POLLIN, 0}, {plugin_pidfd, POLLIN, 0}};
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until && !((exited[0].revents & POLLIN) && (exited[1].revents & POLLIN))) {
        ::poll(exited, 2, 100);
    }
    CHECK((exited[0].revents & POLLIN) != 0);
    CHECK((exited[1].revents & POLLIN) != 0);
    ::close(launch_pidfd);
    ::close(plugin_pidfd);
}

TEST_CASE("standby: its preparation opens no grant, the launch does", "[standby]") {
    TempDir dir;
    const std::string socket_path = dir.path() + "/api.sock";
    const int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(server >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(server, 8) == 0);
    const auto connections = [&] {
        int count = 0;
        for (int accepted; (accepted = ::accept4(server, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++count) ::close(accepted);
        return count;
    };
    ProbeConfig probe = reporting_probe();
    probe.grants = "api = { connect = " + quoted(socket_path) + " }\n";
    Spawner spawner(probe_config(probe));
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        ::close(server);
        return;
    }
    SpawnedPlugin first = spawner.launch();
    CHECK(first.grants_to_send.size() == 1);
    first.grants_to_send.clear();
    CHECK(connections() == 1);
    (void)read_to_end(first.stdout_pipe.get());
    REQUIRE(first.process.wait().shell_status() == 0);
    const std::optional<Parked> parked = parked_standby();
    REQUIRE(parked.has_value());
    CHECK(connections() == 0);  // the standby's preparation connected nothing

    SpawnedPlugin second = spawner.launch();
    CHECK(second.process.pid() == parked->plugin);
    REQUIRE(second.grants_to_send.size() == 1);
    CHECK(second.grants_to_send[0].name == "api");
    CHECK(connections() == 1);  // the launch's own check opened it
    (void)read_to_end(second.stdout_pipe.get());
    CHECK(second.process.wait().shell_status() == 0);
    ::close(server);
}

TEST_CASE("standby: a forked copy of the host leaves its parent's standby alone", "[standby]") {
    std::optional<Spawner> spawner(std::in_place, probe_config(reporting_probe()));
    if (!standby_expected(*spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE(launch_and_wait(*spawner).exit.shell_status() == 0);
    const std::optional<Parked> parked = parked_standby();
    REQUIRE(parked.has_value());
    const pid_t copy = ::fork();
    REQUIRE(copy >= 0);
    if (copy == 0) {
        spawner.reset();  // the copy's Spawner goes: the standby is its parent's, not its own
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(copy, &status, 0) == copy);
    CHECK(WIFEXITED(status));
    CHECK(::kill(parked->plugin, 0) == 0);
    const Launched launched = launch_and_wait(*spawner);
    CHECK(launched.pid == parked->plugin);
    CHECK(launched.exit.shell_status() == 0);
}

namespace {

// What a process of `uid` (forked from this test, then switched to that user) gets when it
// reaches for `target`: process_vm_readv of this process's `secret` (the parked child runs in
// the host's memory, so the same address) and an open of /proc/<target>/mem. Each entry is 0
// or an errno.
struct Reach {
    int read_memory = -1;
    int open_mem = -1;
};

Reach reach_as(uid_t uid, pid_t target) {
    static volatile char secret[16] = "host-memory";
    int report[2];
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
    const pid_t probe = ::fork();
    REQUIRE(probe >= 0);
    if (probe == 0) {
        Reach reach;
        if (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(3);
        char copy[16] = {};
        iovec local{copy, sizeof copy};
        iovec remote{const_cast<char*>(secret), sizeof copy};
        reach.read_memory = ::process_vm_readv(target, &local, 1, &remote, 1, 0) < 0 ? errno : 0;
        const std::string mem = "/proc/" + std::to_string(target) + "/mem";
        const int fd = ::open(mem.c_str(), O_RDONLY | O_CLOEXEC);
        reach.open_mem = fd < 0 ? errno : 0;
        (void)!::write(report[1], &reach, sizeof reach);
        ::_exit(0);
    }
    ::close(report[1]);
    Reach reach;
    const ssize_t got = ::read(report[0], &reach, sizeof reach);
    ::close(report[0]);
    int status = 0;
    ::waitpid(probe, &status, 0);
    REQUIRE(got == static_cast<ssize_t>(sizeof reach));
    return reach;
}

// Sets fs.suid_dumpable for the scope (the kernel's default for a process that changed its
// uid), and puts the old value back.
class SuidDumpable {
public:
    explicit SuidDumpable(const std::string& value) {
        std::ifstream in(kPath);
        std::getline(in, old_);
        std::ofstream(kPath) << value;
    }
    ~SuidDumpable() { std::ofstream(kPath) << old_; }
    SuidDumpable(const SuidDumpable&) = delete;
    SuidDumpable& operator=(const SuidDumpable&) = delete;

private:
    static constexpr const char* kPath = "/proc/sys/fs/suid_dumpable";
    std::string old_;
};

} // namespace

TEST_CASE("standby: another process of the plugin's user cannot reach the parked child or the host's memory",
          "[standby]") {
    Spawner spawner(probe_config(reporting_probe()));
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE(spawner.plugin().user_id.has_value());
    const uid_t uid = *spawner.plugin().user_id;
    for (const char* suid_dumpable : {"0", "1"}) {
        INFO("fs.suid_dumpable = " << suid_dumpable << " while the child is prepared");
        std::optional<Parked> parked;
        {
            // 1 would leave a process that changed its uid dumpable: the child must not rely on it.
            SuidDumpable setting(suid_dumpable);
            REQUIRE(launch_and_wait(spawner).exit.shell_status() == 0);  // prepares the next
            parked = parked_standby();
        }
        REQUIRE(parked.has_value());
        REQUIRE(status_field(parked->plugin, "Uid").rfind(std::to_string(uid) + " ", 0) == 0);
        const Reach reach = reach_as(uid, parked->plugin);
        CHECK(reach.read_memory == EPERM);
        CHECK(reach.open_mem == EACCES);
    }
    // Still released and run as usual.
    CHECK(launch_and_wait(spawner).exit.shell_status() == 0);
}

TEST_CASE("standby: a stopped standby child does not hold up the launch, which runs cold", "[standby]") {
    Spawner spawner(probe_config(reporting_probe()));
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE(spawner.plugin().user_id.has_value());
    const Launched cold = launch_and_wait(spawner);
    REQUIRE(cold.exit.shell_status() == 0);
    const std::optional<Parked> parked = parked_standby();
    REQUIRE(parked.has_value());
    // Another process of the plugin's user may signal it: stopped, it would never execute,
    // and the launch (the supervisor's loop) would wait for it for ever.
    const uid_t uid = *spawner.plugin().user_id;
    const pid_t stopper = ::fork();
    REQUIRE(stopper >= 0);
    if (stopper == 0) {
        if (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(3);
        ::_exit(::kill(parked->plugin, SIGSTOP) == 0 ? 0 : 4);
    }
    int status = 0;
    REQUIRE(::waitpid(stopper, &status, 0) == stopper);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    const Launched launched = launch_and_wait(spawner);
    CHECK(launched.pid != parked->plugin);
    CHECK(launched.exit.shell_status() == 0);
    CHECK(launched.out == cold.out);
    CHECK(gone_within(parked->plugin, std::chrono::milliseconds(5000)));
    CHECK(gone_within(parked->launch_child, std::chrono::milliseconds(5000)));
}

TEST_CASE("standby: the sweep of what a dynamic uid left after a reap spares the standby child prepared next",
          "[standby]") {
    // No PID namespace and a plugin that may fork: after each reap the Spawner kills whatever
    // still runs as its uid (docs/sandbox.md, "Round 9"), before it prepares the standby.
    ProbeConfig probe = reporting_probe();
    probe.namespaces = "off";
    probe.limits = "memory = \"256MiB\"\nprocesses = 8\nopen_files = 64";
    PluginConfig config = probe_config(probe);
    config.dynamic_user = true;
    Spawner spawner(config);
    if (!standby_expected(spawner)) {
        WARN("not root or no seccomp: no standby child to test");
        return;
    }
    REQUIRE(launch_and_wait(spawner).exit.shell_status() == 0);
    // Without a PID namespace the parked plugin is this process's child itself.
    const std::vector<pid_t> parked = children_of(::getpid());
    REQUIRE(parked.size() == 1);
    CHECK(std::stoul(status_field(parked[0], "Uid")) >= 1879048192u);  // a uid of its own
    const Launched warm = launch_and_wait(spawner);
    CHECK(warm.pid == parked[0]);
    CHECK(warm.exit.shell_status() == 0);
    CHECK(children_of(::getpid()).size() == 1);  // the next one, made after this reap and its sweep
}
