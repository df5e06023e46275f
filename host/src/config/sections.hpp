#pragma once
// The section parsers: one per part of the schema, each in its own .cpp file. Each takes a
// TableReader for its table, validates everything in it and returns plain structures.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "airlock/host/plugin_config.hpp"
#include "toml_reader.hpp"

namespace airlock::host::config_detail {

/// `[sandbox]` or `[plugin.NAME.sandbox]`: each key is optional so that a plugin's table
/// overrides only what it names.
struct SandboxSettings {
    std::optional<std::vector<std::string>> system_paths;
    std::optional<std::string> user;
    std::optional<std::uint32_t> user_id;
    std::optional<std::uint32_t> group_id;
    std::optional<std::set<IsolationLayer>> require;
    std::optional<MemoryCgroupMode> memory_cgroup;
    std::optional<NamespacesMode> namespaces;
    std::optional<CgroupMode> pids_cgroup;
    std::optional<CgroupMode> cpu_cgroup;
};

/// Parses a [sandbox]-shaped table (sandbox_section.cpp).
SandboxSettings parse_sandbox(const TableReader& table);

/// Host-wide defaults for keys [sandbox] leaves out (sandbox_section.cpp).
SandboxSettings builtin_sandbox_defaults();

/// Sets `plugin_config`'s sandbox fields, each key from the most specific of `plugin`,
/// `host` and `builtin` that sets it (sandbox_section.cpp).
void apply_sandbox(PluginConfig& plugin_config, const SandboxSettings& builtin,
                   const SandboxSettings& host, const SandboxSettings& plugin);

/// `[host]`: control socket settings, stored into `config` (host_section.cpp).
void parse_host(const TableReader& table, HostConfig& config);

/// `[plugin.NAME.limits]` (limits_section.cpp).
Limits parse_limits(const TableReader& table);

/// `[plugin.NAME.syscalls]`, or the defaults when the plugin has none (syscalls_section.cpp).
SyscallPolicy parse_syscalls(const TableReader* table);

/// `[plugin.NAME.grants]`, in file order (grants_section.cpp).
std::vector<GrantConfig> parse_grants(const TableReader& table);

/// `[plugin.NAME]` and everything beneath it except the sandbox merge (plugin_section.cpp).
/// `plugin_sandbox` receives the plugin's own [plugin.NAME.sandbox] settings.
PluginConfig parse_plugin(const toml::key& name, const toml::node& node, const LoadContext& load,
                          SandboxSettings& plugin_sandbox);

/// Across all plugins once parsed (writable_grants_check.cpp): refuses a grant path, an
/// executable or a system path that lies inside (or equals) a writable dir grant of any
/// plugin, unless the grant sets inside_writable = true; fills each plugin's
/// config_writable_directories.
void check_paths_inside_writable_grants(HostConfig& config);

/// Warnings for paths the plugin's user (when the host runs as root and drops to it) cannot
/// use as configured: an executable it cannot read and execute, a dir grant it cannot
/// search, read or write as its access says. One line each, e.g. `plugin runs as nobody
/// (65534); /srv/out is 0700 root:root, so it cannot write there`.
std::vector<std::string> plugin_user_access_warnings(const PluginConfig& plugin);

} // namespace airlock::host::config_detail
