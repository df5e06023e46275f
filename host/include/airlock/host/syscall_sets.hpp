#pragma once
/// @file syscall_sets.hpp
/// Named system call sets: the always-denied list, `@groups` (modeled on systemd's
/// `SystemCallFilter=` groups) and profiles (named base allowlists).
///
/// The config loader uses these to turn `profile` / `allow` / `deny` into
/// `SyscallPolicy::allowed`; the sandbox uses `always_denied_syscalls()` to make sure the
/// compiled filter never lets one of them through, whatever a config says.
/// docs/configuration.md lists every group and profile for users.

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

/// A named set of system calls. Members are syscall names or other `@group` names.
struct SyscallGroup {
    std::string name;                  ///< with the leading '@', e.g. "@basic-io"
    std::string description;           ///< one line, for docs and `airlock-host check`
    std::vector<std::string> members;  ///< syscall names and nested "@group" names
};

/// A named base allowlist (`[plugin.NAME.syscalls] profile = "default"`).
struct SyscallProfile {
    std::string name;                  ///< e.g. "default"
    std::string description;           ///< one line
    std::vector<std::string> members;  ///< syscall names and "@group" names
};

/// System calls no plugin may ever be allowed, whatever its config says. Naming one in an
/// `allow` list is a config error. Sorted.
const std::set<std::string>& always_denied_syscalls();

/// Why `name` is always denied (one short sentence), or an empty view if it is not.
std::string_view always_denied_reason(std::string_view name);

/// Every `@group`, in documentation order.
const std::vector<SyscallGroup>& syscall_groups();

/// The group called `name` (with the '@'), or nullptr.
const SyscallGroup* find_syscall_group(std::string_view name);

/// The first group (documentation order) that lists `syscall` itself, e.g. "sysinfo" →
/// "@system-info"; empty when no group does. For the advice in violation reports.
std::string group_of_syscall(std::string_view syscall);

/// The `allow = [...]` TOML line that lets a plugin make the calls in `used` (what a learn
/// run recorded) on top of its allowlist `allowed`: a group's name where the run used every
/// member of it (at least two) that the allowlist lacks, plain names for the rest. Sorted,
/// groups first.
std::string learned_allow_line(const std::set<std::string>& used, const std::set<std::string>& allowed);

/// Every profile, in documentation order ("default" first).
const std::vector<SyscallProfile>& syscall_profiles();

/// The profile called `name`, or nullptr.
const SyscallProfile* find_syscall_profile(std::string_view name);

/// True if libseccomp knows `name` as a system call on any architecture it supports.
bool is_known_syscall(std::string_view name);

/// The system call number of `name` on the architecture the host was built for, or
/// nullopt if it does not exist there (unknown, or another architecture's call such as
/// "socketcall" on x86_64).
std::optional<int> native_syscall_number(std::string_view name);

/// Expands syscall names and `@group`s into plain syscall names (nested groups included).
/// Names that exist only on other architectures are kept; see resolve_allowlist().
/// @throws std::invalid_argument naming the first unknown syscall or group and what is allowed.
std::set<std::string> expand_syscall_names(const std::vector<std::string>& names_and_groups);

/// The final allowlist: profile + allow - deny, as plain names that exist on the native
/// architecture. Never contains an always-denied syscall.
/// @throws std::invalid_argument for an unknown profile, syscall or group, or an `allow`
///         entry that is (or whose group contains) an always-denied syscall.
std::set<std::string> resolve_allowlist(std::string_view profile,
                                        const std::vector<std::string>& allow,
                                        const std::vector<std::string>& deny);

} // namespace airlock::host
