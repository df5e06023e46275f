// The namespaces layer, end to end: the confined "attempt" plugin, started through the real
// config loader and `airlock-host exec`, probes what its private mount, network and UTS
// namespaces hide; the same probe with `namespaces = "off"` shows what they hide.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

using namespace airlock::e2e;

namespace {

const std::string kErrno = "on_violation = \"errno\"";

/// Every case here: the namespaces layer is made by a root host.
bool skipped_without_root_host() { return skipped_unless_root("the namespaces layer needs a root host here"); }

/// An abstract unix stream listener; `connections()` counts what reached it.
class AbstractListener {
public:
    explicit AbstractListener(const std::string& name) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path + 1, name.data() + 1, name.size() - 1);
        auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
    }
    AbstractListener(const AbstractListener&) = delete;
    AbstractListener& operator=(const AbstractListener&) = delete;
    ~AbstractListener() { ::close(fd_); }
    int connections() const {
        int count = 0;
        for (int accepted; (accepted = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++count) ::close(accepted);
        return count;
    }

private:
    int fd_ = -1;
};

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> found;
    std::ifstream children("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
    for (pid_t child; children >> child;) found.push_back(child);
    return found;
}

std::string comm_of(pid_t pid) {
    std::ifstream name("/proc/" + std::to_string(pid) + "/comm");
    std::string text;
    std::getline(name, text);
    return text;
}

/// The first child or grandchild of `parent` (the plugin runs below its PID namespace's
/// init) that has executed `program` (by its comm), or -1 once `limit` has passed.
pid_t executed_child(pid_t parent, const std::string& program, std::chrono::seconds limit = std::chrono::seconds(10)) {
    const std::string comm = program.substr(program.rfind('/') + 1).substr(0, 15);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        for (pid_t child : children_of(parent)) {
            if (comm_of(child) == comm) return child;
            for (pid_t grandchild : children_of(child)) {
                if (comm_of(grandchild) == comm) return grandchild;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
}

std::string namespace_of(const std::string& pid, const char* kind) {
    char target[128] = {};
    const std::string link = "/proc/" + pid + "/ns/" + kind;
    return ::readlink(link.c_str(), target, sizeof target - 1) > 0 ? target : "";
}

void check_noop(const std::string& config) {
    Run run = exec_attempt(config, {"noop"});
    INFO(run.out << run.err);
    CHECK(run.status == 0);
    CHECK(run.result("noop") == "SUCCEEDED");
    CHECK(run.err.empty());
}

} // namespace

TEST_CASE("namespaces: a host path outside the system paths does not exist for the plugin", "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    const std::string secret = dir.file("secret.txt", "host data\n");
    AttemptConfig attempt;
    const std::string on = write_config_with_sandbox(dir, attempt, "", "on");  // the default: auto
    const std::string off = write_config_with_sandbox(dir, attempt, "namespaces = \"off\"", "off");

    for (const std::string& path : {secret, dir.path(), std::string("/proc/self"), std::string("/proc/1"),
                                    std::string("/etc/passwd"), std::string("/home")}) {
        Run run = exec_attempt(on, {"stat", path});
        INFO(path << "\n" << run.out << run.err);
        CHECK(run.result("stat") == "blocked errno=ENOENT");
    }
    // What it needs is still there: its loader's paths (and it ran, so its libraries).
    Run usr = exec_attempt(on, {"stat", "/usr/lib"});
    CHECK(usr.result("stat") == "SUCCEEDED");
    Run cache = exec_attempt(on, {"stat", "/etc/ld.so.cache"});
    CHECK(cache.result("stat") == "SUCCEEDED");
    // Read-only even where Landlock would not look: the private root itself.
    Run own = exec_attempt(on, {"stat", kAttempt});
    CHECK(own.result("stat") == "SUCCEEDED");

    // Without the layer, Landlock alone lets metadata through: the gap this layer closes.
    Run leaked = exec_attempt(off, {"stat", secret});
    INFO(leaked.out << leaked.err);
    CHECK(leaked.result("stat") == "SUCCEEDED");
    Run proc = exec_attempt(off, {"stat", "/proc/1"});
    CHECK(proc.result("stat") == "SUCCEEDED");
    check_noop(on);
    check_noop(off);
}

TEST_CASE("namespaces: the plugin's network has no interfaces", "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    const std::string abstract = "@airlock-ns-e2e-" + std::to_string(::getpid());
    AbstractListener unix_listener(abstract);
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    // The network namespace itself, measured with the interface ioctls the filter otherwise refuses.
    attempt.grants = kEveryIoctl;
    const std::string on_measured = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on-measured");
    const std::string off = write_config_with_sandbox(dir, attempt, "namespaces = \"off\"", "off");

    // seccomp refuses socket() and connect(), so this is defence in depth: even a socket the
    // plugin could make would live in a network without a usable interface.
    Run inside = exec_attempt(on_measured, {"interfaces"});
    INFO(inside.out << inside.err);
    CHECK(inside.result("interfaces") == "SUCCEEDED");
    CHECK(inside.notes("addressed-interfaces") == std::vector<std::string>{"addressed-interfaces 0"});
    CHECK(inside.notes("lo") == std::vector<std::string>{"lo down"});
    // The host's network, for comparison: loopback is up and addressed there.
    Run outside = exec_attempt(off, {"interfaces"});
    INFO(outside.out << outside.err);
    CHECK(outside.notes("lo") == std::vector<std::string>{"lo up"});
    CHECK(outside.notes("addressed-interfaces") != std::vector<std::string>{"addressed-interfaces 0"});

    // An abstract socket of the host's network namespace stays out of reach.
    Run to_abstract = exec_attempt(on, {"unix-connect", abstract});
    INFO(to_abstract.out << to_abstract.err);
    CHECK(to_abstract.result("unix-connect").rfind("blocked ", 0) == 0);
    CHECK(unix_listener.connections() == 0);
    check_noop(on);
}

TEST_CASE("namespaces: the plugin has its own host name", "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    Run run = exec_attempt(on, {"hostname"});
    INFO(run.out << run.err);
    CHECK(run.notes("hostname") == std::vector<std::string>{"hostname airlock"});
}

// A host that cannot create them (not root, no user namespaces): user_namespace_e2e_test.cpp,
// "require fails closed when the host cannot create user namespaces".

TEST_CASE("namespaces: check reports the layer and the mode", "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string off = write_config_with_sandbox(dir, attempt, "namespaces = \"off\"", "off");
    Run check = run_host(std::vector<std::string>{"check", off});
    INFO(check.out << check.err);
    CHECK(check.status == 0);
    CHECK(has_line(check.out, "namespaces: available .*"));
    CHECK(has_line(check.out, "  namespaces: off .*"));
    CHECK(has_line(check.out, " *layers applied at spawn: seccomp landlock no-new-privs namespaces \\(off\\)"));
}

