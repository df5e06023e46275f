#pragma once
// The CPU weight of a supervised plugin relative to its host (docs/supervisor.md, "CPU weight").

#include <sys/types.h>

namespace airlock::host::detail {

/// The nice value the supervisor gives each plugin's scheduler autogroup.
///
/// Every plugin is a session of its own (setsid), so with sched_autogroup it is an
/// autogroup of its own, weighted like the host's whole session whatever the plugin's nice:
/// seven busy plugins left the host about 20% of one CPU and its calls 30x slower
/// (bench/soak_bench). At 10 an autogroup weighs 110 against the host's 1024.
inline constexpr int kPluginAutogroupNice = 10;

/// Writes kPluginAutogroupNice to /proc/PID/autogroup, only while `pidfd` (the plugin's
/// own, PluginProcess::own_pidfd) shows the process alive: under a PID namespace the plugin
/// is the init's child, reaped by the init the moment it exits, and its pid can then name
/// any new process of the machine. Best effort: without CONFIG_SCHED_AUTOGROUP the file does
/// not exist and nothing needs lowering; with no pidfd (-1) nothing is written.
void lower_plugin_cpu_weight(pid_t pid, int pidfd) noexcept;

} // namespace airlock::host::detail
