// Native syscall names by number: the build's copy of libseccomp's table when the running
// libseccomp is the one it came from (native_syscall_table.hpp).
#include "airlock/host/native_syscall_table.hpp"

#include <seccomp.h>

#include <algorithm>
#include <cstdlib>

namespace airlock::host {

bool native_syscall_table_in_use() {
    // A different libseccomp may know other syscalls; then its own look-up answers.
    static const bool in_use = [] {
        const scmp_version* version = seccomp_version();
        return version && version->major == generated::native_syscall_table_libseccomp[0] &&
               version->minor == generated::native_syscall_table_libseccomp[1] &&
               version->micro == generated::native_syscall_table_libseccomp[2] &&
               seccomp_arch_native() == generated::native_syscall_table_arch;
    }();
    return in_use;
}

std::optional<std::string> native_syscall_name(int nr) {
    if (native_syscall_table_in_use() && nr >= 0 && nr < generated::native_syscall_table_size) {
        const char* name = generated::native_syscall_table[nr];
        return name ? std::optional<std::string>(name) : std::nullopt;
    }
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (!name) return std::nullopt;
    std::string owned(name);
    std::free(name);
    return owned;
}

int native_syscall_resolve_name(std::string_view name) {
    if (native_syscall_table_in_use()) {
        const auto* begin = generated::native_syscalls_by_name;
        const auto* end = begin + generated::native_syscalls_by_name_count;
        const auto* found = std::lower_bound(begin, end, name, [](const generated::NativeSyscall& entry, std::string_view key) {
            return std::string_view(entry.name) < key;
        });
        if (found != end && found->name == name) return found->nr;
    }
    const std::string terminated(name);  // not a native call of the table: libseccomp decides
    return seccomp_syscall_resolve_name(terminated.c_str());
}

} // namespace airlock::host