TEST_CASE("namespaces: grants are descriptors and keep working, guarded by Landlock", "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    const std::string granted = dir.dir("granted");
    dir.file("granted/inside.txt", "inside", 0644);
    dir.file("secret.txt", "top secret", 0644);
    AttemptConfig attempt;
    attempt.grants = "data = { dir = " + quoted(granted) + ", access = \"read\" }";
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");

    Run inside = exec_attempt(on, {"openat", "3", "inside.txt"});
    INFO(inside.out << inside.err);
    CHECK(inside.result("openat") == "SUCCEEDED");
    // The descriptor lies in a detached copy of the grant's mount: `..` ends at the grant, so
    // nothing of the host's tree is above it (before round 9 `..` led there and met Landlock).
    Run up = exec_attempt(on, {"openat", "3", "../secret.txt"});
    INFO(up.out << up.err);
    CHECK(up.result("openat") == "blocked errno=ENOENT");
    // By path, the granted directory does not exist in the private root.
    Run by_path = exec_attempt(on, {"stat", granted + "/inside.txt"});
    CHECK(by_path.result("stat") == "blocked errno=ENOENT");
}

TEST_CASE("namespaces: SIGTERM to airlock-host exec stops a plugin without a handler, reported exactly",
          "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    StartedHost host = start_host(exec_arguments(on, {"sleep", "60"}));
    REQUIRE(host.pid > 0);
    const pid_t plugin = executed_child(host.pid, kAttempt);
    REQUIRE(plugin > 0);
    // It really runs in namespaces of its own.
    CHECK(namespace_of(std::to_string(plugin), "mnt") != namespace_of("self", "mnt"));
    CHECK(namespace_of(std::to_string(plugin), "net") != namespace_of("self", "net"));
    CHECK(namespace_of(std::to_string(plugin), "uts") != namespace_of("self", "uts"));
    CHECK(namespace_of(std::to_string(plugin), "ipc") != namespace_of("self", "ipc"));
    CHECK(namespace_of(std::to_string(plugin), "pid") != namespace_of("self", "pid"));

    REQUIRE(::kill(host.pid, SIGTERM) == 0);  // forwarded; sleep has no handler and dies of it
    Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK(run.host_exited);
    CHECK(run.status == 128 + SIGTERM);
    CHECK(run.result("sleep") == "<missing>");
}

