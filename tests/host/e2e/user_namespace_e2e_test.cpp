// The namespaces layer of a host that is not root, end to end: `airlock-host` runs as
// nobody (started by this root test), creates a user namespace per plugin process, and the
// confined "attempt" plugin probes what it hides and what the namespace's capabilities
// would have allowed (docs/sandbox.md, "In a user namespace").
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <linux/capability.h>
#include <signal.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace airlock::e2e;

namespace {

const HostUser kNobody{65534, 65534};

/// `airlock-host exec CONFIG attempt -- ACTION ARGS...` as nobody.
Run exec_as_nobody(const std::string& config_path, const std::vector<std::string>& action) {
    return run_host_as(kNobody, exec_arguments(config_path, action));
}

std::string config_with_sandbox(const TempDir& dir, AttemptConfig attempt, const std::string& lines,
                                const std::string& name) {
    attempt.syscalls += "\non_violation = \"errno\"";
    return write_config_with_sandbox(dir, attempt, lines, name);
}

} // namespace

TEST_CASE("user namespace: an unprivileged host hides host paths, processes and the network from its plugin",
          "[e2e][namespaces][userns]") {
    if (skipped_unless_root("needs root to run the host as nobody")) return;
    TempDir dir;
    const std::string secret = dir.file("secret.txt", "host data\n");
    AttemptConfig attempt;
    const std::string on = config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    const std::string off = config_with_sandbox(dir, attempt, "namespaces = \"off\"", "off");
    // The network namespace itself, measured with the interface ioctls the filter otherwise refuses.
    attempt.grants = kEveryIoctl;
    const std::string on_measured = config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on-measured");
    const std::string off_measured = config_with_sandbox(dir, attempt, "namespaces = \"off\"", "off-measured");
    const std::string host_process = std::to_string(::getpid());  // this test: a host process

    // `check` says which way the layer is made.
    Run check = run_host_as(kNobody, {"check", on});
    INFO(check.out << check.err);
    CHECK(check.status == 0);
    CHECK(has_line(check.out, "namespaces: available \\(.*; in a user namespace, the host's uid mapped to itself\\)"));

    // Paths outside the system paths, and every process's /proc entry, do not exist for it.
    for (const std::string& path : {secret, dir.path(), std::string("/proc/1"), "/proc/" + host_process,
                                    std::string("/etc/passwd"), std::string("/home")}) {
        Run run = exec_as_nobody(on, {"stat", path});
        INFO(path << "\n" << run.out << run.err);
        CHECK(run.status == 0);
        CHECK(run.result("stat") == "blocked errno=ENOENT");
    }
    Run usr = exec_as_nobody(on, {"stat", "/usr/lib"});
    CHECK(usr.result("stat") == "SUCCEEDED");

    // Its own PID namespace: pid 2 below airlock-pid-init; host processes cannot be named.
    Run pids = exec_as_nobody(on, {"pids"});
    INFO(pids.out << pids.err);
    CHECK(pids.notes("pid ") == std::vector<std::string>{"pid 2"});
    Run signaled = exec_as_nobody(on, {"kill", host_process, "0"});
    INFO(signaled.out << signaled.err);
    CHECK(signaled.result("kill") == "blocked errno=ESRCH");

    // An empty network namespace: loopback only, and down.
    Run inside = exec_as_nobody(on_measured, {"interfaces"});
    INFO(inside.out << inside.err);
    CHECK(inside.result("interfaces") == "SUCCEEDED");
    CHECK(inside.notes("addressed-interfaces") == std::vector<std::string>{"addressed-interfaces 0"});
    CHECK(inside.notes("lo") == std::vector<std::string>{"lo down"});
    Run hostname = exec_as_nobody(on, {"hostname"});
    CHECK(hostname.notes("hostname") == std::vector<std::string>{"hostname airlock"});

    // The same unprivileged host without the layer: Landlock alone lets all of it through.
    Run leaked = exec_as_nobody(off, {"stat", secret});
    INFO(leaked.out << leaked.err);
    CHECK(leaked.result("stat") == "SUCCEEDED");
    Run named = exec_as_nobody(off, {"kill", host_process, "0"});
    INFO(named.out << named.err);
    CHECK(named.result("kill") == "blocked errno=EPERM");  // it exists (another uid)
    Run outside = exec_as_nobody(off_measured, {"interfaces"});
    CHECK(outside.notes("lo") == std::vector<std::string>{"lo up"});

    // And the host still serves.
    Run noop = exec_as_nobody(on, {"noop"});
    INFO(noop.out << noop.err);
    CHECK(noop.status == 0);
    CHECK(noop.result("noop") == "SUCCEEDED");
    CHECK(noop.err.empty());
}

