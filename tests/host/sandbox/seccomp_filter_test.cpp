// The compiled seccomp filter, loaded in real forked children.
#include "sandbox_test_support.hpp"

#include <airlock/host/child_confinement.hpp>
#include <airlock/host/seccomp_filter.hpp>

#include <catch2/catch.hpp>

#include <linux/fs.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

constexpr int setup_failed = 120;

CompiledSeccompFilter compile_or_fail(const SyscallPolicy& policy, const Limits& limits = {},
                                      SeccompFilterOptions options = {false, false}) {
    auto filter = compile_seccomp_filter(policy, limits, options);
    INFO(filter.status().to_string());
    REQUIRE(filter.ok());
    return std::move(*filter);
}

// Child side: no_new_privs + the filter, no listener (the kernel acts alone).
int confine(const sock_fprog& program) {
    if (set_no_new_privs() != 0 || apply_seccomp_in_child(program, nullptr) != 0) return setup_failed;
    return 0;
}

long try_io_uring_setup() {
    io_uring_params params{};
    return syscall(SYS_io_uring_setup, 4, &params);
}

} // namespace

TEST_CASE("the compiled filter is a loadable BPF program with a secret exec tag", "[seccomp]") {
    auto first = compile_or_fail(policy_with(ViolationAction::Kill));
    auto second = compile_or_fail(policy_with(ViolationAction::Kill));
    CHECK(first.instructions().size() > 10);
    CHECK(first.instructions().size() <= BPF_MAXINSNS);
    CHECK(first.program().len == first.instructions().size());
    CHECK(first.exec_tag() != 0);
    CHECK(first.exec_tag() != second.exec_tag());
    CHECK_FALSE(first.uses_notification());
}

TEST_CASE("an allowlist naming an unknown syscall is refused", "[seccomp]") {
    auto filter = compile_seccomp_filter(policy_with(ViolationAction::Kill, {"no_such_syscall"}), {}, {});
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.status().code() == airlock::StatusCode::InvalidParameter);
    CHECK_THAT(filter.status().message(), Catch::Contains("no_such_syscall"));
}

TEST_CASE("allowed syscalls work and forbidden ones get the on_violation action", "[seccomp]") {
    auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {}, {"getppid"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        if (getpid() <= 0) return 121;
        return exit_code_of(syscall(SYS_getppid));
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EPERM);
}

TEST_CASE("on_violation = kill without notification kills the process with SIGSYS", "[seccomp]") {
    auto filter = compile_or_fail(policy_with(ViolationAction::Kill, {}, {"getppid"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        syscall(SYS_getppid);
        return 0;
    });
    CHECK_FALSE(outcome.exited);
    CHECK(outcome.signal == SIGSYS);
}

TEST_CASE("always-denied syscalls are refused even when the allowlist names them", "[seccomp]") {
    // Control: io_uring really is open on this kernel, so the refusal below is the filter's.
    auto control = run_in_child([] { return exit_code_of(try_io_uring_setup()); });
    REQUIRE(control.exited);
    REQUIRE(control.exit_code == 0);

    auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {"io_uring_setup", "ptrace", "unshare"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        if (try_io_uring_setup() >= 0 || errno != EPERM) return 1;
        if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) >= 0 || errno != EPERM) return 2;
        if (syscall(SYS_unshare, CLONE_NEWUSER) >= 0 || errno != EPERM) return 3;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
    CHECK(filter.violation_policy().never_continue.count(SYS_io_uring_setup) == 1);
    CHECK(filter.violation_policy().never_continue.count(SYS_ptrace) == 1);
}

