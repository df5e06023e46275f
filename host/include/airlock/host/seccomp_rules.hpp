#pragma once
/// @file seccomp_rules.hpp
/// The seccomp policy of one plugin as plain data: for every system call libseccomp knows,
/// the argument rules and the decision each leads to.
///
/// One source of truth, two consumers: compile_seccomp_filter() turns these rules into
/// libseccomp rules (and so into BPF), and the filter verifier (filter_verifier.hpp)
/// evaluates them directly to check every decision of the exported BPF program.
/// docs/sandbox.md explains every rule.

#include "airlock/connection/status.hpp"
#include "airlock/host/plugin_config.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

/// See seccomp_filter.hpp.
using ExecTag = std::uint64_t;

/// Index (0-based) of the syscall argument that carries the ExecTag.
inline constexpr unsigned exec_tag_argument_index = 5;

/// What the filter answers when a rule matches. The seccomp return value of each depends
/// on the compile options (see expected_seccomp_action()).
enum class RuleAction {
    Allow,          ///< the call runs
    Violation,      ///< not in the plugin's allowlist: `on_violation` applies
    SandboxDenial,  ///< refused by the sandbox itself: like Violation, but never allowed by `log`
    RefuseEperm,    ///< fails with EPERM, silently (refused prctl options)
    Enosys,         ///< fails with ENOSYS (the filter's default action)
};

/// One comparison of a syscall argument (all 64 bits of the register).
struct ArgCondition {
    enum class Op { MaskedEq, Eq, Ne, MaskedNe };
    unsigned arg = 0;            ///< 0..5
    Op op = Op::Eq;
    std::uint64_t mask = ~0ULL;  ///< MaskedEq, MaskedNe only: compare (value & mask) == (!=) datum
    std::uint64_t datum = 0;

    [[nodiscard]] bool matches(const std::array<std::uint64_t, 6>& args) const noexcept;
};

/// `action` when every condition holds (no conditions: always).
struct ArgRule {
    RuleAction action = RuleAction::Allow;
    std::vector<ArgCondition> conditions;
    /// For sandbox denials: what the rule forbids and why, in words for the violation report
    /// (e.g. "F_SETFL clearing O_APPEND: the plugin holds an append-only grant").
    std::string why = {};
};

/// Every rule of one syscall. Rules with different actions never match the same arguments
/// (the verifier checks that too); arguments no rule matches get ENOSYS.
struct SyscallRules {
    int nr = -1;
    std::string name;
    std::vector<ArgRule> rules;
    /// The decision for `args`: the matching rule's action, Enosys when none matches.
    /// `ambiguous` (optional) is set when rules with different actions match.
    [[nodiscard]] RuleAction decide(const std::array<std::uint64_t, 6>& args, bool* ambiguous = nullptr) const;
    /// The first rule whose conditions all hold for `args`, or nullptr (ENOSYS).
    [[nodiscard]] const ArgRule* matching(const std::array<std::uint64_t, 6>& args) const;
};

/// Options that change the rules beyond the plugin's own policy.
struct SeccompRuleOptions {
    bool has_append_grants = false;  ///< append hardening (see SeccompFilterOptions)
    bool datagram_opt_in = false;    ///< sendto with a destination address is allowed
    bool all_ioctls = false;         ///< every ioctl request (a device grant), not only the reviewed ones
};

/// The whole policy: one entry per native syscall number libseccomp knows.
struct FilterRules {
    std::map<int, SyscallRules> syscalls;
    ExecTag tag = 0;
    ViolationAction on_violation = ViolationAction::Kill;
    /// Numbers (native) of the sandbox's always-denied list, for the verifier's invariants.
    std::set<int> always_denied;
    /// Numbers (native) the plugin's policy allows (allowed minus denied).
    std::set<int> allowed;
    /// For syscalls the policy does not allow but would check by argument if it did (clone's
    /// namespace flags, fcntl under append hardening, prctl's options, ioctl's requests, ...):
    /// those rules. With `on_violation = log` the host lets such a call continue only where
    /// one of these rules allows it.
    /// Built only for `on_violation = log`, the only action that reads them.
    std::map<int, SyscallRules> if_allowed;
    /// Whether if_allowed was built; a log monitor refuses (EPERM) every call when it was not.
    bool if_allowed_built = false;
};

/// Builds the rules for `policy` and `limits` with the launch tag `tag`.
/// Fails with InvalidParameter if `policy.allowed` names a syscall libseccomp does not know.
Result<FilterRules> build_filter_rules(const SyscallPolicy& policy, const Limits& limits,
                                       const SeccompRuleOptions& options, ExecTag tag);

/// The prctl options a plugin may use (argument 0), and those refused with EPERM; any
/// other option answers ENOSYS.
const std::set<std::uint32_t>& allowed_prctl_options();
const std::set<std::uint32_t>& refused_prctl_options();

/// The ioctl requests (argument 1, low 32 bits) a plugin may make unless a device grant
/// hands it every request; any other answers ENOSYS.
const std::set<std::uint32_t>& allowed_ioctl_requests();

/// Syscalls that take a process id and are allowed only on the calling process itself
/// (pid 0): the syscall name and the argument index of the pid.
struct PidArgument {
    std::string_view syscall;
    unsigned pid_arg;
    int which_arg = -1;        ///< getpriority-style (which, who): index of `which`, or -1
    std::uint64_t which_self = 0;  ///< the `which` value that means "a process"
};
const std::vector<PidArgument>& self_only_pid_syscalls();

} // namespace airlock::host