TEST_CASE("user namespace: the plugin keeps no capability and cannot make namespaces or mounts of its own",
          "[e2e][namespaces][userns]") {
    if (skipped_unless_root("needs root to run the host as nobody")) return;
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = "allow = [\"capget\"]";
    const std::string on = config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");

    // The host's uid mapped to itself, and not one capability left after its exec.
    Run caps = exec_as_nobody(on, {"capabilities"});
    INFO(caps.out << caps.err);
    CHECK(caps.status == 0);
    CHECK(caps.notes("capabilities") ==
          std::vector<std::string>{"capabilities effective=000000000 permitted=000000000"});
    CHECK(caps.notes("ids") == std::vector<std::string>{"ids uid=65534 gid=65534"});

    // Not even from file capabilities on its executable (CAP_SYS_ADMIN and CAP_NET_RAW, set
    // on a copy): the kernel honours them only on a mount of the caller's own mount
    // namespace without nosuid, and the plugin is executed from neither.
    const std::string capped = dir.at("capped-attempt");
    REQUIRE(std::system(("cp " + kAttempt + " " + capped + " && chmod 0755 " + capped).c_str()) == 0);
    vfs_cap_data file_caps{};
    file_caps.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
    file_caps.data[0].permitted = (1U << CAP_SYS_ADMIN) | (1U << CAP_NET_RAW);
    REQUIRE(::setxattr(capped.c_str(), "security.capability", &file_caps, XATTR_CAPS_SZ_2, 0) == 0);
    std::string capped_toml = read_text(on);
    capped_toml.replace(capped_toml.find(quoted(kAttempt)), quoted(kAttempt).size(), quoted(capped));
    Run capped_caps = exec_as_nobody(dir.file("capped.toml", capped_toml), {"capabilities"});
    INFO(capped_caps.out << capped_caps.err);
    CHECK(capped_caps.notes("capabilities") ==
          std::vector<std::string>{"capabilities effective=000000000 permitted=000000000"});

    // What a fresh user namespace would give it, the filter refuses.
    for (const std::vector<std::string>& action :
         {std::vector<std::string>{"unshare-newuser"}, std::vector<std::string>{"clone-newuser"},
          std::vector<std::string>{"mount-tmpfs", "/usr"}, std::vector<std::string>{"mount-tmpfs", "/"}}) {
        Run run = exec_as_nobody(on, action);
        INFO(action[0] << "\n" << run.out << run.err);
        CHECK(run.status == 0);
        CHECK(run.result(action[0]).rfind("blocked errno=", 0) == 0);
    }
    Run noop = exec_as_nobody(on, {"noop"});
    INFO(noop.out << noop.err);
    CHECK(noop.result("noop") == "SUCCEEDED");
}

TEST_CASE("user namespace: SIGTERM to an unprivileged airlock-host exec stops a plugin without a handler",
          "[e2e][namespaces][userns]") {
    if (skipped_unless_root("needs root to run the host as nobody")) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string on = config_with_sandbox(dir, attempt, "namespaces = \"require\"", "on");
    StartedHost host = start_host(exec_arguments(on, {"sleep", "60"}), &kNobody);
    REQUIRE(host.pid > 0);
    // Wait until the plugin (the host's grandchild, below airlock-pid-init) has executed.
    bool started = false;
    for (int i = 0; i < 2000 && !started; ++i) {
        const std::string tree = "/proc/" + std::to_string(host.pid) + "/task/" + std::to_string(host.pid) + "/children";
        std::ifstream children(tree);
        for (pid_t child; children >> child && !started;) {
            std::ifstream grandchildren("/proc/" + std::to_string(child) + "/task/" + std::to_string(child) + "/children");
            for (pid_t grandchild; grandchildren >> grandchild && !started;) {
                std::ifstream comm("/proc/" + std::to_string(grandchild) + "/comm");
                std::string name;
                std::getline(comm, name);
                started = name == "airlock-e2e-att";
            }
        }
        if (!started) ::usleep(5000);
    }
    REQUIRE(started);
    REQUIRE(::kill(host.pid, SIGTERM) == 0);  // forwarded through airlock-pid-init
    Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK(run.host_exited);
    CHECK(run.status == 128 + SIGTERM);
}