// ---- the PID namespace ----------------------------------------------------------------

namespace {

/// A config whose plugin may fork (the grandchild tests).
AttemptConfig forking_attempt() {
    AttemptConfig attempt;
    attempt.limits = "processes = 16";
    attempt.syscalls = "allow = [\"@process\"]";
    return attempt;
}

/// Reads `fd` (O_NONBLOCK) until end of file or until nothing more is there: true at end of
/// file, i.e. when no process holds its write end any more.
bool at_end_of_file(int fd, std::string& text) {
    char buffer[4096];
    for (;;) {
        const ssize_t size = ::read(fd, buffer, sizeof buffer);
        if (size > 0) {
            text.append(buffer, static_cast<std::size_t>(size));
            continue;
        }
        return size == 0;
    }
}

} // namespace

TEST_CASE("namespaces: the plugin is pid 2 below its init and cannot see or signal a host process",
          "[e2e][namespaces][pid]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    const std::string off = write_config_with_sandbox(dir, attempt, "namespaces = \"off\"", "off");
    const std::string host_process = std::to_string(::getpid());  // this test: a host process

    Run pids = exec_attempt(on, {"pids"});
    INFO(pids.out << pids.err);
    CHECK(pids.notes("pid ") == std::vector<std::string>{"pid 2"});
    CHECK(pids.notes("ppid ") == std::vector<std::string>{"ppid 1"});  // airlock-pid-init

    // The host's processes do not exist for it: no signal, no probe, no /proc entry.
    for (const std::string& signal : {std::to_string(SIGKILL), std::string("0")}) {
        Run signaled = exec_attempt(on, {"kill", host_process, signal});
        INFO(signaled.out << signaled.err);
        CHECK(signaled.result("kill") == "blocked errno=ESRCH");
    }
    Run probed = exec_attempt(on, {"pid-call", "getpgid", host_process});
    INFO(probed.out << probed.err);
    CHECK(probed.result("pid-call").rfind("blocked errno=", 0) == 0);
    Run listed = exec_attempt(on, {"stat", "/proc/" + host_process});
    CHECK(listed.result("stat") == "blocked errno=ENOENT");
    // pid 1 is its init (root, outside its Landlock domain): not signalable either.
    Run init = exec_attempt(on, {"kill", "1", std::to_string(SIGKILL)});
    INFO(init.out << init.err);
    CHECK(init.result("kill") == "blocked errno=EPERM");
    CHECK(::kill(::getpid(), 0) == 0);

    // Without the layer the same plugin names host processes (EPERM: it exists).
    Run outside = exec_attempt(off, {"pids"});
    CHECK(outside.notes("pid ") != std::vector<std::string>{"pid 2"});
    Run named = exec_attempt(off, {"kill", host_process, "0"});
    INFO(named.out << named.err);
    CHECK(named.result("kill") == "blocked errno=EPERM");
    check_noop(on);
}

TEST_CASE("namespaces: nothing the plugin forks outlives it, not even a child that ignores SIGTERM",
          "[e2e][namespaces][pid]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    // No cgroups: reaping the plugin would kill what is left in them, so this shows the PID
    // namespace alone.
    const std::string on = write_config_with_sandbox(
        dir, forking_attempt(),
        "namespaces = \"require\"\nmemory_cgroup = \"off\"\npids_cgroup = \"off\"\ncpu_cgroup = \"off\"", "on");
    airlock::host::HostConfig loaded = airlock::host::load_config(on);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));

    airlock::host::SpawnedPlugin plugin =
        spawner.launch(airlock::host::LaunchOptions{{"fork-linger-ignoring-term", "120"}});
    const airlock::host::PluginExit exit = plugin.process.wait();
    CHECK_FALSE(exit.signaled);
    CHECK(exit.exit_code == 0);  // the plugin's own exit, not its init's
    // The grandchild inherited the plugin's stdout; once the plugin's exit is reported no
    // process holds it any more: the namespace ended with its init.
    std::string out;
    CHECK(at_end_of_file(plugin.stdout_pipe.get(), out));
    INFO(out);
    CHECK(out.find("attempt fork-linger-ignoring-term: SUCCEEDED") != std::string::npos);
    check_noop(on);
}

