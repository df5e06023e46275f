// A plugin built out of tree against the installed SDK. Started without a host it reports
// the SDK's error and exits 78 (EX_CONFIG), which is what the install test checks.
// Under a host (embedder.cpp) it answers "ping" with the text it was sent.
#include "ping_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <cstdio>

#if defined(__SANITIZE_ADDRESS__)
// A sanitizer build's installed libraries are instrumented, so this plugin is too. Confined, it
// cannot ptrace itself or read /proc, which LeakSanitizer's check at exit needs: without this it
// would hang there until its host killed it, and its clean stop would read as a SIGKILL.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

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
