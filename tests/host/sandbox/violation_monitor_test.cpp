// Violations observed by the host through seccomp user notification.
#include "sandbox_test_support.hpp"

#include <airlock/host/child_confinement.hpp>
#include <airlock/host/seccomp_filter.hpp>
#include <airlock/host/seccomp_rules.hpp>
#include <airlock/host/violation_monitor.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

constexpr int setup_failed = 120;
constexpr int timeout_ms = 5000;

CompiledSeccompFilter notifying_filter(const SyscallPolicy& policy) {
    auto filter = compile_seccomp_filter(policy, {}, {false, true});
    INFO(filter.status().to_string());
    REQUIRE(filter.ok());
    REQUIRE(filter->uses_notification());
    return std::move(*filter);
}

// A child that confines itself, hands its listener to the host, then runs `attempt`.
struct ConfinedChild {
    ConfinedChild(const CompiledSeccompFilter& filter, const std::function<int()>& attempt) {
        int pair[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
        host_end.reset(pair[0]);
        REQUIRE(prepare_listener_handoff(host_end.get()).ok());
        const int child_end = pair[1];
        auto program = filter.program();
        auto tag = filter.exec_tag();
        child = std::make_unique<ChildProcess>([&] {
            int listener = -1;
            if (set_no_new_privs() || apply_seccomp_in_child(program, &listener)) return setup_failed;
            if (send_seccomp_listener(child_end, listener, tag)) return setup_failed + 1;
            return attempt();
        });
        close(child_end);  // so a child that dies early reads as PeerClosed, not a hang
    }

    ViolationMonitor monitor(const CompiledSeccompFilter& filter) {
        auto listener = receive_seccomp_listener(host_end.get(), timeout_ms);
        INFO(listener.status().to_string());
        REQUIRE(listener.ok());
        return ViolationMonitor(std::move(*listener), filter.violation_policy());
    }

    airlock::UniqueFd host_end;
    std::unique_ptr<ChildProcess> child;
};

Violation expect_violation(ViolationMonitor& monitor) {
    auto handled = monitor.handle_one(timeout_ms);
    INFO(handled.status().to_string());
    REQUIRE(handled.ok());
    REQUIRE(handled->has_value());
    return std::move(**handled);
}

} // namespace

TEST_CASE("syscall numbers resolve to names", "[notify]") {
    CHECK(syscall_name(SYS_openat) == "openat");
    CHECK(syscall_name(SYS_io_uring_setup) == "io_uring_setup");
    CHECK(syscall_name(100000) == "syscall_100000");
}

TEST_CASE("the host observes a forbidden openat by name and kills the plugin", "[notify]") {
    // sendmsg and read are not allowed either: the hand-off uses the tagged exceptions.
    auto filter = notifying_filter(policy_with(ViolationAction::Kill, {}, {"openat", "sendmsg", "read"}));
    ConfinedChild confined(filter, [] {
        int fd = open("/etc/hostname", O_RDONLY);  // glibc's open() is the openat syscall
        return fd >= 0 ? 0 : 1;                    // either way: it must not get here
    });
    auto monitor = confined.monitor(filter);
    auto violation = expect_violation(monitor);
    CHECK(violation.syscall_name == "openat");
    CHECK(violation.syscall_nr == SYS_openat);
    CHECK(violation.pid == confined.child->pid());
    CHECK(violation.action == ViolationAction::Kill);
    CHECK(violation.describe("thumbnailer") ==
          "plugin thumbnailer (pid " + std::to_string(confined.child->pid()) +
              "): forbidden system call openat (257): killed; allow it with syscalls.allow = [\"openat\"]");
    auto outcome = confined.child->wait();
    CHECK_FALSE(outcome.exited);
    CHECK(outcome.signal == SIGKILL);
    // Nobody uses the filter any more.
    auto after = monitor.handle_one(timeout_ms);
    REQUIRE_FALSE(after.ok());
    CHECK(after.status().code() == airlock::StatusCode::PeerClosed);
}

TEST_CASE("an untagged sendmsg is a violation when the policy does not allow it", "[notify]") {
    auto filter = notifying_filter(policy_with(ViolationAction::Errno, {}, {"sendmsg"}));
    ConfinedChild confined(filter, [] {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 1;
        char byte = 'x';
        iovec iov{&byte, 1};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        // Raw syscall with an explicit 0 in the tag register: glibc's sendmsg() leaves that
        // register untouched, and here it still holds the tag from the hand-off just before.
        // (A launched plugin never sees the tag: exec clears every register.)
        return exit_code_of(syscall(SYS_sendmsg, pair[0], &msg, 0, 0, 0, 0));
    });
    auto monitor = confined.monitor(filter);
    auto violation = expect_violation(monitor);
    CHECK(violation.syscall_name == "sendmsg");
    CHECK(violation.action == ViolationAction::Errno);
    auto outcome = confined.child->wait();
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EPERM);
}

TEST_CASE("on_violation = errno: the plugin gets EPERM and the host a report", "[notify]") {
    auto filter = notifying_filter(policy_with(ViolationAction::Errno, {}, {"openat"}));
    ConfinedChild confined(filter, [] { return exit_code_of(open("/etc/hostname", O_RDONLY)); });
    auto monitor = confined.monitor(filter);
    auto violation = expect_violation(monitor);
    CHECK(violation.syscall_name == "openat");
    CHECK(violation.action == ViolationAction::Errno);
    CHECK_THAT(violation.describe("p"), Catch::EndsWith("openat (257): refused with EPERM; allow it with syscalls.allow = [\"openat\"]"));
    auto outcome = confined.child->wait();
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EPERM);
}

