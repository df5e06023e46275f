// [plugin.NAME]: what to run and how, plus the supervisor's lifecycle keys. The sandbox
// sub-sections are parsed by their own files; this one ties them together.
#include "sections.hpp"

namespace airlock::host::config_detail {
namespace {


void read_exec(const TableReader& plugin, PluginSpec& spec) {
    const auto exec = plugin.string("exec", "a string (path of the plugin's executable)");
    if (!exec)
        return;  // PluginSpec::build() reports the missing exec at the plugin's table
    spec.exec(exec->value);
    spec.locate("exec", location_of(plugin.load(), exec->node->source()));
}

void read_args(const TableReader& plugin, PluginSpec& spec) {
    if (const auto list = plugin.string_array("args", "an array of strings (the plugin's arguments)"))
        for (const auto& arg : *list)
            spec.arg(arg.value);
}

void read_env(const TableReader& plugin, PluginSpec& spec) {
    const auto table = plugin.table("env", "env of " + plugin.context(),
                                    "a table of strings, e.g. { LANG = \"C.UTF-8\" }");
    if (!table)
        return;
    for (const auto& [key, node] : table->entries_in_file_order()) {
        const std::string name(key->str());
        spec.locate("env." + name, location_of(plugin.load(), key->source()));
        spec.env(name, table->string(name, "a string")->value);
    }
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

void read_supervision(const TableReader& plugin, PluginSpec& spec) {
    spec.restart(read_restart(plugin));
    using Setter = PluginSpec& (PluginSpec::*)(std::string_view);
    auto duration = [&](std::string_view key, Setter set) {
        if (!plugin.find(key))
            return;
        const auto text = *plugin.string(key, "a duration such as \"10s\" or \"500ms\"");
        (spec.*set)(text.value);
        spec.locate(std::string(key), location_of(plugin.load(), text.node->source()));
    };
    duration("restart_delay", &PluginSpec::restart_delay);
    duration("restart_max_delay", &PluginSpec::restart_max_delay);
    duration("start_limit_interval", &PluginSpec::start_limit_interval);
    duration("ready_timeout", &PluginSpec::ready_timeout);
    duration("call_timeout", &PluginSpec::call_timeout);
    duration("stop_timeout", &PluginSpec::stop_timeout);
    duration("host_cpu_budget", &PluginSpec::host_cpu_budget);
    auto size = [&](const char* key, PluginSpec& (PluginSpec::*as_text)(std::string_view),
                    PluginSpec& (PluginSpec::*as_bytes)(std::int64_t), const char* example) {
        const toml::node* value = plugin.find(key);
        if (!value) return;
        if (const auto* text = value->as_string())
            (spec.*as_text)(text->get());
        else if (const auto* bytes = value->as_integer())
            (spec.*as_bytes)(bytes->get());
        else
            plugin.fail_type(key, *value, std::string("a size such as \"") + example + "\" or an integer number of bytes");
        spec.locate(key, location_of(plugin.load(), value->source()));
    };
    size("max_message_size", &PluginSpec::max_message_size, &PluginSpec::max_message_size, "4MiB");
    size("host_log_budget", &PluginSpec::host_log_budget, &PluginSpec::host_log_budget, "64KiB");
    if (const auto burst = plugin.integer("start_limit_burst", "a positive integer (starts)")) {
        spec.start_limit_burst(*burst);
        spec.locate("start_limit_burst", location_of(plugin.load(), plugin.find("start_limit_burst")->source()));
    }
}

} // namespace

PluginSpec parse_plugin(const toml::key& name, const toml::node& node, const LoadContext& load,
                        SandboxSettings& plugin_sandbox) {
    const std::string context = "plugin " + in_quotes(name.str());
    PluginSpec spec{std::string(name.str())};
    spec.locate("", location_of(load, node.source()));
    spec.locate("name", location_of(load, name.source()));
    const auto* table = node.as_table();
    if (table == nullptr)
        fail_at(load, node.source(),
                context + " must be a table such as [plugin." + std::string(name.str()) + "], not " +
                    describe_type(node));
    const TableReader plugin(*table, context, load);
    plugin.reject_unknown_keys({"exec", "args", "env", "protocol", "limits", "syscalls", "grants",
                                "sandbox", "restart", "restart_delay", "restart_max_delay",
                                "start_limit_burst", "start_limit_interval", "ready_timeout",
                                "call_timeout", "stop_timeout", "stdio", "host_cpu_budget",
                                "max_message_size", "host_log_budget"});
    const std::string section = "[plugin." + std::string(name.str());

    spec.base_directory(load.base_dir.string());
    read_exec(plugin, spec);
    read_args(plugin, spec);
    spec.protocol(read_protocol(plugin));
    read_env(plugin, spec);
    if (const auto limits = plugin.table("limits", section + ".limits]", "a table ([plugin.NAME.limits])"))
        parse_limits(*limits, spec);
    if (const auto syscalls = plugin.table("syscalls", section + ".syscalls]", "a table ([plugin.NAME.syscalls])"))
        parse_syscalls(*syscalls, spec);
    if (const auto grants = plugin.table("grants", section + ".grants]", "a table ([plugin.NAME.grants])"))
        parse_grants(*grants, spec);
    if (const auto sandbox = plugin.table("sandbox", section + ".sandbox]", "a table ([plugin.NAME.sandbox])"))
        plugin_sandbox = parse_sandbox(*sandbox);
    read_supervision(plugin, spec);
    spec.stdio(read_stdio(plugin));
    return spec;
}

} // namespace airlock::host::config_detail
