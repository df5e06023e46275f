#pragma once
// Landlock UAPI items newer than the installed linux-libc-dev 6.1 headers (ABI 3-7).
// Defined here, in our own namespace, instead of including <linux/landlock.h>, so the
// definitions cannot clash when the system headers catch up. Values are kernel ABI.

#include <cstdint>

namespace airlock::host::landlock {

inline constexpr unsigned create_ruleset_version = 1U << 0;

// Filesystem access rights and the ABI that introduced them.
inline constexpr std::uint64_t fs_execute = 1ULL << 0;
inline constexpr std::uint64_t fs_write_file = 1ULL << 1;
inline constexpr std::uint64_t fs_read_file = 1ULL << 2;
inline constexpr std::uint64_t fs_read_dir = 1ULL << 3;
inline constexpr std::uint64_t fs_remove_dir = 1ULL << 4;
inline constexpr std::uint64_t fs_remove_file = 1ULL << 5;
inline constexpr std::uint64_t fs_make_char = 1ULL << 6;
inline constexpr std::uint64_t fs_make_dir = 1ULL << 7;
inline constexpr std::uint64_t fs_make_reg = 1ULL << 8;
inline constexpr std::uint64_t fs_make_sock = 1ULL << 9;
inline constexpr std::uint64_t fs_make_fifo = 1ULL << 10;
inline constexpr std::uint64_t fs_make_block = 1ULL << 11;
inline constexpr std::uint64_t fs_make_sym = 1ULL << 12;
inline constexpr std::uint64_t fs_refer = 1ULL << 13;      // ABI 2
inline constexpr std::uint64_t fs_truncate = 1ULL << 14;   // ABI 3
inline constexpr std::uint64_t fs_ioctl_dev = 1ULL << 15;  // ABI 5

// Rights that make sense on a file (a rule on a non-directory may only carry these).
inline constexpr std::uint64_t fs_file_rights = fs_execute | fs_write_file | fs_read_file | fs_truncate | fs_ioctl_dev;

// Network (ABI 4) and scopes (ABI 6).
inline constexpr std::uint64_t net_bind_tcp = 1ULL << 0;
inline constexpr std::uint64_t net_connect_tcp = 1ULL << 1;
inline constexpr std::uint64_t scope_abstract_unix_socket = 1ULL << 0;
inline constexpr std::uint64_t scope_signal = 1ULL << 1;

inline constexpr int rule_path_beneath = 1;

// struct landlock_ruleset_attr at ABI 6+. The kernel accepts a larger struct than it knows
// as long as the unknown tail is zero, so older kernels get zeros in the newer fields.
struct RulesetAttr {
    std::uint64_t handled_access_fs = 0;
    std::uint64_t handled_access_net = 0;  // ABI 4
    std::uint64_t scoped = 0;              // ABI 6
};

struct __attribute__((packed)) PathBeneathAttr {
    std::uint64_t allowed_access = 0;
    std::int32_t parent_fd = -1;
};

/// Every filesystem right the given ABI knows (ABI 7 adds none over 5).
constexpr std::uint64_t handled_fs_rights(int abi) {
    std::uint64_t rights = (fs_make_sym << 1) - 1;  // ABI 1: bits 0..12
    if (abi >= 2) rights |= fs_refer;
    if (abi >= 3) rights |= fs_truncate;
    if (abi >= 5) rights |= fs_ioctl_dev;
    return rights;
}

} // namespace airlock::host::landlock
