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

/// A plugin started by a PluginClient and ready (its output is dropped once it is ready;
/// killed and reaped when dropped).
struct ReadyPlugin {
    std::unique_ptr<airlock::host::PluginClient> client;
};

/// Starts a process of `spawner`'s plugin and waits until it is ready (its ready_timeout);
/// throws "NAME did not get ready: ..." with its stderr.
ReadyPlugin connect(const airlock::host::Spawner& spawner);

/// Graceful stop: the stop request (signals after stop_timeout), then exit status 0; throws otherwise.
void stop(ReadyPlugin& plugin);

} // namespace bench
