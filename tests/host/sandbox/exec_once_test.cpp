// The launch is the only exec: tagged execveat works once, nothing after it can exec.
#include "sandbox_test_support.hpp"

#include <airlock/host/child_confinement.hpp>
#include <airlock/host/seccomp_filter.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

const char* const probe = AIRLOCK_SANDBOX_PROBE;

CompiledSeccompFilter errno_filter() {
    auto filter = compile_seccomp_filter(policy_with(ViolationAction::Errno), {}, {false, false});
    INFO(filter.status().to_string());
    REQUIRE(filter.ok());
    return std::move(*filter);
}

// Confines the child, then launches the probe with `action arg` through exec_tagged.
ChildOutcome launch_probe(const CompiledSeccompFilter& filter, const char* action, const char* arg,
                          bool confined = true) {
    auto program = filter.program();
    auto tag = filter.exec_tag();
    return run_in_child([&] {
        int exe = open(probe, O_PATH | O_CLOEXEC);
        if (exe < 0) return 120;
        if (confined && (set_no_new_privs() || apply_seccomp_in_child(program, nullptr))) return 121;
        char* const argv[] = {const_cast<char*>("probe"), const_cast<char*>(action), const_cast<char*>(arg), nullptr};
        char* const envp[] = {nullptr};
        exec_tagged(exe, argv, envp, tag);
        return 122;
    });
}

} // namespace

TEST_CASE("the tagged launch runs the plugin under the filter", "[seccomp][exec]") {
    auto filter = errno_filter();
    auto outcome = launch_probe(filter, "ok", "");
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
    auto threads = launch_probe(filter, "thread", "");
    REQUIRE(threads.exited);
    CHECK(threads.exit_code == 0);
}

TEST_CASE("a second execve after the launch is refused", "[seccomp][exec]") {
    auto filter = errno_filter();
    // Control: unconfined, the probe can exec /bin/true.
    auto control = launch_probe(filter, "execve", "/bin/true", false);
    REQUIRE(control.exited);
    REQUIRE(control.exit_code == 0);

    auto execve_outcome = launch_probe(filter, "execve", "/bin/true");
    REQUIRE(execve_outcome.exited);
    CHECK(execve_outcome.exit_code == EPERM);
    // Nor the launch's own form: the plugin does not know the tag.
    auto execveat_outcome = launch_probe(filter, "execveat", "/bin/true");
    REQUIRE(execveat_outcome.exited);
    CHECK(execveat_outcome.exit_code == EPERM);
}

TEST_CASE("exec with a wrong tag or without AT_EMPTY_PATH is refused", "[seccomp][exec]") {
    auto filter = errno_filter();
    auto program = filter.program();
    auto tag = filter.exec_tag();
    auto outcome = run_in_child([&] {
        int exe = open("/bin/true", O_PATH | O_CLOEXEC);
        if (exe < 0 || set_no_new_privs() || apply_seccomp_in_child(program, nullptr)) return 120;
        char* const argv[] = {const_cast<char*>("true"), nullptr};
        char* const envp[] = {nullptr};
        if (exec_tagged(exe, argv, envp, tag + 1) != EPERM) return 1;
        if (syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, envp, 0, tag) >= 0 || errno != EPERM) return 2;
        if (execve("/bin/true", argv, envp) >= 0 || errno != EPERM) return 3;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}
