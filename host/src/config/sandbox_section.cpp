// [sandbox] and [plugin.NAME.sandbox]: the loader's view of the file system, the user to
// drop to, which isolation layers must be present, and whether a memory cgroup is used.
#include <filesystem>

#include "sections.hpp"
#include "spec_checks.hpp"

namespace airlock::host::config_detail {
namespace {


std::vector<std::string> parse_system_paths(const TableReader& table) {
    std::vector<std::string> paths;
    const auto entries =
        table.string_array("system_paths", "an array of absolute paths the dynamic loader may read");
    for (const auto& [path, node] : *entries)
        paths.push_back(checked_system_path(path, table.context(), location_of(table.load(), node->source())));
    return paths;
}

std::set<IsolationLayer> parse_require(const TableReader& table) {
    std::set<IsolationLayer> layers;
    const auto entries = table.string_array(
        "require", "an array of isolation layers: \"seccomp\", \"landlock\", \"no-new-privs\"");
    for (const auto& [name, node] : *entries) {
        if (name == "seccomp")
            layers.insert(IsolationLayer::Seccomp);
        else if (name == "landlock")
            layers.insert(IsolationLayer::Landlock);
        else if (name == "no-new-privs")
            layers.insert(IsolationLayer::NoNewPrivs);
        else
            table.fail(*node, "unknown isolation layer " + in_quotes(name) + " in require of " +
                                  table.context() +
                                  "; allowed: \"seccomp\", \"landlock\", \"no-new-privs\"");
    }
    return layers;
}

// The explanation after each choice in the error for an unknown one.
struct ModeChoices {
    std::string on_auto, on_require, on_off;
};

// memory_cgroup, namespaces, pids_cgroup, cpu_cgroup: "auto", "require" or "off", the same
// three enumerators in each key's own enum.
template <class Mode>
Mode parse_auto_require_off(const TableReader& table, std::string_view key, const ModeChoices& choices) {
    const auto mode = *table.string(key, "one of \"auto\", \"require\", \"off\"");
    if (mode.value == "auto")
        return Mode::Auto;
    if (mode.value == "require")
        return Mode::Require;
    if (mode.value == "off")
        return Mode::Off;
    table.fail(*mode.node, "unknown " + std::string(key) + " " + in_quotes(mode.value) + " in " + table.context() +
                               "; allowed: \"auto\" (" + choices.on_auto + "), \"require\" (" + choices.on_require +
                               "), \"off\" (" + choices.on_off + ")");
}

MemoryCgroupMode parse_memory_cgroup(const TableReader& table) {
    return parse_auto_require_off<MemoryCgroupMode>(
        table, "memory_cgroup",
        {"a memory cgroup when the host can create one", "refuse to start without one", "RLIMIT_AS only"});
}

NamespacesMode parse_namespaces(const TableReader& table) {
    return parse_auto_require_off<NamespacesMode>(
        table, "namespaces",
        {"private namespaces when the host can create them", "refuse to start without them", "the host's namespaces"});
}

// pids_cgroup / cpu_cgroup: the same choices as memory_cgroup, for limits.tasks / cpu_quota.
CgroupMode parse_cgroup_mode(const TableReader& table, std::string_view key, std::string_view limit) {
    const std::string enforced(limit);
    return parse_auto_require_off<CgroupMode>(
        table, key,
        {"enforce " + enforced + " when the host can create the cgroup", "refuse to start without it",
         "do not enforce " + enforced});
}

} // namespace

SandboxSettings parse_sandbox(const TableReader& table) {
    table.reject_unknown_keys({"system_paths", "user", "require", "memory_cgroup", "namespaces", "pids_cgroup", "cpu_cgroup",
                               "dynamic_user"});
    SandboxSettings settings;
    if (table.find("system_paths") != nullptr)
        settings.system_paths = parse_system_paths(table);
    if (const auto user = table.string("user", "a string naming a user account, e.g. \"nobody\"")) {
        checked_user(user->value, table.context(), location_of(table.load(), user->node->source()));
        settings.user = user->value;
    }
    if (table.find("require") != nullptr)
        settings.require = parse_require(table);
    if (table.find("memory_cgroup") != nullptr)
        settings.memory_cgroup = parse_memory_cgroup(table);
    if (table.find("namespaces") != nullptr)
        settings.namespaces = parse_namespaces(table);
    if (table.find("pids_cgroup") != nullptr)
        settings.pids_cgroup = parse_cgroup_mode(table, "pids_cgroup", "limits.tasks");
    if (table.find("cpu_cgroup") != nullptr)
        settings.cpu_cgroup = parse_cgroup_mode(table, "cpu_cgroup", "limits.cpu_quota");
    settings.dynamic_user = table.boolean("dynamic_user", "true (a uid of its own per plugin) or false (`user`)");
    return settings;
}

void apply_sandbox(PluginSpec& spec, const SandboxSettings& host, const SandboxSettings& plugin) {
    // Each key is taken whole from the most specific place that sets it: plugin, host (and
    // else the spec's built-in default).
    auto pick = [&](auto member) -> const auto& { return (plugin.*member) ? plugin.*member : host.*member; };
    if (const auto& paths = pick(&SandboxSettings::system_paths)) spec.system_paths(*paths);
    if (const auto& user = pick(&SandboxSettings::user)) spec.user(*user);
    if (const auto& layers = pick(&SandboxSettings::require)) spec.require(*layers);
    if (const auto& mode = pick(&SandboxSettings::memory_cgroup)) spec.memory_cgroup(*mode);
    if (const auto& mode = pick(&SandboxSettings::namespaces)) spec.namespaces(*mode);
    if (const auto& mode = pick(&SandboxSettings::pids_cgroup)) spec.pids_cgroup(*mode);
    if (const auto& mode = pick(&SandboxSettings::cpu_cgroup)) spec.cpu_cgroup(*mode);
    if (const auto& on = pick(&SandboxSettings::dynamic_user)) spec.dynamic_user(*on);
}

} // namespace airlock::host::config_detail
