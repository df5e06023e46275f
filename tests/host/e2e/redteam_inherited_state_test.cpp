// Red team: process state a plugin inherits from the host beyond its descriptors. A clone
// and an exec keep the scheduling policy, nice value and I/O priority, and for a uid that
// is not root the ambient capabilities: a host started under `chrt -f` / `nice -n -5` /
// `ionice -c1` handed its real-time priority to every plugin (a busy loop at SCHED_FIFO
// starves the machine), and a host that is not root with AmbientCapabilities= handed its
// capabilities over. Each case starts a real airlock-host in a prepared process and reads
// what the plugin runs with (`note ambient=... policy=... nice=... ioclass=...`).
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// The same, not waited for.
StartedHost start_host_prepared(const std::vector<std::string>& arguments, bool (*prepare)()) {
    StartedHost host;
    host.out = ::memfd_create("e2e-out", MFD_CLOEXEC);
    host.err = ::memfd_create("e2e-err", MFD_CLOEXEC);
    HostArgv argv(arguments);
    host.pid = ::fork();
    if (host.pid == 0) {
        if (::dup2(host.out, 1) < 0 || ::dup2(host.err, 2) < 0 || !prepare()) _exit(125);
        ::execve(kHostExe.c_str(), argv.data(), environ);
        _exit(127);
    }
    return host;
}

// Starts `airlock-host ARGS...` after `prepare` ran in the forked child (raw calls only;
// it returns false when it could not, and the child exits 125).
Run run_host_prepared(const std::vector<std::string>& arguments, bool (*prepare)()) {
    return finish_host(start_host_prepared(arguments, prepare));
}

bool real_time_priority() {
    const sched_param fifo{1};
    return ::sched_setscheduler(0, SCHED_FIFO, &fifo) == 0 && ::setpriority(PRIO_PROCESS, 0, -5) == 0 &&
           ::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 4)) == 0;
}

bool low_priority() {
    const sched_param batch{0};
    return ::sched_setscheduler(0, SCHED_BATCH, &batch) == 0 && ::setpriority(PRIO_PROCESS, 0, 5) == 0 &&
           ::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)) == 0;
}

// nobody with CAP_NET_BIND_SERVICE ambient, as a unit's User=nobody with
// AmbientCapabilities=CAP_NET_BIND_SERVICE runs it.
bool nobody_with_ambient_capability() {
    const gid_t groups[1] = {65534};
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].effective = data[0].permitted = data[0].inheritable = 1U << CAP_NET_BIND_SERVICE;
    return ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0 && ::setgroups(1, groups) == 0 &&
           ::setresgid(65534, 65534, 65534) == 0 && ::setresuid(65534, 65534, 65534) == 0 &&
           ::syscall(SYS_capset, &header, data) == 0 &&
           ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) == 0;
}

// A root host with SECBIT_NO_SETUID_FIXUP and CAP_NET_BIND_SERVICE ambient: the uid change
// to the plugin's user then clears none of its capability sets.
bool root_without_setuid_fixup() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    data[0].inheritable |= 1U << CAP_NET_BIND_SERVICE;
    return ::syscall(SYS_capset, &header, data) == 0 &&
           ::prctl(PR_SET_SECUREBITS, 1U << 2 /* SECBIT_NO_SETUID_FIXUP */, 0, 0, 0) == 0 &&
           ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) == 0;
}

bool set_oom_score(const char* value) {
    const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    const bool written = fd >= 0 && ::write(fd, value, std::strlen(value)) == static_cast<ssize_t>(std::strlen(value));
    if (fd >= 0) ::close(fd);
    return written;
}
bool negative_oom_score() { return set_oom_score("-500"); }
bool positive_oom_score() { return set_oom_score("500"); }

