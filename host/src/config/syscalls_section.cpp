// [plugin.NAME.syscalls]: profile + allow - deny, checked entry by entry so that each
// unknown or forbidden name is reported where it is written.
#include <algorithm>
#include "airlock/host/syscall_sets.hpp"
#include "sections.hpp"

namespace airlock::host::config_detail {
namespace {


constexpr std::string_view kListExpected =
    "an array of system call names and @groups, e.g. [\"@timer\", \"sched_yield\"]";

std::string known_groups() {
    std::string list;
    for (const auto& group : syscall_groups())
        list += (list.empty() ? "" : ", ") + group.name;
    return list;
}

// Checks one `allow` or `deny` entry where it is written.
void check_entry(const TableReader& table, std::string_view key, const LocatedString& entry) {
    const std::string where = " in " + std::string(key) + " of " + table.context();
    const bool is_group = entry.value.starts_with('@');
    if (is_group && find_syscall_group(entry.value) == nullptr)
        table.fail(*entry.node, "unknown syscall group " + in_quotes(entry.value) + where +
                                    "; known groups: " + known_groups());
    if (!is_group && !is_known_syscall(entry.value))
        table.fail(*entry.node, "unknown system call " + in_quotes(entry.value) + where +
                                    "; use a system call name as in syscalls(2), e.g. \"openat\", "
                                    "or an @group");
    if (key != "allow")
        return;
    for (const auto& name : expand_syscall_names({entry.value})) {
        const auto reason = always_denied_reason(name);
        if (!reason.empty())
            table.fail(*entry.node, name + " is never allowed in a plugin: " + std::string(reason) +
                                        (is_group ? " (it is in " + entry.value + ")" : "") +
                                        "; remove it from allow of " + table.context());
    }
}

std::vector<std::string> read_entries(const TableReader& table, std::string_view key) {
    std::vector<std::string> entries;
    const auto list = table.string_array(key, kListExpected);
    if (!list)
        return entries;
    for (const auto& entry : *list) {
        check_entry(table, key, entry);
        entries.push_back(entry.value);
    }
    return entries;
}

ViolationAction read_action(const TableReader& table, bool& learn) {
    const auto action = table.string("on_violation", "one of \"kill\", \"errno\", \"log\", \"learn\"");
    if (!action || action->value == "kill")
        return ViolationAction::Kill;
    if (action->value == "errno")
        return ViolationAction::Errno;
    if (action->value == "log")
        return ViolationAction::Log;
    if (action->value == "learn") {  // `log`, recorded for an allow line (airlock-host exec only)
        learn = true;
        return ViolationAction::Log;
    }
    table.fail(*action->node, "unknown on_violation " + in_quotes(action->value) + " in " +
                                  table.context() + "; allowed: \"kill\", \"errno\", \"log\", \"learn\"");
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
        policy.on_violation = read_action(*table, policy.learn);
    }
    // Every entry was checked above, so resolution cannot fail here.
    policy.allowed = resolve_allowlist(policy.profile, allow, deny);
    policy.denied = expand_syscall_names(deny);
    policy.exec_after_launch = std::any_of(allow.begin(), allow.end(), [&](const std::string& name) {
        return (name == "execve" || name == "execveat") && policy.allowed.count(name) != 0;
    });
    return policy;
}

} // namespace airlock::host::config_detail