TEST_CASE("user namespace: require fails closed when the host cannot create user namespaces",
          "[e2e][namespaces][userns]") {
    if (skipped_unless_root("needs root to map nobody in a user namespace")) return;
    TempDir dir;
    AttemptConfig attempt;
    const std::string required = config_with_sandbox(dir, attempt, "namespaces = \"require\"", "required");
    const std::string automatic = config_with_sandbox(dir, attempt, "namespaces = \"auto\"", "auto");

    Run refused = run_host_without_user_namespaces(exec_arguments(required, {"noop"}));
    INFO(refused.out << refused.err);
    CHECK(refused.host_exited);
    CHECK(refused.status != 0);
    CHECK(refused.status < 120);  // the host refused it, not the test's set-up
    CHECK(refused.result("noop") == "<missing>");
    CHECK(refused.err.find("namespaces = \"require\" but private namespaces are unavailable") != std::string::npos);
    CHECK(refused.err.find("cannot create a user namespace") != std::string::npos);
    CHECK(refused.err.find("ENOSPC") != std::string::npos);

    // auto: the same host runs the plugin without them, and check says so.
    Run fallback = run_host_without_user_namespaces(exec_arguments(automatic, {"noop"}));
    INFO(fallback.out << fallback.err);
    CHECK(fallback.status == 0);
    CHECK(fallback.result("noop") == "SUCCEEDED");
    Run check = run_host_without_user_namespaces({"check", automatic});
    INFO(check.out << check.err);
    CHECK(has_line(check.out, "namespaces: UNAVAILABLE .*cannot create a user namespace.*"));
    CHECK(has_line(check.out, " *layers applied at spawn: .* namespaces \\(unavailable\\)"));

    // A host that can (nobody outside that namespace) still serves the same config.
    Run served = exec_as_nobody(required, {"noop"});
    INFO(served.out << served.err);
    CHECK(served.status == 0);
    CHECK(served.result("noop") == "SUCCEEDED");
}

TEST_CASE("user namespace: the supervisor (airlock-host run) as nobody starts its plugin in one too",
          "[e2e][namespaces][userns]") {
    if (skipped_unless_root("needs root to run the host as nobody")) return;
    TempDir dir;
    const std::string secret = dir.file("secret.txt", "host data\n");
    AttemptConfig attempt;
    attempt.env = std::string(R"({ LANG = "C.UTF-8" })") + "\nargs = [\"stat\", " + quoted(secret) + "]\nrestart = \"no\"";
    const std::string config = config_with_sandbox(dir, attempt, "namespaces = \"require\"", "run");
    StartedHost host = start_host({"run", config}, &kNobody);
    REQUIRE(host.pid > 0);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (read_all(host.out).find("plugin attempt: state exited") == std::string::npos &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(host.pid, SIGTERM);
    Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK(run.result("stat") == "blocked errno=ENOENT");
    CHECK(has_line(run.out, "\\[host\\] plugin attempt: exited with status 0"));
}

TEST_CASE("user namespace: a system path the user namespace cannot bind refuses the start, naming it",
          "[e2e][namespaces][userns]") {
    if (skipped_unless_root("needs root to run the host as nobody")) return;
    TempDir dir;
    AttemptConfig attempt;
    // /dev has mounts below it (/dev/pts, /dev/shm), locked in a user namespace: a bind of
    // /dev alone would uncover what they hide, so the kernel refuses it (EINVAL).
    attempt.sandbox = "namespaces = \"require\"";
    std::string toml = attempt_toml(attempt);
    const std::string paths_end = "\"/etc/ld.so.cache\"]";
    toml.replace(toml.find(paths_end), paths_end.size(), "\"/etc/ld.so.cache\", \"/dev\"]");
    const std::string config = dir.file("dev.toml", toml);
    Run run = exec_as_nobody(config, {"noop"});
    INFO(run.out << run.err);
    CHECK(run.host_exited);
    CHECK(run.status != 0);
    CHECK(run.result("noop") == "<missing>");
    CHECK(run.err.find("plugin 'attempt': cannot start: the child could not build its private root in its user "
                       "namespace failed: Invalid argument (could not bind-mount /dev read-only into its private "
                       "root)") != std::string::npos);
}