TEST_CASE("namespaces: SIGTERM reaches the plugin through its init, a handler exits with its own code",
          "[e2e][namespaces][pid]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    StartedHost host = start_host(exec_arguments(on, {"wait-term", "42"}));
    REQUIRE(host.pid > 0);
    const pid_t plugin = executed_child(host.pid, kAttempt);
    REQUIRE(plugin > 0);
    CHECK(namespace_of(std::to_string(plugin), "pid") != namespace_of("self", "pid"));
    // Wait until the handler is installed (the plugin says so before it waits).
    bool waiting = false;
    for (int tries = 0; !waiting && tries < 2000; ++tries) {
        waiting = read_all(host.out).find("note waiting-for-term") != std::string::npos;
        if (!waiting) ::usleep(5000);
    }
    REQUIRE(waiting);

    REQUIRE(::kill(host.pid, SIGTERM) == 0);  // the host forwards it to the init, the init to the plugin
    Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK(run.host_exited);
    CHECK(run.status == 42);
    CHECK(run.notes("got-term") == std::vector<std::string>{"got-term"});
}

TEST_CASE("namespaces: below its init the plugin's exit code and a seccomp kill are reported as before",
          "[e2e][namespaces][pid]") {
    if (skipped_without_root_host()) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string on = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");

    Run usage = exec_attempt(on, {"no-such-action"});
    INFO(usage.out << usage.err);
    CHECK(usage.status == 2);  // attempt's usage error
    // Death by a signal is the plugin's own too (its init could not die by SIGSYS or SIGXCPU).
    for (int signal : {SIGSYS, SIGXCPU, SIGTERM}) {
        Run died = exec_attempt(on, {"kill", "2", std::to_string(signal)});  // itself
        INFO(died.out << died.err);
        CHECK(died.status == 128 + signal);
        CHECK(has_line(died.err, signal == SIGSYS ? ".*forbidden system call: killed \\(SIGSYS\\)"
                                                  : ".*killed by signal " + std::to_string(signal) + " .*"));
    }
    // Killed for a forbidden call: the report names the call and the plugin's pid as the host
    // sees it (not its pid 2 inside).
    StartedHost host = start_host({"exec", on, "attempt", "--", "tcp-socket"});
    REQUIRE(host.pid > 0);
    Run killed = finish_host(host);
    INFO(killed.out << killed.err);
    CHECK(killed.status == 128 + SIGKILL);
    CHECK(has_line(killed.err, violation("socket", 41, "killed")));
    CHECK_FALSE(has_line(killed.err, ".*\\(pid 2\\).*"));
    check_noop(on);
}

TEST_CASE("namespaces: a root host without CAP_SYS_CHROOT is told so by check, and require refuses",
          "[e2e][namespaces]") {
    if (skipped_without_root_host()) return;
    if (::access("/usr/bin/setpriv", X_OK) != 0) {
        WARN("NOT TESTED: setpriv (util-linux) is missing");
        return;
    }
    TempDir dir;
    AttemptConfig attempt;
    const std::string required = write_config_with_sandbox(dir, attempt, "namespaces = \"require\"", "required");
    // A bounding set without CAP_SYS_CHROOT: root's effective set loses it at exec, as under a
    // systemd unit whose CapabilityBoundingSet= leaves it out.
    const auto bounded = [](std::vector<std::string> arguments) {
        arguments.insert(arguments.begin(), {"--bounding-set=-sys_chroot", kHostExe});
        StartedHost host;
        host.out = ::memfd_create("e2e-out", MFD_CLOEXEC);
        host.err = ::memfd_create("e2e-err", MFD_CLOEXEC);
        std::vector<std::string> words{"/usr/bin/setpriv"};
        words.insert(words.end(), arguments.begin(), arguments.end());
        std::vector<char*> argv;
        for (auto& word : words) argv.push_back(word.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_adddup2(&actions, host.out, 1);
        ::posix_spawn_file_actions_adddup2(&actions, host.err, 2);
        if (::posix_spawn(&host.pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) host.pid = -1;
        ::posix_spawn_file_actions_destroy(&actions);
        return finish_host(host);
    };
    Run check = bounded({"check", required});
    INFO(check.out << check.err);
    CHECK(check.status != 0);
    CHECK((check.out + check.err).find("lacks CAP_SYS_CHROOT") != std::string::npos);
    Run exec = bounded(exec_arguments(required, {"noop"}));
    INFO(exec.out << exec.err);
    CHECK(exec.status != 0);
    CHECK(exec.err.find("lacks CAP_SYS_CHROOT") != std::string::npos);
}
