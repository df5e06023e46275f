#pragma once
/// @file foreground_run.hpp
/// Runs one plugin to completion in the foreground (what `airlock-host exec` does).
///
/// One `PluginRunner` (the supervisor's lifecycle of one process) on an io_context of its
/// own, plus what only the foreground does: stdio relays, forwarded signals, learn mode and
/// the exit report.

#include <airlock/host/spawner.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace airlock::host {

/// Where `run_in_foreground` writes and what it forwards.
struct ForegroundOptions {
    std::vector<std::string> extra_args;  ///< appended to the configured args
    int input_fd = 0;                     ///< the plugin's stdin with `inherit_stdio`
    int output_fd = 1;                    ///< the plugin's stdout (lines prefixed unless `inherit_stdio`)
    int error_fd = 2;                     ///< its stderr and the host's reports go here
    /// Pass stdin, stdout and stderr through unchanged (`stdio = "inherit"`): a descriptor
    /// that is not a terminal is given to the plugin itself; a terminal is pumped through a
    /// pipe without loss (StreamRelay), so the plugin can never issue terminal ioctls
    /// (TIOCSTI, TCSETS) on the caller's terminal. Otherwise (`stdio = "log"`): stdin is
    /// /dev/null and output becomes `[name] line` lines, bounded in length, never dropped.
    bool inherit_stdio = false;
    /// Forward SIGINT/SIGTERM/SIGHUP/SIGQUIT received by the host to the plugin (which runs
    /// in its own session, so a terminal's Ctrl-C would not reach it otherwise). Blocks those
    /// signals in the calling thread while running.
    bool forward_signals = false;
};

/// Launches the plugin, passes its stdio through (`inherit_stdio`) or forwards its output
/// line by line as `[name] text`, reports how it ended (and any violation) on `error_fd`,
/// and returns its exit.
/// @throws SpawnError or GrantError when it cannot be started.
/// With `limits.wall`, a plugin still running after that long gets a stop request (SIGTERM
/// for protocol "none") and SIGKILL after `stop_timeout`; the host reports
/// wall_limit_exceeded() on `error_fd`.
PluginExit run_in_foreground(const Spawner& spawner, const ForegroundOptions& options);

/// "plugin NAME (pid N): exceeded its wall-clock limit of 30s" (the duration as a config
/// writes it), for `exec` and the supervisor alike.
std::string wall_limit_exceeded(const std::string& plugin, pid_t pid, std::chrono::milliseconds limit);

} // namespace airlock::host
