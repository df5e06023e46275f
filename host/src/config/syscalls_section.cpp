// [plugin.NAME.syscalls]: profile + allow - deny. Each entry is located where it is written;
// PluginSpec::build() checks them (unknown names, groups, the always-denied set).
#include "sections.hpp"

namespace airlock::host::config_detail {
namespace {

constexpr std::string_view kListExpected =
    "an array of system call names and @groups, e.g. [\"@timer\", \"sched_yield\"]";

void read_entries(const TableReader& table, std::string_view key, PluginSpec& spec,
                  PluginSpec& (PluginSpec::*add)(std::vector<std::string>)) {
    const auto list = table.string_array(key, kListExpected);
    if (!list)
        return;
    std::vector<std::string> entries;
    for (const auto& entry : *list) {
        entries.push_back(entry.value);
        spec.locate("syscalls." + std::string(key) + "." + std::to_string(entries.size()),
                    location_of(table.load(), entry.node->source()));
    }
    (spec.*add)(std::move(entries));
}

void read_action(const TableReader& table, PluginSpec& spec) {
    const auto action = table.string("on_violation", "one of \"kill\", \"errno\", \"log\", \"learn\"");
    if (!action || action->value == "kill")
        spec.on_violation(ViolationAction::Kill);
    else if (action->value == "errno")
        spec.on_violation(ViolationAction::Errno);
    else if (action->value == "log")
        spec.on_violation(ViolationAction::Log);
    else if (action->value == "learn")  // `log`, recorded for an allow line (airlock-host exec only)
        spec.learn();
    else
        table.fail(*action->node, "unknown on_violation " + in_quotes(action->value) + " in " +
                                      table.context() + "; allowed: \"kill\", \"errno\", \"log\", \"learn\"");
}

} // namespace

void parse_syscalls(const TableReader& table, PluginSpec& spec) {
    table.reject_unknown_keys({"profile", "allow", "deny", "on_violation"});
    if (const auto profile = table.string("profile", "a string naming a profile, e.g. \"default\"")) {
        spec.syscall_profile(profile->value);
        spec.locate("syscalls.profile", location_of(table.load(), profile->node->source()));
    }
    read_entries(table, "allow", spec, &PluginSpec::allow);
    read_entries(table, "deny", spec, &PluginSpec::deny);
    read_action(table, spec);
}

} // namespace airlock::host::config_detail
