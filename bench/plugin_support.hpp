#pragma once
// Shared by the benchmarks that start a confined example plugin through the real host
// libraries (spawn_bench, checksum_bench): its config, connecting to it, stopping it. Kept
// apart from support.hpp, which the connection benchmarks use without the host libraries.

#include "support.hpp"

#include <airlock/host/plugin_client.hpp>
#include <airlock/host/plugin_config.hpp>
#include <airlock/host/spawner.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace bench {

/// The example's TOML as a benchmark runs it: `[plugin.NAME]` with the absolute path `exec`,
/// protocol "airlock", limits memory = `memory`, open_files = 32, processes = 1, and the
/// "default" syscall profile. Written as NAME.toml in `dir` and loaded by the real loader.
airlock::host::PluginConfig example_plugin_config(TempDir& dir, const std::string& name, const std::string& exec,
                                                  const std::string& memory);

/// A launched and connected plugin.
struct ReadyPlugin {
    airlock::host::SpawnedPlugin spawned;
    std::unique_ptr<airlock::host::PluginClient> client;
};

/// Connects to a plugin just launched; throws "NAME did not get ready: ..." with its stderr.
ReadyPlugin connect(airlock::host::SpawnedPlugin spawned,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Graceful stop: the stop request, then waiting for exit status 0; throws otherwise.
void stop(ReadyPlugin& plugin, std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace bench
