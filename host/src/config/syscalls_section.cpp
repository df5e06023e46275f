// [plugin.NAME.syscalls]: profile + allow - deny, checked entry by entry so that each
// unknown or forbidden name is reported where it is written.
#include <stdexcept>

#include "airlock/host/syscall_sets.hpp"
#include "sections.hpp"

namespace airlock::host::config_detail {
namespace {


constexpr std::string_view kListExpected =
    "an array of system call names and @groups, e.g. [\"@timer\", \"sched_yield\"]";

// Checks every entry of `allow` or `deny` where it stands; returns them as plain strings.
std::vector<std::string> read_entries(const TableReader& table, std::string_view key) {
    std::vector<std::string> entries;
    const auto list = table.string_array(key, kListExpected);
    if (!list)
        return entries;
    for (const auto& [entry, node] : *list) {
        try {
            for (const auto& name : expand_syscall_names({entry})) {
                const auto reason = always_denied_reason(name);
                if (key == "allow" && !reason.empty())
                    throw std::invalid_argument(
                        name + " is never allowed in a plugin: " + std::string(reason) +
                        (name == entry ? "" : " (it is in " + entry + ")") +
                        "; remove it from allow");
            }
        } catch (const std::invalid_argument& problem) {
            table.fail(*node, std::string(problem.what()) + " (in " + std::string(key) + " of " +
                                  table.context() + ")");
        }
        entries.push_back(entry);
    }
    return entries;
}

ViolationAction read_action(const TableReader& table) {
    const auto action = table.string("on_violation", "one of \"kill\", \"errno\", \"log\"");
    if (!action || action->value == "kill")
        return ViolationAction::Kill;
    if (action->value == "errno")
        return ViolationAction::Errno;
    if (action->value == "log")
        return ViolationAction::Log;
    table.fail(*action->node, "unknown on_violation " + in_quotes(action->value) + " in " +
                                  table.context() + "; allowed: \"kill\", \"errno\", \"log\"");
}

} // namespace

SyscallPolicy parse_syscalls(const TableReader* table) {
    SyscallPolicy policy;
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    if (table != nullptr) {
        table->reject_unknown_keys({"profile", "allow", "deny", "on_violation"});
        if (const auto profile = table->string("profile", "a string naming a profile, e.g. \"default\"")) {
            if (find_syscall_profile(profile->value) == nullptr) {
                std::string known;
                for (const auto& p : syscall_profiles())
                    known += (known.empty() ? "" : ", ") + in_quotes(p.name);
                table->fail(*profile->node, "unknown syscall profile " + in_quotes(profile->value) +
                                                " in " + table->context() + "; known profiles: " + known);
            }
            policy.profile = profile->value;
        }
        allow = read_entries(*table, "allow");
        deny = read_entries(*table, "deny");
        policy.on_violation = read_action(*table);
    }
    // Every entry was checked above, so resolution cannot fail here.
    policy.allowed = resolve_allowlist(policy.profile, allow, deny);
    policy.denied = expand_syscall_names(deny);
    return policy;
}

} // namespace airlock::host::config_detail
