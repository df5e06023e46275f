// The native architecture's syscall names by number, made at build time from libseccomp's
// table (native_syscall_table_generator.cpp), and how to ask it (native_syscall_names.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::host {

namespace generated {
constexpr int native_syscall_table_size = 1024;
/// The libseccomp version (major, minor, micro) and native architecture token the table came from.
extern const unsigned native_syscall_table_libseccomp[3];
extern const std::uint32_t native_syscall_table_arch;
/// Index = syscall number; nullptr where libseccomp knew no syscall.
extern const char* const native_syscall_table[native_syscall_table_size];
struct NativeSyscall {
    const char* name;
    int nr;
};
/// The same syscalls sorted by name.
extern const NativeSyscall native_syscalls_by_name[];
extern const std::size_t native_syscalls_by_name_count;
} // namespace generated

/// The name libseccomp gives syscall `nr` on the native architecture, or nullopt when it knows
/// none. Answered from the build's table when the libseccomp loaded at run time is the same
/// version on the same architecture (so the same table), else by libseccomp's own look-up.
std::optional<std::string> native_syscall_name(int nr);

/// libseccomp's number for `name` on the native architecture, as seccomp_syscall_resolve_name
/// answers it: __NR_SCMP_ERROR for a name it does not know, a negative pseudo number for a call
/// of other architectures only. A name in the build's table (when in use) is answered from it;
/// any other goes to libseccomp.
int native_syscall_resolve_name(std::string_view name);

/// Whether native_syscall_name answers from the build's table (for tests and benchmarks).
bool native_syscall_table_in_use();

} // namespace airlock::host
