#pragma once
// The section parsers: one per part of the schema, each in its own .cpp file. Each takes a
// TableReader for its table, validates everything in it and returns plain structures.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "airlock/host/plugin_config.hpp"
#include "airlock/host/plugin_spec.hpp"
#include "toml_reader.hpp"

namespace airlock::host::config_detail {

/// `[sandbox]` or `[plugin.NAME.sandbox]`: each key is optional so that a plugin's table
/// overrides only what it names.
struct SandboxSettings {
    std::optional<std::vector<std::string>> system_paths;
    std::optional<std::string> user;
    std::optional<std::set<IsolationLayer>> require;
    std::optional<MemoryCgroupMode> memory_cgroup;
    std::optional<NamespacesMode> namespaces;
    std::optional<CgroupMode> pids_cgroup;
    std::optional<CgroupMode> cpu_cgroup;
    std::optional<bool> dynamic_user;
};

/// Parses a [sandbox]-shaped table (sandbox_section.cpp).
SandboxSettings parse_sandbox(const TableReader& table);

/// Sets `spec`'s sandbox settings, each key from the more specific of `plugin` and `host`
/// that sets it; keys neither sets keep the spec's built-in defaults (sandbox_section.cpp).
void apply_sandbox(PluginSpec& spec, const SandboxSettings& host, const SandboxSettings& plugin);

/// `[host]`: control socket settings, stored into `config` (host_section.cpp).
void parse_host(const TableReader& table, HostConfig& config);

/// `[plugin.NAME.limits]` into `spec` (limits_section.cpp).
void parse_limits(const TableReader& table, PluginSpec& spec);

/// `[plugin.NAME.syscalls]` into `spec` (syscalls_section.cpp).
void parse_syscalls(const TableReader& table, PluginSpec& spec);

/// `[plugin.NAME.grants]` into `spec`, in file order (grants_section.cpp).
void parse_grants(const TableReader& table, PluginSpec& spec);

/// `[plugin.NAME]` and everything beneath it into a spec, each value located where it is
/// written; PluginSpec::build() validates (plugin_section.cpp). `plugin_sandbox` receives the
/// plugin's own [plugin.NAME.sandbox] settings, applied over [sandbox] by apply_sandbox.
PluginSpec parse_plugin(const toml::key& name, const toml::node& node, const LoadContext& load,
                        SandboxSettings& plugin_sandbox);

/// Across all plugins once parsed (writable_grants_check.cpp): refuses a grant path, an
/// executable or a system path that lies inside (or equals) a writable dir grant of any
/// plugin, unless the grant sets inside_writable = true; fills each plugin's
/// config_writable_directories.
void check_paths_inside_writable_grants(HostConfig& config);
/// Refuses a config file (`path`, as read; also where its links lead) that lies inside a
/// writable dir grant of any of its plugins: that plugin could rewrite its own confinement
/// for the next load (a restart or SIGHUP).
void check_config_file_outside_writable_grants(const HostConfig& config, const std::string& path);

/// Warnings for paths the plugin's user (when the host runs as root and drops to it) cannot
/// use as configured: an executable it cannot read and execute, a dir grant it cannot
/// search, read or write as its access says. One line each, e.g. `plugin runs as nobody
/// (65534); /srv/out is 0700 root:root, so it cannot write there`.
std::vector<std::string> plugin_user_access_warnings(const PluginConfig& plugin);

} // namespace airlock::host::config_detail
