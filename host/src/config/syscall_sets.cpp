// The syscall tables behind syscall_sets.hpp. Kept as C++ data (not a TOML file) so the
// host cannot start with a missing or edited table: what it enforces is what it was built with.
#include "airlock/host/syscall_sets.hpp"

#include "airlock/host/native_syscall_table.hpp"

#include <seccomp.h>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace airlock::host {
namespace {

struct DeniedEntry {
    const char* name;
    const char* reason;
};

// Each entry: why a plugin must never make this call. Kept short; docs/configuration.md
// repeats the list for users.
constexpr DeniedEntry kAlwaysDenied[] = {
    // Interfaces that bypass or defeat the seccomp filter itself.
    {"io_uring_setup", "io_uring runs I/O outside the seccomp filter"},
    {"io_uring_enter", "io_uring runs I/O outside the seccomp filter"},
    {"io_uring_register", "io_uring runs I/O outside the seccomp filter"},
    {"clone3", "its flags live in memory the filter cannot inspect; the sandbox answers ENOSYS "
               "so libc falls back to clone, whose flags it can check"},
    // Reaching into other processes.
    {"ptrace", "it lets a process read and control other processes"},
    {"process_vm_readv", "it reads another process's memory"},
    {"process_vm_writev", "it writes another process's memory"},
    {"process_madvise", "it acts on another process's memory"},
    {"pidfd_getfd", "it steals descriptors from another process"},
    {"kcmp", "it probes other processes' kernel objects"},
    // Kernel attack surface and global kernel state.
    {"bpf", "it loads programs into the kernel"},
    {"perf_event_open", "it exposes kernel and hardware performance data and is a frequent "
                        "source of kernel exploits"},
    {"userfaultfd", "it lets a process stall the kernel at will, a classic exploit primitive"},
    {"keyctl", "the kernel keyring is shared state outside the sandbox"},
    {"add_key", "the kernel keyring is shared state outside the sandbox"},
    {"request_key", "the kernel keyring is shared state outside the sandbox"},
    {"modify_ldt", "it is a rarely used, exploit-prone CPU interface"},
    {"iopl", "it grants raw hardware port access"},
    {"ioperm", "it grants raw hardware port access"},
    {"syslog", "it reads the kernel log"},
    {"lookup_dcookie", "it is a profiling interface that leaks kernel paths"},
    {"open_by_handle_at", "it opens files by handle, bypassing path-based confinement"},
    {"name_to_handle_at", "it produces handles for open_by_handle_at, which is denied"},
    {"fanotify_init", "it watches file system activity outside the sandbox"},
    {"quotactl", "it changes file system quotas"},
    {"quotactl_fd", "it changes file system quotas"},
    {"nfsservctl", "it controls the kernel NFS server"},
    {"uselib", "it is an obsolete loader interface"},
    {"_sysctl", "it changes kernel parameters"},
    {"sysfs", "it is an obsolete interface to kernel file system tables"},
    {"ustat", "it is an obsolete interface to mounted file systems"},
    // Mount and namespace changes: they could undo Landlock's view or escape it.
    {"mount", "mounts change the file system view the sandbox relies on"},
    {"umount2", "mounts change the file system view the sandbox relies on"},
    {"pivot_root", "it changes the root of the file system view"},
    {"chroot", "it changes the root of the file system view"},
    {"move_mount", "mounts change the file system view the sandbox relies on"},
    {"fsopen", "mounts change the file system view the sandbox relies on"},
    {"fsmount", "mounts change the file system view the sandbox relies on"},
    {"fsconfig", "mounts change the file system view the sandbox relies on"},
    {"fspick", "mounts change the file system view the sandbox relies on"},
    {"open_tree", "mounts change the file system view the sandbox relies on"},
    {"mount_setattr", "mounts change the file system view the sandbox relies on"},
    {"unshare", "new namespaces give a process privileges inside them"},
    {"setns", "entering namespaces can leave the sandbox's view"},
    // Whole-machine state.
    {"kexec_load", "it replaces the running kernel"},
    {"kexec_file_load", "it replaces the running kernel"},
    {"init_module", "it loads kernel modules"},
    {"finit_module", "it loads kernel modules"},
    {"delete_module", "it unloads kernel modules"},
    {"create_module", "it loads kernel modules"},
    {"reboot", "it restarts or halts the machine"},
    {"swapon", "it changes the machine's swap"},
    {"swapoff", "it changes the machine's swap"},
    {"acct", "it switches process accounting for the whole machine"},
    {"settimeofday", "it sets the machine's clock"},
    {"clock_settime", "it sets the machine's clock"},
    {"clock_adjtime", "it adjusts the machine's clock"},
    {"adjtimex", "it adjusts the machine's clock"},
    {"sethostname", "it renames the machine"},
    {"setdomainname", "it renames the machine's domain"},
    {"vhangup", "it hangs up the controlling terminal"},
    // Ambient network authority: plugins get sockets as grants, already connected.
    {"socket", "a plugin gets sockets only as grants (socketpair is allowed)"},
    // Changing how the kernel interprets this process.
    {"personality", "it can disable address space randomization and change syscall semantics"},
};

using Names = std::vector<std::string>;

// Groups, in documentation order. Members may name other groups. Calls that exist only on
// 32-bit architectures are left out: the host is built per architecture and such names
// would be dropped anyway.
const std::vector<SyscallGroup>& group_table() {
    static const std::vector<SyscallGroup> groups = {
        // Calls here and in @thread/@system-info/@resources that take a pid work on the caller
        // only (pid 0): the filter refuses any other pid (seccomp_rules.cpp).
        {"@default", "calls every program makes: exit, ids, clocks, futexes, rseq",
         Names{"clock_getres", "clock_gettime", "clock_nanosleep", "exit", "exit_group",
               "futex", "get_robust_list", "getegid", "geteuid", "getgid", "getgroups",
               "getpgid", "getpgrp", "getpid", "getppid", "getrandom", "getresgid",
               "getresuid", "getrlimit", "getsid", "gettid", "gettimeofday", "getuid",
               "membarrier", "nanosleep", "pause", "prlimit64", "restart_syscall", "rseq",
               "rt_sigreturn", "sched_yield", "set_robust_list", "set_tid_address", "time"}},
        {"@basic-io", "read, write, seek and close descriptors the plugin already has",
         Names{"close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv",
               "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv", "write",
               "writev"}},
        // Path-based xattr reads and inotify are not here: Landlock does not check them, so
        // they would reach beyond the grants (@xattr-read-by-path, @file-watch).
        {"@file-system", "open, stat, list, create, rename and delete files (Landlock decides where)",
         Names{"access", "chdir", "creat", "faccessat", "faccessat2", "fadvise64", "fallocate",
               "fchdir", "fcntl", "fgetxattr", "flistxattr", "flock", "fstat", "fstatfs",
               "ftruncate", "getcwd", "getdents", "getdents64", "link",
               "linkat", "lstat", "mkdir", "mkdirat", "mknod",
               "mknodat", "newfstatat", "open", "openat", "openat2", "readahead", "readlink",
               "readlinkat", "rename", "renameat", "renameat2", "rmdir", "stat", "statfs",
               "statx", "symlink", "symlinkat", "truncate", "unlink", "unlinkat"}},
        {"@file-metadata", "change modes, timestamps and extended attributes (Landlock cannot "
                           "restrict these, so a read-only grant would not stop them)",
         Names{"chmod", "fchmod", "fchmodat", "fchmodat2", "fremovexattr", "fsetxattr",
               "futimesat", "lremovexattr", "lsetxattr", "removexattr", "setxattr", "utime",
               "utimensat", "utimes"}},
        {"@chown", "change file ownership",
         Names{"chown", "fchown", "fchownat", "lchown"}},
        {"@io-event", "event loops: poll, select, epoll, eventfd",
         Names{"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2",
               "epoll_wait", "eventfd", "eventfd2", "poll", "ppoll", "pselect6", "select"}},
        {"@ipc", "pipes and memfds (System V IPC and POSIX message queues are machine-wide "
                 "namespaces and are left out)",
         Names{"memfd_create", "pipe", "pipe2"}},
        {"@memory", "map, protect, resize and advise memory",
         Names{"brk", "madvise", "mincore", "mmap", "mprotect", "mremap", "munmap"}},
        {"@memlock", "lock memory into RAM (without this group RLIMIT_MEMLOCK is 0)",
         Names{"mlock", "mlock2", "mlockall", "munlock", "munlockall"}},
        {"@thread", "create and coordinate threads (with processes = 1 the sandbox lets clone "
                    "create threads only)",
         Names{"clone", "futex", "get_robust_list", "gettid", "rseq", "sched_getaffinity",
               "sched_yield", "set_robust_list", "set_tid_address", "exit"}},
        {"@process", "create, run and wait for processes; includes @thread",
         Names{"@thread", "execve", "execveat", "fork", "vfork", "wait4", "waitid", "kill",
               "tgkill", "tkill", "pidfd_open", "pidfd_send_signal", "getrusage", "times"}},
        {"@signal", "handle, block, wait for and raise signals (Landlock scopes kill to the "
                    "plugin's own processes)",
         Names{"kill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
               "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
               "sigaltstack", "signalfd", "signalfd4", "tgkill", "tkill"}},
        {"@timer", "interval timers, POSIX timers and timerfds",
         Names{"alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
               "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
               "timerfd_gettime", "timerfd_settime", "times"}},
        {"@network-io", "send and receive on sockets the plugin was given; no socket(), bind(), "
                        "listen() or connect()",
         Names{"accept", "accept4", "getpeername", "getsockname", "getsockopt", "recvfrom",
               "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
               "socketpair"}},
        // sync() flushes every file system on the machine; syncfs() covers a plugin's own files.
        {"@sync", "flush the plugin's file data to storage (not sync(), which flushes the "
                  "whole machine)",
         Names{"fdatasync", "fsync", "msync", "sync_file_range", "syncfs"}},
        {"@aio", "Linux native asynchronous I/O (io_uring is always denied)",
         Names{"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup",
               "io_submit"}},
        {"@setuid", "change user and group ids (with no_new_privs these can only drop "
                    "privileges)",
         Names{"setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid",
               "setresuid", "setreuid", "setuid"}},
        {"@resources", "change scheduling, priorities, CPU affinity, NUMA policy and rlimits",
         Names{"ioprio_set", "mbind", "sched_setaffinity", "sched_setattr", "sched_setparam",
               "sched_setscheduler", "set_mempolicy", "setpriority", "setrlimit"}},
        {"@system-info", "read facts about the machine and the process: uname, sysinfo, "
                         "scheduling parameters, usage",
         Names{"getcpu", "getpriority", "getrusage", "ioprio_get", "sched_get_priority_max",
               "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
               "sched_getparam", "sched_getscheduler", "sched_rr_get_interval", "sysinfo",
               "times", "uname"}},
        {"@sandbox", "tighten one's own confinement further (Landlock, seccomp); used by the "
                     "SDK's self-lockdown",
         Names{"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
               "seccomp"}},
        {"@pkey", "memory protection keys",
         Names{"pkey_alloc", "pkey_free", "pkey_mprotect"}},
        {"@xattr-read-by-path", "read extended attributes by path (Landlock does not check these: "
                                "they reach any file the plugin can name, inside its grants or not)",
         Names{"getxattr", "lgetxattr", "listxattr", "llistxattr"}},
        {"@file-watch", "watch files with inotify (Landlock does not check inotify_add_watch: it "
                        "sees events on any path the plugin can name, inside its grants or not)",
         Names{"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch"}},
    };
    return groups;
}

const std::vector<SyscallProfile>& profile_table() {
    static const std::vector<SyscallProfile> profiles = {
        {"default",
         "a typical dynamically linked C/C++ program: loader, malloc, threads, stdio, files "
         "beneath its grants, event loops, the Airlock SDK's messaging",
         Names{"@default", "@basic-io", "@file-system", "@io-event", "@ipc", "@memory",
               "@thread", "@signal", "@timer", "@network-io", "@sync", "@system-info",
               "@sandbox",
               // glibc start-up sets the thread pointer with arch_prctl; stdio asks isatty()
               // via ioctl; pthread_setname_np and the SDK's self-lockdown use prctl.
               "arch_prctl", "ioctl", "prctl",
               // The launch itself; the sandbox lets exactly one of these through.
               "execve", "execveat"}},
        {"minimal",
         "a single-threaded program that starts, talks over the descriptors it was given "
         "and exits: no threads, no file creation, no timers",
         Names{"@default", "@basic-io", "@memory",
               // dynamic loader: find and map the libraries beneath system_paths
               "access", "openat", "newfstatat", "fstat", "fcntl", "readlink",
               "arch_prctl", "ioctl", "rt_sigaction", "rt_sigprocmask",
               // the Airlock connection
               "sendmsg", "recvmsg", "poll", "ppoll",
               "execve", "execveat"}},
    };
    return profiles;
}

// Adds `entry` (a syscall or @group) to `out`, following nested groups.
void expand_into(std::string_view entry, std::set<std::string>& out, int depth) {
    if (depth > 8)  // our own tables are at most two levels deep; guard against a cycle
        throw std::logic_error("syscall group nesting too deep at " + std::string(entry));
    if (!entry.empty() && entry.front() == '@') {
        const SyscallGroup* group = find_syscall_group(entry);
        if (group == nullptr) {
            std::string allowed;
            for (const auto& g : syscall_groups())
                allowed += (allowed.empty() ? "" : ", ") + g.name;
            throw std::invalid_argument("unknown syscall group \"" + std::string(entry) +
                                        "\"; known groups: " + allowed);
        }
        for (const auto& member : group->members)
            expand_into(member, out, depth + 1);
        return;
    }
    if (!is_known_syscall(entry))
        throw std::invalid_argument("unknown system call \"" + std::string(entry) +
                                    "\"; use a Linux system call name as in syscalls(2) "
                                    "(e.g. \"openat\") or an @group");
    out.emplace(entry);
}

// Without the build's syscall table (a libseccomp other than the build's), every name our
// tables use is resolved once by libseccomp (older versions scan their table for a name).
// Values are libseccomp's answer as is: __NR_SCMP_ERROR for unknown, another negative number
// for calls that exist only on other architectures.
const std::unordered_map<std::string, int>& table_numbers() {
    static const std::unordered_map<std::string, int> numbers = [] {
        std::unordered_map<std::string, int> result;
        auto add = [&](const std::string& name) {
            if (!name.starts_with('@'))
                result.emplace(name, seccomp_syscall_resolve_name(name.c_str()));
        };
        for (const auto& entry : kAlwaysDenied)
            add(entry.name);
        for (const auto& group : group_table())
            for (const auto& member : group.members)
                add(member);
        for (const auto& profile : profile_table())
            for (const auto& member : profile.members)
                add(member);
        return result;
    }();
    return numbers;
}

// Each profile expanded once; profiles are fixed at build time.
const std::set<std::string>& expanded_profile(const SyscallProfile& profile) {
    static const std::map<std::string, std::set<std::string>> expanded = [] {
        std::map<std::string, std::set<std::string>> result;
        for (const auto& p : profile_table())
            result.emplace(p.name, expand_syscall_names(p.members));
        return result;
    }();
    return expanded.at(profile.name);
}

} // namespace

