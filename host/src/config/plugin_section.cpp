// [plugin.NAME]: what to run and how, plus the supervisor's lifecycle keys. The sandbox
// sub-sections are parsed by their own files; this one ties them together.
#include <unistd.h>

#include <filesystem>

#include "sections.hpp"
#include "value_readers.hpp"

namespace airlock::host::config_detail {
namespace {

namespace fs = std::filesystem;


// Relative paths start from the config file's directory, so a config means the same
// thing whatever directory the host is started from.
std::string resolve_executable(const TableReader& plugin) {
    const auto exec = plugin.string("exec", "a string (path of the plugin's executable)");
    if (!exec)
        plugin.fail(plugin.table(), plugin.context() +
                                        " has no exec; set exec to the plugin's executable, absolute or "
                                        "relative to the config file's directory");
    if (exec->value.empty())
        plugin.fail(*exec->node, "exec of " + plugin.context() +
                                     " is empty; set it to the plugin's executable");
    fs::path path(exec->value);
    const bool relative = path.is_relative();
    if (relative)
        path = plugin.load().base_dir / path;
    path = path.lexically_normal();
    const std::string shown = in_quotes(path.string()) +
                              (relative ? " (exec " + in_quotes(exec->value) +
                                              " relative to the config file's directory)"
                                        : "");
    std::error_code error;
    const auto status = fs::status(path, error);
    if (!fs::exists(status))
        plugin.fail(*exec->node, "executable " + shown + " of " + plugin.context() +
                                     " does not exist; exec must name an existing executable file, "
                                     "absolute or relative to the config file's directory");
    if (!fs::is_regular_file(status))
        plugin.fail(*exec->node, "executable " + shown + " of " + plugin.context() +
                                     " is not a regular file; exec must name an executable file");
    if (access(path.c_str(), X_OK) != 0)
        plugin.fail(*exec->node, "executable " + shown + " of " + plugin.context() +
                                     " is not executable; chmod +x it or name an executable file");
    return path.string();
}

std::vector<std::string> read_args(const TableReader& plugin) {
    std::vector<std::string> args;
    if (const auto list = plugin.string_array("args", "an array of strings (the plugin's arguments)"))
        for (const auto& arg : *list)
            args.push_back(arg.value);
    return args;
}

bool is_reserved_variable(std::string_view name, PluginProtocol protocol) {
    if (name.starts_with("AIRLOCK_"))
        return true;
    // With protocol "none" the host passes grants the systemd way and sets these itself.
    return protocol == PluginProtocol::None &&
           (name == "LISTEN_FDS" || name == "LISTEN_FDNAMES" || name == "LISTEN_PID");
}

std::map<std::string, std::string> read_env(const TableReader& plugin, PluginProtocol protocol) {
    std::map<std::string, std::string> env;
    const auto table = plugin.table("env", "env of " + plugin.context(),
                                    "a table of strings, e.g. { LANG = \"C.UTF-8\" }");
    if (!table)
        return env;
    for (const auto& [key, node] : table->entries_in_file_order()) {
        const std::string name(key->str());
        if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos)
            fail_at(plugin.load(), key->source(),
                    "invalid environment variable name " + in_quotes(name) + " in " + table->context() +
                        "; names must be non-empty and contain no '=' or NUL");
        if (is_reserved_variable(name, protocol))
            fail_at(plugin.load(), key->source(),
                    "environment variable " + in_quotes(name) + " in " + table->context() +
                        " is reserved; AIRLOCK_* (and LISTEN_* with protocol \"none\") are set by "
                        "the host");
        const auto value = table->string(name, "a string");
        env.emplace(name, value->value);
    }
    return env;
}

PluginProtocol read_protocol(const TableReader& plugin) {
    const auto protocol = plugin.string("protocol", "\"airlock\" or \"none\"");
    if (!protocol || protocol->value == "airlock")
        return PluginProtocol::Airlock;
    if (protocol->value == "none")
        return PluginProtocol::None;
    plugin.fail(*protocol->node, "unknown protocol " + in_quotes(protocol->value) + " in " +
                                     plugin.context() + "; allowed: \"airlock\", \"none\"");
}

StdioMode read_stdio(const TableReader& plugin) {
    const auto stdio = plugin.string("stdio", "\"inherit\" or \"log\"");
    if (!stdio || stdio->value == "inherit")
        return StdioMode::Inherit;
    if (stdio->value == "log")
        return StdioMode::Log;
    plugin.fail(*stdio->node, "unknown stdio " + in_quotes(stdio->value) + " in " + plugin.context() +
                                  "; allowed: \"inherit\", \"log\"");
}

RestartPolicy read_restart(const TableReader& plugin) {
    const auto restart = plugin.string("restart", "\"no\", \"on-failure\" or \"always\"");
    if (!restart || restart->value == "on-failure")
        return RestartPolicy::OnFailure;
    if (restart->value == "no")
        return RestartPolicy::No;
    if (restart->value == "always")
        return RestartPolicy::Always;
    plugin.fail(*restart->node, "unknown restart " + in_quotes(restart->value) + " in " +
                                    plugin.context() + "; allowed: \"no\", \"on-failure\", \"always\"");
}

SupervisionConfig read_supervision(const TableReader& plugin) {
    SupervisionConfig supervision;
    supervision.restart = read_restart(plugin);
    auto duration = [&](std::string_view key, std::chrono::milliseconds& out) {
        if (plugin.find(key))
            out = read_duration(plugin, key, key);
    };
    duration("restart_delay", supervision.restart_delay);
    duration("restart_max_delay", supervision.restart_max_delay);
    duration("start_limit_interval", supervision.start_limit_interval);
    duration("ready_timeout", supervision.ready_timeout);
    duration("call_timeout", supervision.call_timeout);
    duration("stop_timeout", supervision.stop_timeout);
    duration("host_cpu_budget", supervision.host_cpu_budget);
    if (supervision.host_cpu_budget.count() < 1 || supervision.host_cpu_budget.count() > 1000)
        plugin.fail(*plugin.find("host_cpu_budget"), "host_cpu_budget in " + plugin.context() +
                                                         " is out of range; allowed: 1ms to 1000ms (per second)");
    if (const auto burst = plugin.integer("start_limit_burst", "a positive integer (starts)")) {
        if (*burst < 1 || *burst > 1'000'000)
            plugin.fail(*plugin.find("start_limit_burst"),
                        "start_limit_burst " + std::to_string(*burst) + " in " + plugin.context() +
                            " is out of range; allowed: 1 to 1000000 starts");
        supervision.start_limit_burst = static_cast<std::uint32_t>(*burst);
    }
    if (supervision.restart_max_delay < supervision.restart_delay)
        plugin.fail(*plugin.find(plugin.find("restart_max_delay") ? "restart_max_delay" : "restart_delay"),
                    "restart_max_delay is shorter than restart_delay in " + plugin.context() +
                        "; the backoff ceiling must be at least the first delay");
    return supervision;
}

} // namespace