TEST_CASE("socket() is denied, connected UNIX socketpairs are allowed", "[seccomp]") {
    auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {"socket"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM) return 1;
        if (socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EPERM) return 2;
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return 3;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 4;
        // An unconnected datagram socket could address any pathname socket.
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == 0 || errno != EPERM) return 5;
        if (socketpair(AF_INET, SOCK_STREAM, 0, pair) == 0 || errno != EPERM) return 6;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("processes = 1: threads work, fork and non-thread clone are denied", "[seccomp]") {
    Limits limits;
    limits.processes = 1;
    auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {"fork", "vfork", "clone3"}), limits);
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        // glibc tries clone3 first (ENOSYS here) and falls back to clone(CLONE_THREAD).
        int value = 0;
        std::thread worker([&] { value = 42; });
        worker.join();
        if (value != 42) return 1;
        if (fork() >= 0) _exit(99);  // child of a failed test: leave at once
        if (errno != EPERM) return 2;
        if (syscall(SYS_fork) >= 0 || errno != EPERM) return 3;
        if (syscall(SYS_vfork) >= 0 || errno != EPERM) return 4;
        if (syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) >= 0 || errno != EPERM) return 5;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("clone never creates namespaces, even with processes unlimited", "[seccomp]") {
    auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {"fork", "wait4"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        if (syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) >= 0) _exit(99);
        if (errno != EPERM) return 1;
        pid_t child = fork();  // plain fork is fine here
        if (child == 0) _exit(7);
        if (child < 0) return 2;
        int status = 0;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 7) return 3;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("clone3 and syscalls newer than the policy answer ENOSYS", "[seccomp]") {
    // mseal (462, Linux 6.10) is newer than libseccomp 2.5.4's table; the kernel has it.
    constexpr int mseal_nr = 462;
    char* known = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, mseal_nr);
    const bool libseccomp_knows_mseal = known != nullptr;
    std::free(known);
    auto control = run_in_child([] { return exit_code_of(syscall(mseal_nr, 1, 0, 0)); });
    REQUIRE(control.exited);
    CHECK(control.exit_code == EINVAL);  // the kernel implements it: bad alignment

    auto filter = compile_or_fail(policy_with(ViolationAction::Kill, {"clone3"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        unsigned long long args[11] = {};
        if (syscall(SYS_clone3, args, sizeof args) >= 0 || errno != ENOSYS) return 1;
        if (!libseccomp_knows_mseal && (syscall(mseal_nr, 1, 0, 0) >= 0 || errno != ENOSYS)) return 2;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("x32 system calls are not a way around the filter", "[seccomp]") {
    constexpr long x32_bit = 0x40000000;
    auto filter = compile_or_fail(policy_with(ViolationAction::Errno));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        syscall(x32_bit | SYS_getpid);  // an allowed call, through the x32 ABI
        return 0;
    });
    CHECK_FALSE(outcome.exited);
    CHECK(outcome.signal == SIGSYS);
}

TEST_CASE("sendto names a destination only with the datagram opt-in", "[seccomp]") {
    TempDir dir;
    const std::string victim_path = (dir.path() / "victim.sock").string();
    int victim = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un victim_address{};
    victim_address.sun_family = AF_UNIX;
    std::strncpy(victim_address.sun_path, victim_path.c_str(), sizeof victim_address.sun_path - 1);
    REQUIRE(::bind(victim, reinterpret_cast<sockaddr*>(&victim_address), sizeof victim_address) == 0);

    for (bool opt_in : {false, true}) {
        INFO("datagram opt-in " << opt_in);
        SeccompFilterOptions options{false, false, opt_in};
        auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {"sendto", "socketpair"}), {}, options);
        auto program = filter.program();
        auto outcome = run_in_child([&] {
            // A datagram socket made before the filter, as a connect grant would be.
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return setup_failed;
            if (int rc = confine(program)) return rc;
            if (::sendto(pair[0], "x", 1, 0, nullptr, 0) != 1) return 122;  // the connected peer: always
            return exit_code_of(::sendto(pair[0], "y", 1, 0, reinterpret_cast<const sockaddr*>(&victim_address),
                                         sizeof victim_address));
        });
        REQUIRE(outcome.exited);
        CHECK(outcome.exit_code == (opt_in ? 0 : EPERM));
        char buffer[4];
        CHECK((::recv(victim, buffer, sizeof buffer, MSG_DONTWAIT) == 1) == opt_in);
    }
    ::close(victim);
}

TEST_CASE("ioctl: only the reviewed requests run, unless a device grant hands over every one", "[seccomp]") {
    char path[] = "/tmp/airlock-ioctl-XXXXXX";
    const int file = ::mkstemp(path);
    REQUIRE(file >= 0);
    ::unlink(path);
    int flags = 0;
    // Setting the flags a file already has changes nothing; root may, as any owner may.
    const bool has_flags = ::ioctl(file, FS_IOC_GETFLAGS, &flags) == 0;
    for (bool device : {false, true}) {
        INFO("device grant: " << device);
        SeccompFilterOptions options{false, false};
        options.device_ioctls = device;
        auto filter = compile_or_fail(policy_with(ViolationAction::Kill), {}, options);
        auto program = filter.program();
        auto outcome = run_in_child([&] {
            if (int rc = confine(program)) return rc;
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 1;
            int queued = -1;
            if (::ioctl(pair[0], FIONREAD, &queued) != 0 || queued != 0) return 2;
            if (::ioctl(file, FIOCLEX) != 0 || ::ioctl(file, FIONCLEX) != 0) return 3;
            int size = 0;
            if (::ioctl(file, FIGETBSZ, &size) != 0) return 4;
            winsize window{};
            if (::ioctl(file, TIOCGWINSZ, &window) == 0 || errno != ENOTTY) return 5;  // runs: not a terminal
            // The kernel reads the request's low 32 bits: junk above them changes nothing.
            if (::syscall(SYS_ioctl, file, (1ULL << 32) | FIOCLEX, 0) != 0) return 6;
            int copy = flags;
            const long set = ::syscall(SYS_ioctl, file, FS_IOC_SETFLAGS, &copy);
            const long set_high = ::syscall(SYS_ioctl, file, (1ULL << 32) | FS_IOC_SETFLAGS, &copy);
            ifreq entries[4] = {};
            ifconf list{};
            list.ifc_len = sizeof entries;
            list.ifc_req = entries;
            const long interfaces = ::ioctl(pair[0], SIOCGIFCONF, &list);
            if (!device) {
                if (set >= 0 || errno != ENOSYS) return 7;
                if (set_high >= 0 || interfaces >= 0) return 8;
            } else {
                if (has_flags && (set != 0 || set_high != 0)) return 9;
                if (interfaces != 0) return 10;
            }
            return 0;
        });
        REQUIRE(outcome.exited);
        CHECK(outcome.exit_code == 0);
    }
    ::close(file);
}

