#pragma once
/// @file plugin_session.hpp
/// The host side of protocol "airlock.plugin/1" for one running plugin, never blocking:
/// the pid-checked handshake, the grant table, waiting for `ready` within the ready timeout,
/// log records and the stop request. Driven by PluginRunner on a Boost.Asio loop (the
/// supervisor, `airlock-host exec`, PluginClient).

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/host/output_pump.hpp>
#include <airlock/host/spawner.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace airlock::host {

/// Moves `plugin.grants_to_send` into the grant table message (names, kinds, access, sizes of
/// files and memfds, descriptors), leaving `grants_to_send` empty. Used by every host-side
/// implementation of the handshake so the table is built one way.
protocol::GrantTable take_grant_table(SpawnedPlugin& plugin);

/// OK when every method a plugin announced may be served: tag in the application range
/// (>= protocol::kFirstApplicationTag), name of 1 to 64 bytes of [A-Za-z0-9_.-], no name or
/// tag announced twice, and request and reply types that parse as type descriptions within
/// the limits of dynamic_value.hpp (no empty struct, bounded depth and size). Otherwise
/// InvalidParameter naming the method and the problem. Every host-side path that accepts a
/// ready notice checks it with this before the plugin counts as ready.
Status check_method_announcements(const protocol::ReadyNotice& ready);

/// Host side of the plugin protocol for one process. See the file comment.
class PluginSession {
public:
    using Clock = std::chrono::steady_clock;

    /// What the session tells its owner. Every callback is optional.
    struct Callbacks {
        /// A host event about this plugin, e.g. "refused: did not report ready within 5000 ms".
        std::function<void(const std::string& text)> report;
        /// One log-record line, already bounded, masked and formatted as `[name] text`.
        std::function<void(const std::string& line)> log_line;
        /// Each log record as received (for an owner that formats records itself).
        std::function<void(const protocol::LogRecord& record)> log_record;
        /// The plugin reported ready (its methods are in `methods()`).
        std::function<void()> ready;
        /// The plugin called `progress` (the session acknowledges it either way).
        std::function<void(const protocol::ProgressReport& report)> progress;
    };

    /// Adopts `plugin.connection` and starts the handshake; sends `plugin.grants_to_send`
    /// once the peer is verified. `plugin` must outlive the session.
    PluginSession(SpawnedPlugin& plugin, const SupervisionConfig& timeouts, Callbacks callbacks);
    PluginSession(const PluginSession&) = delete;
    PluginSession& operator=(const PluginSession&) = delete;
    ~PluginSession();

    /// The connection's socket, or -1 once it is closed.
    [[nodiscard]] int fd() const;
    /// Whether queued output waits for the socket to become writable.
    [[nodiscard]] bool wants_write() const;
    /// poll() events to wait for on fd().
    [[nodiscard]] short events() const;
    [[nodiscard]] bool ready() const noexcept { return phase_ == Phase::Ready; }
    /// Handshake done or not, the plugin has not reported ready yet.
    [[nodiscard]] bool waiting_for_ready() const noexcept {
        return phase_ == Phase::Handshaking || phase_ == Phase::WaitingReady;
    }
    /// The session refused the plugin (and sent it SIGKILL).
    [[nodiscard]] bool refused() const noexcept { return phase_ == Phase::Refused; }
    /// Why it was refused (empty unless refused()).
    [[nodiscard]] const std::string& refusal() const noexcept { return refusal_; }
    /// The refusal as a status: Timeout (no ready in time), PermissionDenied (the peer is not
    /// the spawned process), InvalidParameter (a bad ready notice), or the connection's error.
    [[nodiscard]] Status refusal_status() const { return Status(refusal_code_, refusal_); }
    /// The methods announced in the plugin's ReadyNotice.
    [[nodiscard]] const std::vector<protocol::MethodAnnouncement>& methods() const noexcept { return *methods_; }
    /// The same, shared: an announcement may be 8 MiB (256 methods, two 16 KiB type
    /// descriptions each), so a control request takes a reference, never a copy.
    [[nodiscard]] std::shared_ptr<const std::vector<protocol::MethodAnnouncement>> announcements() const noexcept {
        return methods_;
    }

    /// Handles poll() results for fd() (revents 0: only what is already received). Never
    /// throws: an exception while handling the plugin's messages (in decoding, a handler or
    /// a callback) refuses the plugin with the exception's text.
    void on_events(short revents);
    /// Refuses a plugin that did not report ready in time. Call with the current time.
    void check_deadline(Clock::time_point now);
    /// When check_deadline() next has something to do.
    [[nodiscard]] std::optional<Clock::time_point> deadline() const;
    /// Sends the stop request if the plugin is ready. Returns false when it cannot be asked.
    bool request_stop();
    /// Reads and handles whatever the plugin sent before it exited.
    void drain() { on_events(POLLIN_EVENTS); }
    /// Calls an application method by tag with an encoded body and the descriptors it refers
    /// to (duplicated when queued: the caller keeps its own); `done` runs from on_events() (or
    /// with Cancelled from close()). InvalidState when the plugin is not ready. `timeout`
    /// travels to the plugin as the call's deadline. Returns the id for cancel_call().
    Result<CallId> call_raw_async(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                                  CallSession::RawCompletion done,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// Gives up on a call started by call_raw_async: `done` runs now with Cancelled and the
    /// plugin is sent a Cancel. False when the call is no longer outstanding.
    bool cancel_call(CallId id) { return session_.cancel(id); }
    /// Closes the connection; pending calls complete with `reason`.
    void close(const Status& reason);
    /// Once ready(): hands the established connection over (to a blocking caller of its own);
    /// the session is closed then and must only be destroyed.
    Result<Connection> release_connection();

private:
    static constexpr short POLLIN_EVENTS = 0x001;  // POLLIN
    enum class Phase { Handshaking, WaitingReady, Ready, Stopping, Closed, Refused };

    void handle_events(short revents);
    void after_handshake();
    void connection_closed(const Status& reason);
    void refuse(const std::string& why, StatusCode code);
    void report(const std::string& text);
    void print_log(const protocol::LogRecord& record);

    SpawnedPlugin& plugin_;
    SupervisionConfig timeouts_;
    Callbacks callbacks_;
    Connection connection_;
    CallSession session_;
    OutputPump log_pump_;
    Phase phase_ = Phase::Handshaking;
    Clock::time_point ready_deadline_;
    std::string refusal_;
    StatusCode refusal_code_ = StatusCode::Success;
    std::shared_ptr<const std::vector<protocol::MethodAnnouncement>> methods_ =
        std::make_shared<const std::vector<protocol::MethodAnnouncement>>();
    std::uint64_t progress_reports_ = 0;
};

} // namespace airlock::host