const std::set<std::string>& always_denied_syscalls() {
    static const std::set<std::string> names = [] {
        std::set<std::string> result;
        for (const auto& entry : kAlwaysDenied)
            result.emplace(entry.name);
        return result;
    }();
    return names;
}

std::string_view always_denied_reason(std::string_view name) {
    for (const auto& entry : kAlwaysDenied)
        if (name == entry.name)
            return entry.reason;
    return {};
}

const std::vector<SyscallGroup>& syscall_groups() { return group_table(); }

const SyscallGroup* find_syscall_group(std::string_view name) {
    const auto& groups = group_table();
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const SyscallGroup& g) { return g.name == name; });
    return it == groups.end() ? nullptr : &*it;
}

std::string group_of_syscall(std::string_view syscall) {
    for (const auto& group : group_table())
        for (const auto& member : group.members)
            if (member == syscall) return group.name;
    return {};
}

const std::vector<SyscallProfile>& syscall_profiles() { return profile_table(); }

const SyscallProfile* find_syscall_profile(std::string_view name) {
    const auto& profiles = profile_table();
    auto it = std::find_if(profiles.begin(), profiles.end(),
                           [&](const SyscallProfile& p) { return p.name == name; });
    return it == profiles.end() ? nullptr : &*it;
}

bool is_known_syscall(std::string_view name) {
    // libseccomp returns __NR_SCMP_ERROR for names it has never heard of, and a negative
    // pseudo number for calls that exist only on other architectures.
    if (native_syscall_table_in_use())
        return !name.empty() && native_syscall_resolve_name(name) != __NR_SCMP_ERROR;
    const auto& cached = table_numbers();
    if (auto it = cached.find(std::string(name)); it != cached.end())
        return it->second != __NR_SCMP_ERROR;
    const std::string terminated(name);
    return !terminated.empty() && seccomp_syscall_resolve_name(terminated.c_str()) != __NR_SCMP_ERROR;
}

