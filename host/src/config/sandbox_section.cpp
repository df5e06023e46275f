// [sandbox] and [plugin.NAME.sandbox]: the loader's view of the file system, the user to
// drop to, which isolation layers must be present, and whether a memory cgroup is used.
#include <filesystem>

#include "sections.hpp"
#include "user_lookup.hpp"

namespace airlock::host::config_detail {
namespace {


std::vector<std::string> parse_system_paths(const TableReader& table) {
    std::vector<std::string> paths;
    const auto entries =
        table.string_array("system_paths", "an array of absolute paths the dynamic loader may read");
    for (const auto& [path, node] : *entries) {
        const std::filesystem::path fs_path(path);
        if (!fs_path.is_absolute())
            table.fail(*node, "system path " + in_quotes(path) + " in " + table.context() +
                                  " is not absolute; system_paths must be absolute paths such as "
                                  "\"/usr\"");
        std::error_code error;
        if (!std::filesystem::exists(fs_path, error))
            table.fail(*node, "system path " + in_quotes(path) + " in " + table.context() +
                                  " does not exist; list only existing directories and files the "
                                  "dynamic loader needs");
        paths.push_back(fs_path.lexically_normal().string());
    }
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
    table.reject_unknown_keys({"system_paths", "user", "require", "memory_cgroup", "namespaces", "pids_cgroup", "cpu_cgroup"});
    SandboxSettings settings;
    if (table.find("system_paths") != nullptr)
        settings.system_paths = parse_system_paths(table);
    if (const auto user = table.string("user", "a string naming a user account, e.g. \"nobody\"")) {
        const auto ids = lookup_user(user->value);
        if (!ids)
            table.fail(*user->node, "unknown user " + in_quotes(user->value) + " in " +
                                        table.context() +
                                        "; user must name an existing account (see getent passwd)");
        settings.user = user->value;
        settings.user_id = ids->uid;
        settings.group_id = ids->gid;
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
    return settings;
}

SandboxSettings builtin_sandbox_defaults() {
    SandboxSettings defaults;
    // What the dynamic loader reads on Debian; /lib64 does not exist on every architecture.
    std::vector<std::string> paths;
    for (const char* path : {"/usr", "/lib", "/lib64", "/etc/ld.so.cache"}) {
        std::error_code error;
        if (std::filesystem::exists(path, error))
            paths.emplace_back(path);
    }
    defaults.system_paths = std::move(paths);
    if (const auto ids = lookup_user("nobody")) {
        defaults.user = "nobody";
        defaults.user_id = ids->uid;
        defaults.group_id = ids->gid;
    }
    // Fail closed by default: a config must say `require = []` to run without a layer.
    defaults.require = std::set<IsolationLayer>{IsolationLayer::Seccomp, IsolationLayer::Landlock,
                                                IsolationLayer::NoNewPrivs};
    // A memory cgroup where the host can make one; unprivileged hosts keep working.
    defaults.memory_cgroup = MemoryCgroupMode::Auto;
    // Private namespaces where the host can create them (root).
    defaults.namespaces = NamespacesMode::Auto;
    return defaults;
}

void apply_sandbox(PluginConfig& plugin_config, const SandboxSettings& builtin,
                   const SandboxSettings& host, const SandboxSettings& plugin) {
    // Each key is taken whole from the most specific place that sets it: plugin, host, built-in.
    auto pick = [&](auto member) -> const auto& {
        if (plugin.*member)
            return plugin.*member;
        if (host.*member)
            return host.*member;
        return builtin.*member;
    };
    plugin_config.system_paths = pick(&SandboxSettings::system_paths).value_or(std::vector<std::string>{});
    const SandboxSettings& user_source = plugin.user ? plugin : host.user ? host : builtin;
    plugin_config.user = user_source.user;
    plugin_config.user_id = user_source.user_id;
    plugin_config.group_id = user_source.group_id;
    plugin_config.required_layers = pick(&SandboxSettings::require).value_or(std::set<IsolationLayer>{});
    plugin_config.memory_cgroup = pick(&SandboxSettings::memory_cgroup).value_or(MemoryCgroupMode::Auto);
    plugin_config.namespaces = pick(&SandboxSettings::namespaces).value_or(NamespacesMode::Auto);
    plugin_config.pids_cgroup = pick(&SandboxSettings::pids_cgroup).value_or(CgroupMode::Auto);
    plugin_config.cpu_cgroup = pick(&SandboxSettings::cpu_cgroup).value_or(CgroupMode::Auto);
}

} // namespace airlock::host::config_detail
