#include "plugin_support.hpp"

#include <airlock/host/config_loader.hpp>

#include <memory>
#include <stdexcept>
#include <utility>

namespace bench {

airlock::host::PluginConfig example_plugin_config(TempDir& dir, const std::string& name, const std::string& exec,
                                                  const std::string& memory) {
    const std::string table = "plugin." + name;
    const std::string toml = "[" + table + "]\n"
                             "exec = \"" + exec + "\"\n"
                             "protocol = \"airlock\"\n"
                             "\n"
                             "[" + table + ".limits]\n"
                             "memory = \"" + memory + "\"\n"
                             "open_files = 32\n"
                             "processes = 1\n"
                             "\n"
                             "[" + table + ".syscalls]\n"
                             "profile = \"default\"\n";
    return airlock::host::load_config(dir.write(name + ".toml", toml)).plugins.at(name);
}

ReadyPlugin connect(const airlock::host::Spawner& spawner) {
    // Kept while it starts (the sink outlives this call, so it owns the text).
    auto stderr_text = std::make_shared<std::string>();
    airlock::host::PluginClient::Events events;
    events.output = [stderr_text](const airlock::host::OutputLine& line, const std::string&) {
        if (line.stream == airlock::host::OutputStream::Stderr && stderr_text->size() < 65536)
            *stderr_text += line.text + "\n";
    };
    auto client = airlock::host::PluginClient::start(spawner, std::move(events));
    if (!client)
        throw std::runtime_error(spawner.plugin().name + " did not get ready: " + client.status().to_string() + "\n" +
                                 *stderr_text);
    return ReadyPlugin{std::make_unique<airlock::host::PluginClient>(std::move(*client))};
}

void stop(ReadyPlugin& plugin) {
    airlock::host::PluginExit exit = plugin.client->stop();
    if (exit.signaled || exit.exit_code != 0) throw std::runtime_error(plugin.client->name() + " " + exit.describe());
}

} // namespace bench