TEST_CASE("on_violation = log continues plain violations but never sandbox denials", "[notify]") {
    auto filter = notifying_filter(policy_with(ViolationAction::Log, {"socket"}, {"getppid"}));
    const pid_t host_pid = getpid();
    ConfinedChild confined(filter, [&] {
        if (syscall(SYS_getppid) != host_pid) return 1;  // continued: the real answer
        if (socket(AF_INET, SOCK_STREAM, 0) >= 0) return 2;
        return errno == EPERM ? 0 : 3;
    });
    auto monitor = confined.monitor(filter);
    auto first = expect_violation(monitor);
    CHECK(first.syscall_name == "getppid");
    CHECK(first.action == ViolationAction::Log);
    auto second = expect_violation(monitor);
    CHECK(second.syscall_name == "socket");
    CHECK(second.action == ViolationAction::Errno);
    auto outcome = confined.child->wait();
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("the argument rules under which log continues a call are built for on_violation = log only", "[notify]") {
    // clone is left out of the allowlist, so under log its namespace flags still need if_allowed.
    auto log_policy = policy_with(ViolationAction::Log);
    log_policy.allowed.erase("clone");
    auto log_rules = build_filter_rules(log_policy, {}, {}, 0x1234);
    REQUIRE(log_rules.ok());
    CHECK(log_rules->if_allowed_built);
    CHECK(log_rules->if_allowed.count(SYS_clone) == 1);
    for (auto action : {ViolationAction::Kill, ViolationAction::Errno}) {
        auto policy = policy_with(action);
        policy.allowed.erase("clone");
        auto rules = build_filter_rules(policy, {}, {}, 0x1234);
        REQUIRE(rules.ok());
        CHECK_FALSE(rules->if_allowed_built);  // a log monitor given these refuses every call
        CHECK(rules->if_allowed.empty());
        CHECK(rules->syscalls.size() == log_rules->syscalls.size());
    }
}

TEST_CASE("always-denied syscalls are reported by name", "[notify]") {
    auto filter = notifying_filter(policy_with(ViolationAction::Kill));
    ConfinedChild confined(filter, [] {
        syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
        return 0;
    });
    auto monitor = confined.monitor(filter);
    auto violation = expect_violation(monitor);
    CHECK(violation.syscall_name == "ptrace");
    CHECK(violation.action == ViolationAction::Kill);
    auto outcome = confined.child->wait();
    CHECK(outcome.signal == SIGKILL);
}

TEST_CASE("a child that dies before the hand-off is reported, not waited for", "[notify]") {
    int pair[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
    airlock::UniqueFd host_end(pair[0]);
    ChildProcess child([] { return 3; });
    close(pair[1]);
    auto listener = receive_seccomp_listener(host_end.get(), timeout_ms);
    REQUIRE_FALSE(listener.ok());
    CHECK(listener.status().code() == airlock::StatusCode::PeerClosed);
    CHECK(child.wait().exit_code == 3);
}

TEST_CASE("handle_one does not block when nothing is pending", "[notify]") {
    auto filter = notifying_filter(policy_with(ViolationAction::Kill, {}, {"getppid"}));
    int go[2];
    REQUIRE(pipe2(go, O_CLOEXEC) == 0);
    ConfinedChild confined(filter, [&] {
        char byte;
        if (read(go[0], &byte, 1) != 1) return 1;
        syscall(SYS_getppid);
        return 0;
    });
    close(go[0]);
    auto monitor = confined.monitor(filter);
    auto idle = monitor.handle_one(0);
    REQUIRE(idle.ok());
    CHECK_FALSE(idle->has_value());
    REQUIRE(write(go[1], "g", 1) == 1);
    close(go[1]);
    CHECK(expect_violation(monitor).syscall_name == "getppid");
    CHECK(confined.child->wait().signal == SIGKILL);
}

TEST_CASE("the launched plugin does not inherit the seccomp listener", "[notify][exec]") {
    auto filter = notifying_filter(policy_with(ViolationAction::Errno));
    const char* probe = AIRLOCK_SANDBOX_PROBE;
    int exe = open(probe, O_PATH | O_CLOEXEC);
    REQUIRE(exe >= 0);
    auto tag = filter.exec_tag();
    int pair[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
    airlock::UniqueFd host_end(pair[0]);
    REQUIRE(prepare_listener_handoff(host_end.get()).ok());
    auto program = filter.program();
    ChildProcess child([&] {
        int listener = -1;
        if (set_no_new_privs() || apply_seccomp_in_child(program, &listener)) return setup_failed;
        if (send_seccomp_listener(pair[1], listener, tag)) return setup_failed + 1;
        // The listener's number in decimal, without allocating.
        char digits[12] = {};
        int n = listener, i = 10;
        do {
            digits[i--] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n > 0 && i >= 0);
        char* const argv[] = {const_cast<char*>("probe"), const_cast<char*>("fd"), &digits[i + 1], nullptr};
        char* const envp[] = {nullptr};
        exec_tagged(exe, argv, envp, tag);
        return setup_failed + 2;
    });
    close(pair[1]);
    close(exe);
    auto listener = receive_seccomp_listener(host_end.get(), timeout_ms);
    REQUIRE(listener.ok());
    auto outcome = child.wait();
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EBADF);
}