PluginConfig parse_plugin(const toml::key& name, const toml::node& node, const LoadContext& load,
                          SandboxSettings& plugin_sandbox) {
    const std::string context = "plugin " + in_quotes(name.str());
    if (!is_valid_name(name.str()))
        fail_at(load, name.source(),
                "invalid plugin name " + in_quotes(name.str()) +
                    "; plugin names may contain only letters, digits, '_' and '-'");
    const auto* table = node.as_table();
    if (table == nullptr)
        fail_at(load, node.source(),
                context + " must be a table such as [plugin." + std::string(name.str()) + "], not " +
                    describe_type(node));
    const TableReader plugin(*table, context, load);
    plugin.reject_unknown_keys({"exec", "args", "env", "protocol", "limits", "syscalls", "grants",
                                "sandbox", "restart", "restart_delay", "restart_max_delay",
                                "start_limit_burst", "start_limit_interval", "ready_timeout",
                                "call_timeout", "stop_timeout", "stdio", "host_cpu_budget"});
    const std::string section = "[plugin." + std::string(name.str());

    PluginConfig config;
    config.name = name.str();
    config.where = location_of(load, node.source());
    config.executable = resolve_executable(plugin);
    config.args = read_args(plugin);
    config.protocol = read_protocol(plugin);
    config.env = read_env(plugin, config.protocol);
    if (const auto limits = plugin.table("limits", section + ".limits]", "a table ([plugin.NAME.limits])"))
        config.limits = parse_limits(*limits);
    if (!config.limits.tasks)
        config.limits.tasks = kDefaultTasksLimit;
    const auto syscalls = plugin.table("syscalls", section + ".syscalls]", "a table ([plugin.NAME.syscalls])");
    config.syscalls = parse_syscalls(syscalls ? &*syscalls : nullptr);
    if (const auto grants = plugin.table("grants", section + ".grants]", "a table ([plugin.NAME.grants])"))
        config.grants = parse_grants(*grants);
    if (const auto sandbox = plugin.table("sandbox", section + ".sandbox]", "a table ([plugin.NAME.sandbox])"))
        plugin_sandbox = parse_sandbox(*sandbox);
    config.supervision = read_supervision(plugin);
    config.stdio = read_stdio(plugin);
    return config;
}

} // namespace airlock::host::config_detail