std::optional<int> native_syscall_number(std::string_view name) {
    if (native_syscall_table_in_use()) {
        const int number = native_syscall_resolve_name(name);
        return number < 0 ? std::nullopt : std::optional<int>(number);
    }
    const std::string terminated(name);
    const auto& cached = table_numbers();
    if (auto it = cached.find(terminated); it != cached.end())
        return it->second < 0 ? std::nullopt : std::optional<int>(it->second);
    const int number = seccomp_syscall_resolve_name(terminated.c_str());
    if (number < 0)
        return std::nullopt;
    return number;
}

std::set<std::string> expand_syscall_names(const std::vector<std::string>& names_and_groups) {
    std::set<std::string> result;
    for (const auto& entry : names_and_groups)
        expand_into(entry, result, 0);
    return result;
}

std::set<std::string> resolve_allowlist(std::string_view profile_name,
                                        const std::vector<std::string>& allow,
                                        const std::vector<std::string>& deny) {
    const SyscallProfile* profile = find_syscall_profile(profile_name);
    if (profile == nullptr) {
        std::string known;
        for (const auto& p : syscall_profiles())
            known += (known.empty() ? "\"" : ", \"") + p.name + "\"";
        throw std::invalid_argument("unknown syscall profile \"" + std::string(profile_name) +
                                    "\"; known profiles: " + known);
    }
    std::set<std::string> allowed = expanded_profile(*profile);
    for (const auto& entry : allow) {
        for (const auto& name : expand_syscall_names({entry})) {
            if (const auto reason = always_denied_reason(name); !reason.empty())
                throw std::invalid_argument(name + " is never allowed in a plugin: " +
                                            std::string(reason));
            allowed.insert(name);
        }
    }
    for (const auto& name : expand_syscall_names(deny))
        allowed.erase(name);
    // Profiles never name an always-denied call (tested), but the guarantee belongs here.
    for (const auto& name : always_denied_syscalls())
        allowed.erase(name);
    std::erase_if(allowed, [](const std::string& name) { return !native_syscall_number(name); });
    return allowed;
}

} // namespace airlock::host
