// Compiles a SyscallPolicy into seccomp BPF with libseccomp (parent side, may allocate).
#include "airlock/host/seccomp_filter.hpp"

#include "airlock/connection/unique_fd.hpp"
#include "airlock/host/filter_verifier.hpp"

#include <seccomp.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace airlock::host {

namespace {

struct ContextDeleter {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Status libseccomp_error(std::string_view what, int rc) {
    return errno_status(std::string("libseccomp ") + std::string(what), -rc);
}

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

scmp_arg_cmp to_libseccomp(const ArgCondition& condition) {
    // Spelled out rather than SCMP_CMP(arg, op, datum): the macro leaves datum_b to the
    // compiler's zero-fill, which clang warns about (-Wmissing-field-initializers).
    switch (condition.op) {
    case ArgCondition::Op::MaskedEq: return scmp_arg_cmp{condition.arg, SCMP_CMP_MASKED_EQ, condition.mask, condition.datum};
    case ArgCondition::Op::Eq: return scmp_arg_cmp{condition.arg, SCMP_CMP_EQ, condition.datum, 0};
    case ArgCondition::Op::Ne: return scmp_arg_cmp{condition.arg, SCMP_CMP_NE, condition.datum, 0};
    }
    return scmp_arg_cmp{condition.arg, SCMP_CMP_EQ, condition.datum, 0};
}

// Turns the rules (data) into libseccomp rules; remembers the syscalls the sandbox refuses.
Status add_rules(scmp_filter_ctx ctx, const FilterRules& rules, const SeccompFilterOptions& options,
                 std::set<int>& never_continue) {
    for (const auto& [nr, syscall] : rules.syscalls) {
        for (const auto& rule : syscall.rules) {
            // ENOSYS is the filter's default action and libseccomp refuses rules equal to it.
            if (rule.action == RuleAction::Enosys) continue;
            if (rule.action == RuleAction::SandboxDenial) never_continue.insert(nr);
            std::vector<scmp_arg_cmp> conditions;
            for (const auto& condition : rule.conditions) conditions.push_back(to_libseccomp(condition));
            int rc = seccomp_rule_add_exact_array(ctx, seccomp_action(rule.action, options, rules.on_violation), nr,
                                                  static_cast<unsigned>(conditions.size()),
                                                  conditions.empty() ? nullptr : conditions.data());
            if (rc < 0) return libseccomp_error("rule for " + syscall.name, rc);
        }
    }
    return {};
}

Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    UniqueFd memfd(memfd_create("airlock-seccomp-bpf", MFD_CLOEXEC));
    if (!memfd) return errno_status("memfd_create", errno);
    if (int rc = seccomp_export_bpf(ctx, memfd.get()); rc < 0) return libseccomp_error("export_bpf", rc);
    struct stat st {};
    if (fstat(memfd.get(), &st) != 0) return errno_status("fstat", errno);
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0 || size % sizeof(sock_filter) != 0)
        return Status(StatusCode::SystemError, "seccomp: exported BPF has an odd size of " + std::to_string(size));
    std::vector<sock_filter> instructions(size / sizeof(sock_filter));
    std::size_t done = 0;
    auto* bytes = reinterpret_cast<char*>(instructions.data());
    while (done < size) {
        ssize_t n = pread(memfd.get(), bytes + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_status("pread (seccomp BPF)", n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    if (instructions.size() > BPF_MAXINSNS)
        return Status(StatusCode::TooLarge, "seccomp: filter has " + std::to_string(instructions.size()) +
                                                " instructions, the kernel accepts " + std::to_string(BPF_MAXINSNS));
    return instructions;
}

} // namespace

CompiledSeccompFilter::CompiledSeccompFilter(std::vector<sock_filter> instructions, ExecTag tag,
                                             bool uses_notification, SeccompViolationPolicy violation_policy,
                                             FilterRules rules, VerificationReport verification)
    : instructions_(std::move(instructions)), tag_(tag), uses_notification_(uses_notification),
      violation_policy_(std::move(violation_policy)), rules_(std::move(rules)),
      verification_(std::move(verification)) {}

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
    options.notify_violations = notify_violations;
    options.datagram_opt_in = datagram_opt_in(plugin);
    return options;
}

Result<CompiledSeccompFilter> compile_seccomp_filter(const SyscallPolicy& policy, const Limits& limits,
                                                     const SeccompFilterOptions& options) {
    // Unknown numbers (newer than this policy) answer ENOSYS so libc falls back.
    Context ctx(seccomp_init(SCMP_ACT_ERRNO(ENOSYS)));
    if (!ctx) return Status(StatusCode::Memory, "seccomp_init failed");
    const std::pair<scmp_filter_attr, std::uint32_t> attributes[] = {
        // Other arches and x32: the host names the call (and never lets it continue).
        {SCMP_FLTATR_ACT_BADARCH, options.notify_violations ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS},
        {SCMP_FLTATR_CTL_NNP, 0},                          // the child sets it itself
        {SCMP_FLTATR_CTL_OPTIMIZE, 2},                     // binary tree: ~log(n) per call
        {SCMP_FLTATR_API_SYSRAWRC, 1},
    };
    for (auto [attribute, value] : attributes)
        if (int rc = seccomp_attr_set(ctx.get(), attribute, value); rc < 0)
            return libseccomp_error("attr_set", rc);

    SeccompRuleOptions rule_options;
    rule_options.has_append_grants = options.has_append_grants;
    rule_options.datagram_opt_in = options.datagram_opt_in;
    auto rules = build_filter_rules(policy, limits, rule_options, random_tag());
    if (!rules) return rules.status();
    std::set<int> never_continue;
    if (auto s = add_rules(ctx.get(), *rules, options, never_continue); !s) return s;

    auto instructions = export_bpf(ctx.get());
    if (!instructions) return instructions.status();
    // Before any plugin runs under it: every decision of the program against the rules.
    auto report = verify_seccomp_program(*instructions, *rules, options.notify_violations);
    if (!report) return report.status();
    SeccompViolationPolicy violation_policy{policy.on_violation, std::move(never_continue),
                                            std::make_shared<const FilterRules>(*rules), {}};
    const ExecTag tag = rules->tag;
    return CompiledSeccompFilter(std::move(*instructions), tag, options.notify_violations,
                                 std::move(violation_policy), std::move(*rules), *report);
}

} // namespace airlock::host
