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

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// Starts `airlock-host ARGS...` after `prepare` ran in the forked child (raw calls only;
// it returns false when it could not, and the child exits 125).
Run run_host_prepared(const std::vector<std::string>& arguments, bool (*prepare)()) {
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
    return finish_host(host);
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