// Whether this process may lower an oom_score_adj (CAP_SYS_RESOURCE, which a container
// may lack): tried in a child.
bool can_lower_oom_score() {
    const pid_t child = ::fork();
    if (child == 0) _exit(negative_oom_score() ? 0 : 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Every process below `pid` (the host: its plugin, and pid 1 of a PID namespace).
void descendants(pid_t pid, std::vector<pid_t>& out) {
    std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    for (pid_t child; children >> child;) {
        out.push_back(child);
        descendants(child, out);
    }
}

// The oom_score_adj values of the processes a host started with `prepare` runs, seen while
// its plugin sleeps.
std::vector<std::string> plugin_oom_scores(const std::string& config, bool (*prepare)()) {
    StartedHost host = start_host_prepared({"exec", "--prefix", config, "redteam", "--", "sleep", "20"}, prepare);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (read_all(host.out).find("note pid=") == std::string::npos && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::vector<pid_t> below;
    descendants(host.pid, below);
    std::vector<std::string> scores;
    for (pid_t pid : below) {
        std::ifstream file("/proc/" + std::to_string(pid) + "/oom_score_adj");
        std::string score;
        file >> score;
        scores.push_back(score);
    }
    ::kill(host.pid, SIGKILL);
    Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK_FALSE(scores.empty());
    return scores;
}

std::string inherited_note(const std::string& config, bool (*prepare)()) {
    Run run = run_host_prepared({"exec", "--prefix", config, "redteam", "--", "inherited"}, prepare);
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    CHECK(has_line(run.out, "\\[redteam\\] redteam inherited: SUCCEEDED"));
    for (const auto& line : split_lines(run.out))
        if (line.rfind("[redteam] note ", 0) == 0) return line.substr(std::string("[redteam] note ").size());
    return "<missing>";
}

} // namespace

TEST_CASE("a plugin never inherits the host's real-time scheduling, negative nice or real-time I/O class",
          "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string config = dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces));
        INFO(namespaces);
        CHECK(inherited_note(config, real_time_priority) == "ambient=0 policy=0 nice=0 ioclass=0");
        // A lower priority than the default is the host's to pass on, and stays.
        CHECK(inherited_note(config, low_priority) ==
              "ambient=0 policy=" + std::to_string(SCHED_BATCH) + " nice=5 ioclass=" +
                  std::to_string(IOPRIO_CLASS_IDLE));
    }
}

TEST_CASE("a host that is not root passes none of its ambient capabilities to a plugin", "[e2e][redteam]") {
    // Without the namespaces layer the plugin keeps the host's uid and, before the fix, its
    // ambient set (`ambient=400`, CAP_NET_BIND_SERVICE); in a user namespace it held all of
    // that namespace's until it dropped them.
    for (const char* namespaces : {"namespaces = \"off\"", "namespaces = \"auto\""}) {
        TempDir dir;
        const std::string config = dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces));
        INFO(namespaces);
        CHECK(inherited_note(config, nobody_with_ambient_capability) == "ambient=0 policy=0 nice=0 ioclass=0");
    }
}

TEST_CASE("a root host without the setuid fixup passes none of its ambient capabilities to a plugin",
          "[e2e][redteam]") {
    // The plugin runs as nobody; before the fix it kept the ambient CAP_NET_BIND_SERVICE
    // across the uid change and the exec.
    for (const char* namespaces : {"namespaces = \"off\"", "namespaces = \"auto\""}) {
        TempDir dir;
        const std::string config = dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces));
        INFO(namespaces);
        CHECK(inherited_note(config, root_without_setuid_fixup) == "ambient=0 policy=0 nice=0 ioclass=0");
    }
}

TEST_CASE("a plugin never inherits a negative oom_score_adj from the host", "[e2e][redteam]") {
    // A host run with OOMScoreAdjust=-500 made its plugins nearly unkillable by the OOM
    // killer (the memory cgroup's too, which then has no one to end).
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string config = dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces));
        INFO(namespaces);
        // A higher score is the host's to pass on, and stays.
        for (const auto& score : plugin_oom_scores(config, positive_oom_score)) CHECK(score == "500");
        if (!can_lower_oom_score()) {
            WARN("cannot lower oom_score_adj here (no CAP_SYS_RESOURCE): the negative case is not run");
            continue;
        }
        for (const auto& score : plugin_oom_scores(config, negative_oom_score)) CHECK(score == "0");
    }
}
