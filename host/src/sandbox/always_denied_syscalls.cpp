// The sandbox's own always-denied list. The config layer (syscall_sets.hpp) rejects these
// in allowlists too; keeping them here means a policy built by any other path still cannot
// grant them, and the sandbox does not depend on the config parser. A test checks that this
// list covers the config layer's (clone3 is handled separately: it answers ENOSYS).
#include "airlock/host/seccomp_filter.hpp"

namespace airlock::host {

const std::vector<const char*>& sandbox_always_denied_syscalls() {
    static const std::vector<const char*> names = {
        // io_uring performs I/O without going through seccomp at all.
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        // Reaching into other processes.
        "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
        "kcmp",
        // Kernel attack surface with no place in a plugin.
        "bpf", "perf_event_open", "userfaultfd",
        "keyctl", "add_key", "request_key",
        // Filesystem namespace changes (old and new mount API).
        "mount", "umount2", "pivot_root", "chroot",
        "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
        "unshare", "setns",
        // Opening files by handle skips path-based checks (Landlock, directory grants).
        "open_by_handle_at", "name_to_handle_at",
        // Whole-machine operations.
        "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "create_module",
        "reboot", "swapon", "swapoff", "acct",
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
        "quotactl", "quotactl_fd", "lookup_dcookie", "iopl", "ioperm", "modify_ldt",
        "syslog", "fanotify_init", "nfsservctl", "uselib", "_sysctl", "sysfs", "ustat",
        "sethostname", "setdomainname", "vhangup", "personality",
    };
    return names;
}

} // namespace airlock::host
