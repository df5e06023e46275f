#pragma once
/// @file seccomp_filter.hpp
/// Parent side of the seccomp layer: compiles a plugin's syscall policy into a BPF program.
///
/// The filter is compiled once per plugin in the host (seccomp_bpf_builder.hpp, may allocate) and the
/// resulting instructions are loaded in the child between fork and exec with raw syscalls
/// only (see child_confinement.hpp). docs/sandbox.md explains every rule.

#include "airlock/connection/status.hpp"
#include "airlock/host/plugin_config.hpp"
#include "airlock/host/filter_verifier.hpp"
#include "airlock/host/seccomp_rules.hpp"

#include <linux/filter.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

// ExecTag: the secret that lets exactly one `execveat` (the launch) and the listener
// hand-off `sendmsg` through the filter (seccomp_rules.hpp). It travels in the 6th syscall
// argument register, which both syscalls ignore. It is random per compiled filter and never
// reaches the plugin: exec replaces the memory and registers that held it.

/// How the compiled filter should behave beyond the plugin's own policy.
struct SeccompFilterOptions {
    /// The plugin holds an append-only grant: refuse every known way to write elsewhere
    /// than the end of a file (fcntl clearing O_APPEND, pwritev2 RWF_NOAPPEND, ftruncate,
    /// destructive fallocate, io_submit).
    bool has_append_grants = false;
    /// Forbidden syscalls raise a seccomp user notification so the host observes them
    /// (ViolationMonitor) and applies `on_violation` itself. When false the kernel acts
    /// alone (KILL_PROCESS / ERRNO(EPERM) / LOG) and the host only sees the exit status.
    bool notify_violations = true;
    /// Some connect grant has `datagram = true`: `sendto` may name a destination address.
    /// Without it `sendto` only reaches the connected peer (address NULL).
    bool datagram_opt_in = false;
    /// Some grant has `device = true`: every ioctl request is allowed (a device's driver
    /// defines its own); otherwise only allowed_ioctl_requests() (seccomp_rules.hpp).
    bool device_ioctls = false;
};

/// What the host must do with a violation notification for a given syscall.
struct SeccompViolationPolicy {
    ViolationAction on_violation = ViolationAction::Kill;
    /// Syscalls denied by the sandbox itself (always-denied list, socket, execve, fork
    /// when processes = 1, append hardening, ...). With `on_violation = log` these are
    /// still refused with EPERM: letting them continue would undo the sandbox.
    std::set<int> never_continue;
    /// The rules the filter was compiled from: a report names the argument rule that fired.
    std::shared_ptr<const FilterRules> rules;
    /// Optional: the `@group` a config would use for a syscall (e.g. "@system-info"), or "".
    /// The config layer supplies it (the sandbox does not know the groups).
    std::function<std::string(std::string_view syscall)> group_of;
};

/// A BPF program ready to be loaded with `seccomp(SECCOMP_SET_MODE_FILTER)`.
class CompiledSeccompFilter {
public:
    /// `violation_policy.rules` is replaced by `rules` (held once, shared).
    CompiledSeccompFilter(std::vector<sock_filter> instructions, ExecTag tag, bool uses_notification,
                          SeccompViolationPolicy violation_policy, FilterRules rules,
                          VerificationReport verification);

    /// A `sock_fprog` pointing into this object's instructions; valid while it lives.
    /// Take it in the parent before fork; the child only reads it.
    [[nodiscard]] sock_fprog program() const noexcept;
    /// The raw instructions.
    [[nodiscard]] std::span<const sock_filter> instructions() const noexcept { return instructions_; }
    /// The tag the launch must pass to exec_tagged() and send_seccomp_listener().
    [[nodiscard]] ExecTag exec_tag() const noexcept { return tag_; }
    /// True when violations are reported through a user-notification listener, so the
    /// child must load the filter with a listener and hand it to the host.
    [[nodiscard]] bool uses_notification() const noexcept { return uses_notification_; }
    /// What a ViolationMonitor needs to act on this filter's notifications.
    [[nodiscard]] const SeccompViolationPolicy& violation_policy() const noexcept { return violation_policy_; }
    /// The rules the program was compiled from (and verified against).
    [[nodiscard]] const FilterRules& rules() const noexcept { return *rules_; }
    /// What the verifier checked when the filter was compiled.
    [[nodiscard]] const VerificationReport& verification() const noexcept { return verification_; }

private:
    std::vector<sock_filter> instructions_;
    ExecTag tag_;
    bool uses_notification_;
    SeccompViolationPolicy violation_policy_;
    std::shared_ptr<const FilterRules> rules_;  ///< one copy, shared with violation_policy_.rules
    VerificationReport verification_;
};

/// Builds the default-deny allowlist for a plugin.
///
/// - native architecture only; other architectures and x32 syscalls kill the process;
/// - always-denied syscalls, `socket`, `connect`, `bind`, `execve` and untagged `execveat`
///   are refused whatever `policy.allowed` says;
/// - `clone3` answers ENOSYS (glibc falls back to `clone`, whose flags the filter can see);
///   `clone` never creates namespaces nor a child of the plugin's parent (CLONE_PARENT), and
///   only threads when `limits.processes == 1` (then `fork`/`vfork` are refused too);
/// - `prctl` runs only with reviewed options (refused ones, e.g. PR_SET_PDEATHSIG, get EPERM);
///   `ioctl` only with reviewed requests (ENOSYS otherwise) unless `options.device_ioctls`;
///   calls that take a pid work only on pid 0 (the caller), clock calls on no other process's
///   CPU clock; `madvise(MADV_MERGEABLE)` gets EPERM; `sendto` needs a NULL address unless
///   `options.datagram_opt_in`;
/// - syscalls libseccomp does not know (newer than this policy) answer ENOSYS;
/// - every other syscall not in `policy.allowed` is a violation.
///
/// The exported program is verified (filter_verifier.hpp) before it is returned: a program
/// that disagrees with its rules is never loaded.
///
/// Fails with InvalidParameter if `policy.allowed` names a syscall unknown on any
/// architecture, with TooLarge if the program exceeds BPF_MAXINSNS, or with SystemError if
/// the verifier finds a mismatch.
Result<CompiledSeccompFilter> compile_seccomp_filter(const SyscallPolicy& policy, const Limits& limits,
                                                     const SeccompFilterOptions& options);

/// True when some connect grant of `plugin` has `datagram = true`, which lets `sendto`
/// name a destination address (SeccompFilterOptions::datagram_opt_in).
bool datagram_opt_in(const PluginConfig& plugin);

/// The options the spawner compiles `plugin`'s filter with: append hardening when a file
/// grant is `append`, the datagram opt-in, every ioctl request when a grant has `device =
/// true`, and notification as the caller probed it.
SeccompFilterOptions seccomp_filter_options_for(const PluginConfig& plugin, bool notify_violations);

/// The syscalls refused whatever a policy allows (the list), as names.
/// Kept in the sandbox as defense in depth even when the config layer strips them.
const std::vector<const char*>& sandbox_always_denied_syscalls();

/// Why the sandbox always denies `name` (a short phrase, e.g. "io_uring performs I/O without
/// going through seccomp"), or an empty view when `name` is not on that list.
std::string_view sandbox_always_denied_reason(std::string_view name);

} // namespace airlock::host
