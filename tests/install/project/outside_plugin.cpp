// A plugin built out of tree against the installed SDK. Started without a host it reports
// the SDK's error and exits 78 (EX_CONFIG), which is what the install test checks.
// Under a host (embedder.cpp) it answers "ping" with the text it was sent.
#include "ping_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <cstdio>

int main() {
    try {
        airlock::plugin::Plugin plugin;
        plugin.on<Ping, Ping>("ping", [](Ping& ping) { return ping; });
        return plugin.run();
    } catch (const airlock::plugin::PluginError& error) {
        std::printf("outside_plugin: %s\n", error.what());
        return 78;
    }
}
