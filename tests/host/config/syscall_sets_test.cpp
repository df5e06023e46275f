// The syscall tables are consistent, and profile + allow - deny resolves as documented.
#include <catch2/catch.hpp>

#include "airlock/host/syscall_sets.hpp"

using namespace airlock::host;

TEST_CASE("every name in the tables is a system call libseccomp knows") {
    for (const auto& name : always_denied_syscalls()) {
        INFO(name);
        CHECK(is_known_syscall(name));
        CHECK_FALSE(always_denied_reason(name).empty());
    }
    for (const auto& group : syscall_groups())
        for (const auto& member : group.members) {
            INFO(group.name << ": " << member);
            if (member.starts_with('@'))
                CHECK(find_syscall_group(member) != nullptr);
            else
                CHECK(is_known_syscall(member));
        }
}

TEST_CASE("no group or profile contains an always-denied system call") {
    for (const auto& group : syscall_groups())
        for (const auto& name : expand_syscall_names({group.name})) {
            INFO(group.name << " contains " << name);
            CHECK(always_denied_reason(name).empty());
        }
    for (const auto& profile : syscall_profiles())
        for (const auto& name : expand_syscall_names(profile.members)) {
            INFO(profile.name << " contains " << name);
            CHECK(always_denied_reason(name).empty());
        }
}

TEST_CASE("the always-denied list covers what the sandbox relies on") {
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace",
                             "process_vm_readv", "process_vm_writev", "bpf", "perf_event_open",
                             "userfaultfd", "keyctl", "add_key", "request_key", "mount", "umount2",
                             "pivot_root", "move_mount", "fsopen", "fsmount", "fsconfig", "fspick",
                             "open_tree", "mount_setattr", "unshare", "setns", "kexec_load",
                             "kexec_file_load", "init_module", "finit_module", "delete_module",
                             "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime",
                             "clock_adjtime", "adjtimex", "socket", "personality", "clone3"}) {
        INFO(name);
        CHECK(always_denied_syscalls().count(name) == 1);
    }
    CHECK(always_denied_syscalls().count("socketpair") == 0);
}

TEST_CASE("group and profile lookup") {
    REQUIRE(find_syscall_group("@timer") != nullptr);
    CHECK(find_syscall_group("timer") == nullptr);
    CHECK(find_syscall_group("@nope") == nullptr);
    REQUIRE(find_syscall_profile("default") != nullptr);
    REQUIRE(find_syscall_profile("minimal") != nullptr);
    CHECK(syscall_profiles().front().name == "default");
    CHECK(find_syscall_profile("strict") == nullptr);
}

TEST_CASE("native syscall numbers") {
    CHECK(native_syscall_number("read") == 0);
    CHECK_FALSE(native_syscall_number("no_such_call"));
#if defined(__x86_64__)
    CHECK(native_syscall_number("ptrace") == 101);
    CHECK(is_known_syscall("socketcall"));           // an i386 call libseccomp knows ...
    CHECK_FALSE(native_syscall_number("socketcall"));  // ... that does not exist here
#endif
}

TEST_CASE("nested groups expand") {
    const auto process = expand_syscall_names({"@process"});
    CHECK(process.count("fork") == 1);
    CHECK(process.count("clone") == 1);  // from @thread
    CHECK_THROWS_WITH(expand_syscall_names({"@nope"}),
                      Catch::Matchers::StartsWith("unknown syscall group \"@nope\"; known groups: @default, @basic-io"));
    CHECK_THROWS_WITH(expand_syscall_names({"opnat"}),
                      Catch::Matchers::StartsWith("unknown system call \"opnat\""));
}

TEST_CASE("the default profile covers a typical C++ program and keeps dangerous calls out") {
    const auto allowed = resolve_allowlist("default", {}, {});
    for (const char* name : {"execve", "execveat", "read", "write", "openat", "mmap", "mprotect",
                             "brk", "futex", "clone", "sendmsg", "recvmsg", "poll", "epoll_wait",
                             "rt_sigaction", "exit_group", "arch_prctl", "ioctl", "getrandom"}) {
        INFO(name);
        CHECK(allowed.count(name) == 1);
    }
    for (const char* name : {"fork", "vfork", "socket", "connect", "bind", "ptrace", "clone3",
                             "chmod", "fchmod", "setuid", "mount", "sync"}) {
        INFO(name);
        CHECK(allowed.count(name) == 0);
    }
}

TEST_CASE("minimal is a subset of default") {
    const auto minimal = resolve_allowlist("minimal", {}, {});
    const auto full = resolve_allowlist("default", {}, {});
    for (const auto& name : minimal) {
        INFO(name);
        CHECK(full.count(name) == 1);
    }
    CHECK(minimal.size() < full.size());
    CHECK(minimal.count("clone") == 0);
}

TEST_CASE("allow adds, deny removes, deny wins over allow") {
    const auto base = resolve_allowlist("minimal", {}, {});
    REQUIRE(base.count("timer_create") == 0);
    const auto with_timer = resolve_allowlist("minimal", {"@timer", "fork"}, {});
    CHECK(with_timer.count("timer_create") == 1);
    CHECK(with_timer.count("fork") == 1);
    const auto denied = resolve_allowlist("minimal", {"@timer"}, {"timer_create", "read"});
    CHECK(denied.count("timer_create") == 0);
    CHECK(denied.count("timer_delete") == 1);
    CHECK(denied.count("read") == 0);
    const auto group_denied = resolve_allowlist("default", {}, {"@network-io"});
    CHECK(group_denied.count("sendmsg") == 0);
    CHECK(group_denied.count("read") == 1);
}

TEST_CASE("always-denied calls cannot be allowed, directly or by denying nothing") {
    CHECK_THROWS_WITH(resolve_allowlist("default", {"ptrace"}, {}),
                      "ptrace is never allowed in a plugin: it lets a process read and control other processes");
    CHECK_THROWS_WITH(resolve_allowlist("default", {"io_uring_setup"}, {}),
                      "io_uring_setup is never allowed in a plugin: io_uring runs I/O outside the seccomp filter");
    CHECK_THROWS_WITH(resolve_allowlist("default", {"socket"}, {}),
                      "socket is never allowed in a plugin: a plugin gets sockets only as grants "
                      "(socketpair is allowed)");
    // Denying an always-denied call is redundant, not an error.
    CHECK(resolve_allowlist("default", {}, {"ptrace"}).count("ptrace") == 0);
}

TEST_CASE("unknown profile or names are errors") {
    CHECK_THROWS_WITH(resolve_allowlist("strict", {}, {}),
                      "unknown syscall profile \"strict\"; known profiles: \"default\", \"minimal\"");
    CHECK_THROWS_AS(resolve_allowlist("default", {"not_a_call"}, {}), std::invalid_argument);
    CHECK_THROWS_AS(resolve_allowlist("default", {}, {"@not-a-group"}), std::invalid_argument);
}

TEST_CASE("calls of other architectures are accepted and left out of the allowlist") {
#if defined(__x86_64__)
    const auto allowed = resolve_allowlist("minimal", {"socketcall", "mmap2"}, {});
    CHECK(allowed.count("socketcall") == 0);
    CHECK(allowed.count("mmap2") == 0);
#endif
}
