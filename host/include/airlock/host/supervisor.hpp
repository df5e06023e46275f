#pragma once
/// @file supervisor.hpp
/// Keeps a set of confined plugins alive and callable from one Boost.Asio event loop
/// (what `airlock-host run CONFIG` and embedding applications use; see docs/supervisor.md).
///
/// One `boost::asio::io_context` owns every plugin: its pidfd, connection socket, stdout and
/// stderr pipes and seccomp listener are watched with `stream_descriptor::async_wait`; no
/// thread is started per plugin. All member functions must be called on the io_context's
/// thread (the thread running `io.run()`), and every callback runs there too.
///
/// Each plugin moves through starting → handshaking → ready → stopping → exited / failed.
/// Restart policy (`restart = "no" | "on-failure" | "always"`) with exponential backoff
/// (`restart_delay` doubling up to `restart_max_delay`) and a start limit
/// (`start_limit_burst` starts within `start_limit_interval` → `failed`, no more restarts).
/// Host events are logged as `[host] plugin NAME: ...`, plugin output and SDK log records as
/// `[NAME] text`, one line each, to standard output and to a bounded per-plugin ring.

#include <airlock/connection/codec.hpp>
#include <airlock/connection/message.hpp>
#include <airlock/connection/status.hpp>
#include <airlock/connection/type_spec.hpp>
#include <airlock/host/plugin_config.hpp>
#include <airlock/host/plugin_spec.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <boost/asio/io_context.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace airlock::host {

/// Where a supervised plugin is in its lifecycle.
enum class PluginState {
    Starting,     ///< being launched (or waiting out a restart delay)
    Handshaking,  ///< process running; connection handshake, grant table, waiting for ready
    Ready,        ///< the plugin announced its methods and answers calls
    Stopping,     ///< stop request sent; SIGTERM / SIGKILL follow after stop_timeout
    Exited,       ///< not running (stopped, or exited and not to be restarted)
    Failed,       ///< not running and given up on (start limit hit, or cannot be launched)
};

/// "starting", "handshaking", "ready", "stopping", "exited" or "failed". Inline: the control
/// server uses it without linking the supervisor's implementation.
inline const char* plugin_state_name(PluginState state) noexcept {
    switch (state) {
    case PluginState::Starting: return "starting";
    case PluginState::Handshaking: return "handshaking";
    case PluginState::Ready: return "ready";
    case PluginState::Stopping: return "stopping";
    case PluginState::Exited: return "exited";
    case PluginState::Failed: return "failed";
    }
    return "?";
}

/// A snapshot of one supervised plugin.
struct PluginStatus {
    std::string name;
    PluginState state = PluginState::Exited;
    pid_t pid = -1;                      ///< -1 when not running
    std::chrono::milliseconds uptime{0};  ///< since the current process was started; 0 when not running
    unsigned restarts = 0;               ///< automatic and requested restarts so far
    std::string last_exit;       ///< e.g. "exited with status 1", "killed by signal 9", empty if none
    std::string last_violation;  ///< the last violation report line, empty if none
    /// Forbidden system calls the host observed, over all its processes (including those whose
    /// report lines the rate limit left out).
    std::uint64_t violations = 0;
    /// Calls made through the supervisor (call_raw / call) to this plugin, over all its
    /// processes, and how many of them ended without a reply (refused, timed out, failed).
    std::uint64_t calls = 0;
    std::uint64_t call_errors = 0;
    /// Request bytes sent to the plugin and reply bytes received from it by those calls.
    std::uint64_t bytes_out = 0;
    std::uint64_t bytes_in = 0;
    /// CPU time the host's event loop spent on this plugin's traffic (connection, output,
    /// violations), over all its processes.
    std::chrono::nanoseconds host_cpu{0};
    /// Times its output or violation notifications were left waiting because it cost the loop
    /// more than its budget of host CPU time (docs/supervisor.md, "Budgets").
    std::uint64_t budget_pauses = 0;
    /// The latest `progress` report of the current process (the SDK's `Plugin::progress`);
    /// empty when it has sent none.
    std::optional<protocol::ProgressReport> progress;
    std::chrono::milliseconds progress_age{0};  ///< how long ago that report arrived
};

/// Lets whoever started a call through the supervisor give up on it (e.g. the control client
/// that asked for it disconnected): `cancel()` completes the call with `Cancelled` and sends
/// the plugin a Cancel, which its asynchronous handler observes. Used on the io thread.
class CallCanceller {
public:
    /// Gives up on the call; nothing once it has completed. Idempotent.
    void cancel() {
        auto action = std::move(action_);
        action_ = nullptr;
        if (action) action();
    }
    /// Set by the supervisor when the call starts.
    void arm(std::function<void()> action) { action_ = std::move(action); }

private:
    std::function<void()> action_;
};

/// Options of one call through the supervisor.
struct CallOptions {
    /// How long to wait for the reply; default: the plugin's `call_timeout`. Sent to the plugin
    /// as the call's deadline.
    std::optional<std::chrono::milliseconds> timeout;
    /// The deadline of whoever asked for the call (e.g. a control client's request): the call
    /// gives up then, even when `timeout` is longer.
    std::optional<std::chrono::steady_clock::time_point> deadline{};
    /// When set, armed so that `canceller->cancel()` gives up on the call.
    std::shared_ptr<CallCanceller> canceller{};
};

