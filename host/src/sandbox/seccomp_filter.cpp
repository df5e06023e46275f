// Compiles a SyscallPolicy into seccomp BPF: rules (seccomp_rules.cpp), written as BPF
// (seccomp_bpf_builder.cpp), verified (filter_verifier.cpp). Parent side, may allocate.
#include "airlock/host/seccomp_filter.hpp"

#include "airlock/host/filter_verifier.hpp"
#include "airlock/host/seccomp_bpf_builder.hpp"

#include <seccomp.h>
#include <sys/random.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>

namespace airlock::host {

namespace {

ExecTag random_tag() {
    ExecTag tag = 0;
    while (tag == 0) {
        if (getrandom(&tag, sizeof tag, 0) != static_cast<ssize_t>(sizeof tag)) tag = 0;
    }
    return tag;
}

std::uint32_t action_for(ViolationAction action) {
    switch (action) {
    case ViolationAction::Kill: return SCMP_ACT_KILL_PROCESS;
    case ViolationAction::Errno: return SCMP_ACT_ERRNO(EPERM);
    case ViolationAction::Log: return SCMP_ACT_LOG;
    }
    return SCMP_ACT_KILL_PROCESS;
}

// The libseccomp action of each rule action. Written here with libseccomp's constants and
// separately in the verifier with the kernel's, so a slip in either shows as a mismatch.
std::uint32_t seccomp_action(RuleAction action, const SeccompFilterOptions& options, ViolationAction on_violation) {
    const std::uint32_t violation = options.notify_violations ? SCMP_ACT_NOTIFY : action_for(on_violation);
    switch (action) {
    case RuleAction::Allow: return SCMP_ACT_ALLOW;
    case RuleAction::Violation: return violation;
    case RuleAction::SandboxDenial:
        // "log" must never let a sandbox-level denial through.
        return !options.notify_violations && on_violation == ViolationAction::Log ? SCMP_ACT_ERRNO(EPERM) : violation;
    case RuleAction::RefuseEperm: return SCMP_ACT_ERRNO(EPERM);
    case RuleAction::Enosys: return SCMP_ACT_ERRNO(ENOSYS);
    }
    return SCMP_ACT_KILL_PROCESS;
}

// The return value of each rule action, spelled with libseccomp's constants (the kernel's
// values) for the BPF builder.
SeccompBpfActions bpf_actions(const SeccompFilterOptions& options, ViolationAction on_violation) {
    SeccompBpfActions actions;
    actions.allow = seccomp_action(RuleAction::Allow, options, on_violation);
    actions.violation = seccomp_action(RuleAction::Violation, options, on_violation);
    actions.sandbox_denial = seccomp_action(RuleAction::SandboxDenial, options, on_violation);
    actions.refuse_eperm = seccomp_action(RuleAction::RefuseEperm, options, on_violation);
    actions.enosys = seccomp_action(RuleAction::Enosys, options, on_violation);
    // Other arches and x32: the host names the call (and never lets it continue).
    actions.foreign = options.notify_violations ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
    return actions;
}

// The syscalls the sandbox itself refuses: `log` never lets them continue.
std::set<int> never_continue_of(const FilterRules& rules) {
    std::set<int> never_continue;
    for (const auto& [nr, syscall] : rules.syscalls)
        for (const auto& rule : syscall.rules)
            if (rule.action == RuleAction::SandboxDenial) never_continue.insert(nr);
    return never_continue;
}

} // namespace

CompiledSeccompFilter::CompiledSeccompFilter(std::vector<sock_filter> instructions, ExecTag tag,
                                             bool uses_notification, SeccompViolationPolicy violation_policy,
                                             FilterRules rules, VerificationReport verification)
    : instructions_(std::move(instructions)), tag_(tag), uses_notification_(uses_notification),
      violation_policy_(std::move(violation_policy)), rules_(std::make_shared<const FilterRules>(std::move(rules))),
      verification_(std::move(verification)) {
    violation_policy_.rules = rules_;
}

sock_fprog CompiledSeccompFilter::program() const noexcept {
    sock_fprog program{};
    program.len = static_cast<unsigned short>(instructions_.size());
    program.filter = const_cast<sock_filter*>(instructions_.data());
    return program;
}

bool datagram_opt_in(const PluginConfig& plugin) {
    for (const auto& grant : plugin.grants)
        if (grant.kind == GrantKind::Connect && grant.datagram) return true;
    return false;
}

SeccompFilterOptions seccomp_filter_options_for(const PluginConfig& plugin, bool notify_violations) {
    SeccompFilterOptions options;
    for (const auto& grant : plugin.grants)
        options.has_append_grants |= grant.kind == GrantKind::File && grant.access == GrantAccess::Append;
    options.has_append_grants |= plugin.shares_append_only_output;  // `>> file` under stdio = "inherit"
    options.notify_violations = notify_violations;
    options.datagram_opt_in = datagram_opt_in(plugin);
    for (const auto& grant : plugin.grants) options.device_ioctls |= grant.device;
    return options;
}

Result<CompiledSeccompFilter> compile_seccomp_filter(const SyscallPolicy& policy, const Limits& limits,
                                                     const SeccompFilterOptions& options) {
    SeccompRuleOptions rule_options;
    rule_options.has_append_grants = options.has_append_grants;
    rule_options.datagram_opt_in = options.datagram_opt_in;
    rule_options.all_ioctls = options.device_ioctls;
    auto rules = build_filter_rules(policy, limits, rule_options, random_tag());
    if (!rules) return rules.status();
    // Unknown numbers (newer than this policy) answer ENOSYS so libc falls back.
    auto instructions = build_seccomp_bpf(*rules, bpf_actions(options, rules->on_violation));
    if (!instructions) return instructions.status();
    // Before any plugin runs under it: every decision of the program against the rules.
    auto report = verify_seccomp_program(*instructions, *rules, options.notify_violations);
    if (!report) return report.status();
    // The constructor shares its copy of the rules with the violation policy.
    SeccompViolationPolicy violation_policy{policy.on_violation, never_continue_of(*rules), nullptr, {}};
    const ExecTag tag = rules->tag;
    return CompiledSeccompFilter(std::move(*instructions), tag, options.notify_violations,
                                 std::move(violation_policy), std::move(*rules), *report);
}

} // namespace airlock::host
