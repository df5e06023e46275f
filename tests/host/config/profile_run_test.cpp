// The profiles are meant to run real programs: load each resolved allowlist as a real
// seccomp filter (kill on anything else, clone3 -> ENOSYS as the sandbox does) and run a probe.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "airlock/host/syscall_sets.hpp"

using namespace airlock::host;

namespace {

// Runs the probe with `mode` under a filter allowing exactly `allowed`; returns the wait status.
int run_probe(const std::set<std::string>& allowed, const char* mode) {
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_KILL_PROCESS);
    REQUIRE(filter != nullptr);
    for (const auto& name : allowed)
        REQUIRE(seccomp_rule_add(filter, SCMP_ACT_ALLOW, *native_syscall_number(name), 0) == 0);
    REQUIRE(seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0);

    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_load(filter) != 0)
            _exit(120);
        execl(AIRLOCK_PROFILE_PROBE, AIRLOCK_PROFILE_PROBE, mode, nullptr);
        _exit(121);
    }
    seccomp_release(filter);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    return status;
}

} // namespace

TEST_CASE("a threaded C++ program with sockets and event loops runs under the default profile") {
    const int status = run_probe(resolve_allowlist("default", {}, {}), "full");
    INFO("wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a single-threaded program runs under the minimal profile") {
    const int status = run_probe(resolve_allowlist("minimal", {}, {}), "single");
    INFO("wait status " << status);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the harness sees a violation: threads under the minimal profile are killed") {
    const int status = run_probe(resolve_allowlist("minimal", {}, {}), "full");
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSYS);
}

TEST_CASE("deny takes effect in the real filter") {
    const int status = run_probe(resolve_allowlist("default", {}, {"@thread"}), "full");
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSYS);
}