TEST_CASE("clone with CLONE_PARENT is refused: a plugin's processes are its own children", "[seccomp]") {
    auto filter = compile_or_fail(policy_with(ViolationAction::Errno, {"fork", "wait4"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        // Were it allowed, the new process would be this test's child, not the confined one's.
        if (syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0) == 0) _exit(99);
        if (errno != EPERM) return 1;
        if (syscall(SYS_clone, CLONE_PARENT | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, 0, 0, 0) >= 0) return 2;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("CPU-time clocks: the plugin's own, never another process's", "[seccomp]") {
    // The clockid of process `pid`'s CPU time (CPUCLOCK_SCHED), as glibc's clock_getcpuclockid makes it.
    const auto process_clock = [](pid_t pid) { return static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | 2); };
    const pid_t test = ::getpid();
    timespec control{};
    REQUIRE(::clock_gettime(process_clock(test), &control) == 0);  // no permission check in the kernel
    auto filter = compile_or_fail(policy_with(ViolationAction::Kill, {"clock_getres", "timer_create", "timer_delete"}));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        timespec now{};
        if (::clock_gettime(CLOCK_MONOTONIC, &now) != 0 || ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) != 0) return 1;
        if (::syscall(SYS_clock_gettime, process_clock(0), &now) != 0) return 2;  // pid 0: itself
        clockid_t thread_clock{};
        if (::pthread_getcpuclockid(::pthread_self(), &thread_clock) != 0) return 3;
        if (::syscall(SYS_clock_gettime, thread_clock, &now) != 0) return 4;  // by tid: the kernel keeps it to its own
        if (::syscall(SYS_clock_gettime, process_clock(test), &now) >= 0 || errno != ENOSYS) return 5;
        if (::syscall(SYS_clock_getres, process_clock(test), &now) >= 0 || errno != ENOSYS) return 6;
        const timespec brief{0, 1000};
        if (::syscall(SYS_clock_nanosleep, process_clock(test), 0, &brief, nullptr) >= 0 || errno != ENOSYS) return 7;
        sigevent event{};
        event.sigev_notify = SIGEV_NONE;
        long timer = 0;
        if (::syscall(SYS_timer_create, process_clock(test), &event, &timer) >= 0 || errno != ENOSYS) return 8;
        if (::syscall(SYS_timer_create, process_clock(0), &event, &timer) != 0) return 9;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("madvise: every advice but MADV_MERGEABLE (KSM, like PR_SET_MEMORY_MERGE)", "[seccomp]") {
    auto filter = compile_or_fail(policy_with(ViolationAction::Kill));
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        if (int rc = confine(program)) return rc;
        const std::size_t size = 1 << 20;
        void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) return 1;
        if (::madvise(memory, size, MADV_MERGEABLE) == 0 || errno != EPERM) return 2;
        if (::syscall(SYS_madvise, memory, size, (1ULL << 32) | MADV_MERGEABLE) == 0 || errno != EPERM) return 3;
        for (int advice : {MADV_NORMAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_UNMERGEABLE, MADV_HUGEPAGE,
                           MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_COLD, MADV_PAGEOUT})
            if (::madvise(memory, size, advice) != 0 && errno != EINVAL) return 10 + advice;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("a device grant, and only one, lifts the ioctl list", "[seccomp]") {
    PluginConfig plugin;
    GrantConfig grant;
    grant.kind = GrantKind::File;
    grant.path = "/dev/null";
    plugin.grants.push_back(grant);
    CHECK_FALSE(seccomp_filter_options_for(plugin, true).device_ioctls);
    plugin.grants.back().device = true;
    CHECK(seccomp_filter_options_for(plugin, true).device_ioctls);
}
