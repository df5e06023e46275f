#pragma once
/// @file control_server.hpp
/// The host's control endpoint: a `Local` listener speaking "airlock.control/1"
/// (airlock/protocol/control_protocol.hpp) for `airlockctl`.
///
/// Every accepted connection is driven non-blocking from the Supervisor's io_context
/// (`stream_descriptor::async_wait`); no thread is started. Authorization comes from the
/// kernel: the peer's effective uid (`Connection::peer_token()`, SO_PEERCRED) must be one of
/// `allowed_users` (default: the host's own effective uid). A refused peer gets a
/// `PermissionDenied` error reply naming its uid to its first call, then the connection is
/// closed; the refusal is logged with the peer's uid and pid. A `logs --follow` client that
/// stops reading loses lines (it is told how many) instead of growing the host's memory.
///
/// @code
/// airlock::host::ControlServer control(io, supervisor, "/run/airlock/control.sock", {});
/// if (airlock::Status s = control.start(); !s.ok()) ...;
/// io.run();
/// @endcode

#include <airlock/connection/message.hpp>
#include <airlock/connection/status.hpp>
#include <airlock/host/supervisor.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <boost/asio/io_context.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace airlock::host {

/// What the control server needs from a supervisor. `Supervisor` is adapted by the
/// constructor taking a `Supervisor&`; tests and embedders may provide their own.
/// Every member is called on the io_context's thread.
class ControlBackend {
public:
    virtual ~ControlBackend() = default;
    virtual std::vector<PluginStatus> status() const = 0;
    virtual airlock::Status start(const std::string& name) = 0;
    virtual airlock::Status stop(const std::string& name) = 0;
    virtual airlock::Status restart(const std::string& name) = 0;
    virtual std::vector<std::string> recent_logs(const std::string& name) const = 0;
    virtual std::uint64_t subscribe_logs(Supervisor::LogSubscriber subscriber) = 0;
    virtual void unsubscribe_logs(std::uint64_t id) = 0;
    virtual airlock::Result<std::vector<airlock::protocol::MethodAnnouncement>> methods(const std::string& name) const = 0;
    /// The same, shared rather than copied: what `call` looks a method up in (an announcement
    /// may be 8 MiB). The default wraps a copy from methods().
    virtual airlock::Result<std::shared_ptr<const std::vector<airlock::protocol::MethodAnnouncement>>> announcements(
        const std::string& name) const;
    virtual void call_raw(const std::string& name, const std::string& method, std::vector<std::uint8_t> body,
                          std::function<void(airlock::Result<airlock::Message>)> done, CallOptions options) = 0;
    /// As Supervisor::when_ready (`done` exactly once; `canceller`, when given, ends the wait
    /// early with Cancelled). The default answers Unsupported.
    virtual void when_ready(const std::string& name, std::chrono::milliseconds timeout,
                            std::function<void(airlock::Status)> done, std::shared_ptr<CallCanceller> canceller = nullptr);
};

/// Serves the control protocol on a UNIX socket path. See the file comment.
class ControlServer {
public:
    /// Serves `supervisor` on `path`. `allowed_users` empty means the host's own effective uid.
    ControlServer(boost::asio::io_context& io, Supervisor& supervisor, std::string path, std::vector<uid_t> allowed_users);
    /// Serves any backend (it must outlive the server).
    ControlServer(boost::asio::io_context& io, ControlBackend& backend, std::string path, std::vector<uid_t> allowed_users);
    /// Closes every control connection and removes the socket file.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    /// Binds the socket with file `mode` (0660 lets a group reach it; the uid check still
    /// applies) and starts accepting. InvalidState if a live listener owns the path.
    airlock::Status start(mode_t mode = 0660);
    /// Before start(): the socket file is given to `group` (`[host] control_group`), and peers
    /// whose effective or supplementary groups include it (SO_PEERGROUPS) are admitted besides
    /// `allowed_users`.
    void set_group(gid_t group);
    /// Stops accepting and closes every control connection (the socket file is removed).
    void stop();

    /// How long a new connection may take to finish its handshake and be authorized (default
    /// 10 s); a refused peer is closed then even if it never sends a request.
    void set_admission_timeout(std::chrono::milliseconds timeout);
    /// How long an admitted client may take to send a message once it began it (default 30 s);
    /// a message left unfinished longer closes its connection (the host holds the message's
    /// whole announced body, up to 4 MiB, until its last packet).
    void set_unfinished_message_timeout(std::chrono::milliseconds timeout);

    /// Where the server reports refusals and connection failures, one line each
    /// (default: standard error, prefixed "[host] control: ").
    void set_log(std::function<void(const std::string& line)> log);

    [[nodiscard]] const std::string& path() const;
    /// Open control connections.
    [[nodiscard]] std::size_t connection_count() const;
    /// The uids allowed to connect.
    [[nodiscard]] const std::vector<uid_t>& allowed_users() const;

private:
    ControlServer(boost::asio::io_context& io, std::unique_ptr<ControlBackend> backend, std::string path,
                  std::vector<uid_t> allowed_users);
    struct Impl;
    std::unique_ptr<ControlBackend> owned_backend_;
    std::shared_ptr<Impl> impl_;
};

} // namespace airlock::host
