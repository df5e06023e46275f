#pragma once
/// @file control_protocol.hpp
/// The control protocol "airlock.control/1" between `airlockctl` (or any client) and the
/// host's control endpoint (`airlock::host::ControlServer`, a `Local` listener).
///
/// Every operation is a method; the client calls, the server answers. A refused peer (its
/// effective uid is not allowed) gets a `PermissionDenied` error reply to its first call and
/// the connection is closed. Other failures come back as error replies carrying the
/// supervisor's status (`NotFound` for an unknown plugin or method, `InvalidState` for a plugin
/// that is not ready, `InvalidParameter` for JSON that does not fit the type, ...).
///
/// ## Tag table
/// | tag | name          | kind                                        |
/// |-----|---------------|---------------------------------------------|
/// | 1   | `status`      | method `StatusRequest` → `StatusReply`      |
/// | 2   | `start`       | method `PluginRequest` → `ActionReply`      |
/// | 3   | `stop`        | method `PluginRequest` → `ActionReply`      |
/// | 4   | `restart`     | method `PluginRequest` → `ActionReply`      |
/// | 5   | `logs`        | method `PluginRequest` → `LogsReply` (recent lines, oldest first) |
/// | 6   | `describe`    | method `PluginRequest` → `DescribeReply`    |
/// | 7   | `call`        | method `CallRequest` → `CallReply` (JSON in, JSON out) |
/// | 8   | `follow_logs` | method `FollowLogsRequest` → `ActionReply`; afterwards the server pushes `log_line` notifications until the connection closes |
/// | 9   | `log_line`    | notification `LogLine`, server → client     |
/// | 10  | `wait_ready`  | method `WaitReadyRequest` → `ActionReply`: once the plugin is ready; an error when it will not be (failed, exited, removed) or after `timeout_ms` (`Timeout`) |

#include <airlock/connection/protocol.hpp>
#include <airlock/connection/types.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <cstdint>
#include <optional>

namespace airlock::protocol {

/// Where `airlock-host` listens and `airlockctl` connects unless told otherwise.
inline constexpr const char* kDefaultControlSocket = "/run/airlock/control.sock";

/// Tag 1 request: which plugins to report.
struct StatusRequest {
    String<64> plugin;  ///< one plugin's name, or empty for all of them
};
AIRLOCK_STRUCT(StatusRequest, plugin)

/// A plugin's latest progress report (see plugin_protocol.hpp, `progress`).
struct ProgressEntry {
    String<128> task;
    std::uint64_t done = 0;
    std::uint64_t total = 0;                ///< 0 when unknown
    String<512> message;
    std::uint64_t age_ms = 0;               ///< how long ago the host received it
};
AIRLOCK_STRUCT(ProgressEntry, task, done, total, message, age_ms)

/// One plugin's state (a `airlock::host::PluginStatus` on the wire).
struct PluginStatusEntry {
    String<64> name;
    String<16> state;               ///< "starting", "handshaking", "ready", "stopping", "exited", "failed"
    std::int32_t pid = -1;          ///< -1 when not running
    std::uint64_t uptime_ms = 0;    ///< 0 when not running
    std::uint32_t restarts = 0;
    String<512> last_exit;          ///< e.g. "exited with status 1"; empty if none
    String<1024> last_violation;    ///< the last violation report line; empty if none
    std::optional<ProgressEntry> progress;  ///< the current process's latest progress report
    // Counters over all the plugin's processes (airlockctl status / metrics).
    std::uint64_t calls = 0;        ///< calls through the supervisor
    std::uint64_t call_errors = 0;  ///< of those, ended without a reply
    std::uint64_t violations = 0;   ///< forbidden system calls observed
    std::uint64_t bytes_in = 0;     ///< reply bytes received from the plugin
    std::uint64_t bytes_out = 0;    ///< request bytes sent to the plugin
};
AIRLOCK_STRUCT(PluginStatusEntry, name, state, pid, uptime_ms, restarts, last_exit, last_violation, progress, calls,
               call_errors, violations, bytes_in, bytes_out)

/// Tag 1 reply, in name order.
struct StatusReply {
    Vector<PluginStatusEntry, 65536> plugins;
};
AIRLOCK_STRUCT(StatusReply, plugins)

/// Requests naming one plugin (start, stop, restart, logs, describe).
struct PluginRequest {
    String<64> plugin;
};
AIRLOCK_STRUCT(PluginRequest, plugin)

/// Reply of start, stop, restart and follow_logs.
struct ActionReply {
    String<1024> message;  ///< what happened, for people
};
AIRLOCK_STRUCT(ActionReply, message)

/// Tag 5 reply: the plugin's recent log lines (bounded ring), oldest first.
struct LogsReply {
    Vector<String<8192>, 65536> lines;
};
AIRLOCK_STRUCT(LogsReply, lines)

/// Tag 6 reply: the methods the plugin announced, with their canonical type descriptions.
struct DescribeReply {
    Vector<MethodAnnouncement, 256> methods;
};
AIRLOCK_STRUCT(DescribeReply, methods)

/// Tag 7 request: call `method` of `plugin` with `json_request` converted through the
/// method's announced request type.
struct CallRequest {
    String<64> plugin;
    String<64> method;
    String<4194304> json_request;
    std::optional<std::uint32_t> timeout_ms;  ///< the call's timeout; default: the plugin's call_timeout
};
AIRLOCK_STRUCT(CallRequest, plugin, method, json_request, timeout_ms)

/// Tag 7 reply: the plugin's reply, converted to compact JSON through the announced reply type.
struct CallReply {
    String<16777216> json_reply;
};
AIRLOCK_STRUCT(CallReply, json_reply)

/// Tag 8 request: push every new log line of `plugin` (all plugins when empty).
struct FollowLogsRequest {
    String<64> plugin;
    bool include_recent = false;  ///< first push the plugin's recent lines (needs a plugin name)
};
AIRLOCK_STRUCT(FollowLogsRequest, plugin, include_recent)

/// Tag 9, server → client: one log line.
struct LogLine {
    String<64> plugin;
    String<8192> line;
};
AIRLOCK_STRUCT(LogLine, plugin, line)

/// Tag 10 request: reply once `plugin` is ready (`airlockctl call --wait`).
struct WaitReadyRequest {
    String<64> plugin;
    std::uint32_t timeout_ms = 0;  ///< how long to wait at most
};
AIRLOCK_STRUCT(WaitReadyRequest, plugin, timeout_ms)

namespace control {
inline constexpr Method<StatusRequest, StatusReply> status{1, "status"};
inline constexpr Method<PluginRequest, ActionReply> start{2, "start"};
inline constexpr Method<PluginRequest, ActionReply> stop{3, "stop"};
inline constexpr Method<PluginRequest, ActionReply> restart{4, "restart"};
inline constexpr Method<PluginRequest, LogsReply> logs{5, "logs"};
inline constexpr Method<PluginRequest, DescribeReply> describe{6, "describe"};
inline constexpr Method<CallRequest, CallReply> call{7, "call"};
inline constexpr Method<FollowLogsRequest, ActionReply> follow_logs{8, "follow_logs"};
inline constexpr Notification<LogLine> log_line{9, "log_line"};
inline constexpr Method<WaitReadyRequest, ActionReply> wait_ready{10, "wait_ready"};
} // namespace control

/// The protocol "airlock.control/1" holding the tag table above.
const Protocol& control_protocol();

} // namespace airlock::protocol
