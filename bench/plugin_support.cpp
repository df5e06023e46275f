#include "plugin_support.hpp"

#include <airlock/host/config_loader.hpp>

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

ReadyPlugin connect(airlock::host::SpawnedPlugin spawned, std::chrono::milliseconds timeout) {
    auto client = airlock::host::PluginClient::connect(spawned, timeout);
    if (!client)
        throw std::runtime_error(spawned.name + " did not get ready: " + client.status().to_string() + "\n" +
                                 drain(spawned.stderr_pipe.get()));
    return ReadyPlugin{std::move(spawned), std::make_unique<airlock::host::PluginClient>(std::move(*client))};
}

void stop(ReadyPlugin& plugin, std::chrono::milliseconds timeout) {
    const std::string& name = plugin.spawned.name;
    auto reply = plugin.client->stop(timeout);
    if (!reply) throw std::runtime_error(name + " stop: " + reply.status().to_string());
    airlock::host::PluginExit exit = plugin.spawned.process.wait();
    if (exit.signaled || exit.exit_code != 0) throw std::runtime_error(name + " " + exit.describe());
}

} // namespace bench