/// The supervisor. See the file comment.
class Supervisor {
public:
    /// Takes the plugins described in code (plugin_spec.hpp); does not start anything.
    /// @throws ConfigError when a spec is invalid (build_host_config).
    Supervisor(boost::asio::io_context& io, const std::vector<PluginSpec>& plugins);
    /// Takes a loaded configuration (`load_config(path)`, config_loader.hpp; it carries the
    /// [host] control settings too); does not start anything.
    Supervisor(boost::asio::io_context& io, HostConfig config);
    /// Kills (SIGKILL) and reaps every plugin still running; cancels all pending callbacks.
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    /// Starts every configured plugin (asynchronously: returns at once).
    void start_all();
    /// A snapshot of every configured plugin, in name order.
    std::vector<PluginStatus> status() const;
    /// Starts a plugin that is not running (resets its start limit). NotFound for unknown names.
    airlock::Status start(const std::string& name);
    /// Graceful: stop request, then SIGTERM, then SIGKILL after stop_timeout. No restart follows.
    airlock::Status stop(const std::string& name);
    /// Stops the plugin gracefully (if running), then starts it again.
    airlock::Status restart(const std::string& name);

    /// The plugin's recent log lines (bounded ring), oldest first. Empty for unknown names.
    std::vector<std::string> recent_logs(const std::string& name) const;

    /// Receives every log line (host events and plugin output) as it is produced.
    using LogSubscriber = std::function<void(const std::string& plugin, const std::string& line)>;
    std::uint64_t subscribe_logs(LogSubscriber subscriber);
    void unsubscribe_logs(std::uint64_t id);

    /// The plugin's announced methods (from its ReadyNotice); NotFound / InvalidState when not ready.
    airlock::Result<std::vector<airlock::protocol::MethodAnnouncement>> methods(const std::string& name) const;
    /// The same without a copy (up to 8 MiB): shared with the plugin's session.
    airlock::Result<std::shared_ptr<const std::vector<airlock::protocol::MethodAnnouncement>>> announcements(
        const std::string& name) const;

    /// Runs `done` on the io thread, exactly once: with success as soon as the plugin is
    /// ready (at once if it already is), with an error when it will not become ready — it
    /// failed, exited without a restart to come, was removed, or `timeout` passed (Timeout).
    /// A plugin that crashes and is restarted is waited for. NotFound for unknown names.
    /// `canceller`, when given, ends the wait early: `done` then gets Cancelled and nothing of
    /// the wait stays (a control client that leaves takes its waits with it).
    void when_ready(const std::string& name, std::chrono::milliseconds timeout,
                    std::function<void(airlock::Status)> done, std::shared_ptr<CallCanceller> canceller = nullptr);
    /// How many when_ready() waits on `name` are outstanding (0 for unknown names).
    [[nodiscard]] std::size_t ready_waiters(const std::string& name) const;

    /// Calls a plugin method with an encoded request body and the descriptors it refers to
    /// (sent as duplicates: the caller keeps its own); `done` runs on the io thread, exactly
    /// once, with the reply (its descriptors owned by the Message) or an error: NotFound,
    /// InvalidState (not ready), Timeout, Cancelled, PeerClosed, HandlerFailed (the
    /// plugin's handler failed, with its message).
    void call_raw(const std::string& name, const std::string& method, std::span<const std::uint8_t> body,
                  std::span<const int> fds, std::function<void(airlock::Result<airlock::Message>)> done,
                  CallOptions options = {});

    /// A typed call: checks that `Request`/`Reply` describe exactly the types the plugin
    /// announced for `method` (ProtocolMismatch otherwise, before anything is sent), encodes
    /// the request (descriptor members included), calls and decodes the reply.
    /// @code
    /// supervisor.call<GreetRequest, GreetReply>("hello", "greet", {"world"},
    ///     [](airlock::Result<GreetReply> reply) { ... });
    /// @endcode
    template <class Request, class Reply>
    void call(const std::string& name, const std::string& method, const Request& request,
              std::type_identity_t<std::function<void(airlock::Result<Reply>)>> done, CallOptions options = {}) {
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        airlock::Status status = check_method_types(name, method, describe(spec_of<Request>()), describe(spec_of<Reply>()));
        if (status.ok()) status = encode_value(request, body, fds);
        if (!status.ok()) {
            return post([status = std::move(status), done = std::move(done)]() { done(status); });
        }
        call_raw(name, method, body, fds,
                 [done = std::move(done)](airlock::Result<airlock::Message> reply) {
                     if (!reply) return done(reply.status());
                     done(decode_value<Reply>(reply->body, std::move(reply->fds)));
                 },
                 options);
    }

    /// Stops every plugin gracefully; `done` runs once all of them are down.
    void stop_all(std::function<void()> done);

    /// Applies a new configuration: plugins whose configuration changed are restarted,
    /// removed ones stopped, new ones started, unchanged ones untouched.
    airlock::Status reload(HostConfig config);
    /// The same for plugins described in code. @throws ConfigError (nothing changes then).
    airlock::Status reload(const std::vector<PluginSpec>& plugins);

    /// Where log lines are written besides the rings (default: standard output, fd 1;
    /// -1 = nowhere; not owned). Written by a thread of the supervisor's own through a bounded
    /// queue (1 MiB): an output that is not read fast enough loses lines — reported as
    /// "[host] N log lines dropped ..." once it moves again — and never stalls the loop.
    void set_output_fd(int fd);

private:
    // OK when `method` of plugin `name` was announced with exactly these type descriptions.
    airlock::Status check_method_types(const std::string& name, const std::string& method,
                                       const std::string& request_type, const std::string& reply_type) const;
    // Runs `work` later on the io thread (so that every completion arrives the same way).
    void post(std::function<void()> work);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace airlock::host
