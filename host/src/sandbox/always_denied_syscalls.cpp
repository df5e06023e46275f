// The sandbox's own always-denied list. The config layer (syscall_sets.hpp) rejects these
// in allowlists too; keeping them here means a policy built by any other path still cannot
// grant them, and the sandbox does not depend on the config parser. A test checks that this
// list covers the config layer's (clone3 is handled separately: it answers ENOSYS).
#include "airlock/host/seccomp_filter.hpp"

#include <string_view>

namespace airlock::host {

namespace {

// The list by reason; the reason is what a violation report says.
struct DeniedFamily {
    std::string_view reason;
    std::vector<const char*> names;
};

const std::vector<DeniedFamily>& denied_families() {
    static const std::vector<DeniedFamily> families = {
        {"io_uring performs I/O without going through seccomp", {"io_uring_setup", "io_uring_enter", "io_uring_register"}},
        {"it reaches into other processes",
         {"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp"}},
        {"kernel attack surface with no place in a plugin",
         {"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key"}},
        {"it changes the filesystem namespace",
         {"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
          "move_mount", "mount_setattr", "unshare", "setns"}},
        {"opening files by handle skips the path-based checks (Landlock, directory grants)",
         {"open_by_handle_at", "name_to_handle_at"}},
        {"it acts on the whole machine",
         {"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
          "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
          "quotactl", "quotactl_fd", "lookup_dcookie", "iopl", "ioperm", "modify_ldt", "syslog",
          "fanotify_init", "nfsservctl", "uselib", "_sysctl", "sysfs", "ustat", "sethostname",
          "setdomainname", "vhangup", "personality"}},
    };
    return families;
}

} // namespace

const std::vector<const char*>& sandbox_always_denied_syscalls() {
    static const std::vector<const char*> names = [] {
        std::vector<const char*> all;
        for (const auto& family : denied_families()) all.insert(all.end(), family.names.begin(), family.names.end());
        return all;
    }();
    return names;
}

std::string_view sandbox_always_denied_reason(std::string_view name) {
    for (const auto& family : denied_families())
        for (const char* member : family.names)
            if (name == member) return family.reason;
    return {};
}

} // namespace airlock::host
