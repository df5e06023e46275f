#pragma once
/// @file spawn_violations.hpp
/// Connects a launched plugin to the sandbox library's violation monitor.
///
/// Only available when the host is built with the sandbox library (airlock::host_sandbox).

#include <airlock/host/spawner.hpp>
#include <airlock/host/violation_monitor.hpp>

#include <optional>

namespace airlock::host {

/// Wraps `plugin.seccomp_listener` (moved out) in a `ViolationMonitor` that applies the
/// plugin's `on_violation` policy. Empty when the plugin runs without a notifying filter.
std::optional<ViolationMonitor> make_violation_monitor(const Spawner& spawner, SpawnedPlugin& plugin);

} // namespace airlock::host
