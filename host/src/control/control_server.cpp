// The control endpoint: a Local listener driven from the supervisor's io_context.
#include <airlock/host/control_server.hpp>

#include <airlock/connection/received_descriptors.hpp>

#include "socket_directory.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/codec.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/listener.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <airlock/host/host_work_budget.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <new>
#include <map>
#include <optional>

namespace airlock::host {
namespace {

namespace asio = boost::asio;
using airlock::protocol::ActionReply;
using airlock::protocol::CallReply;
using airlock::protocol::CallRequest;
using airlock::protocol::DescribeReply;
using airlock::protocol::FollowLogsRequest;
using airlock::protocol::LogLine;
using airlock::protocol::LogsReply;
using airlock::protocol::PluginRequest;
using airlock::protocol::PluginStatusEntry;
using airlock::protocol::StatusReply;
using airlock::protocol::WaitReadyRequest;
using airlock::protocol::StatusRequest;
namespace control = airlock::protocol::control;

constexpr std::size_t kMaxQueuedForClient = std::size_t{64} << 20;

/// Open control connections one uid may hold at once (admitted or still handshaking). Each
/// costs the host two descriptors; without a bound one client could use up the host's
/// descriptor limit and leave it unable to open the grants of the next plugin start.
constexpr std::size_t kMaxConnectionsPerUid = 16;

/// Largest message a peer that will be refused may send (its requests are only answered with
/// PermissionDenied): without it a refused peer could make the host take up to the default
/// 64 MiB per connection (16 per uid) before the refusal. Every request that names a plugin fits.
constexpr std::size_t kMaxMessageBeforeRefusal = 4096;

/// Largest message an admitted client may send: the largest request, a `call` whose JSON is
/// at most 4 MiB (CallRequest::json_request), with room for its other fields. The host holds
/// an unfinished message until its last packet, so this bounds what each connection can make
/// it hold (the library default is 64 MiB).
constexpr std::size_t kMaxRequestSize = (std::size_t{4} << 20) + 4096;

/// Requests of one connection whose reply waits (`call` on a plugin, `wait_ready`): each
/// holds a timer and bookkeeping in the host, and a call also a request queued to the plugin.
/// One more is refused at once with TooLarge naming this limit.
constexpr std::size_t kMaxWaitingRequests = 64;

/// Host CPU time the loop may spend per second on the control connections of one uid
/// (decoding, serving, encoding): over it, that uid's connections are not read until it is
/// back within it, and the other uids and the plugins are served meanwhile.
constexpr std::chrono::milliseconds kControlCpuPerUid{100};

/// Log lines the control server writes per second at most; past it they are counted, and the
/// count is written with the next line let through. A flood of refused or unfinished
/// connections cannot flood the host's log (its disk) or keep the loop writing.
constexpr int kLogLinesPerSecond = 10;

/// How long an admitted client may take to finish a message it began: the host holds the
/// message's whole announced body (up to kMaxRequestSize) from its first packet to its last,
/// so without a bound 16 connections could hold 64 MiB of one uid's unfinished requests for
/// as long as they stay open. A local client sends its largest request in milliseconds.
constexpr std::chrono::milliseconds kUnfinishedMessageTimeout{30000};

/// After accept() fails for a reason other than "nobody waits" (EMFILE, ENFILE, ENOMEM) the
/// listening socket stays readable: pausing this long keeps the loop from spinning on it.
constexpr std::chrono::milliseconds kAcceptPauseAfterError{250};

/// `text` cut to at most `max` bytes, not inside a UTF-8 sequence.
std::string bounded(std::string text, std::size_t max) {
    if (text.size() <= max) return text;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    return text;
}

} // namespace

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
    struct Client {
        explicit Client(asio::io_context& io)
            : connection(airlock::protocol::control_protocol()),
              session(connection),
              stream(io),
              admission_timer(io),
              message_timer(io) {}
        ~Client() {
            // A client that leaves gives up on the plugin calls it asked for; the plugins are told.
            std::vector<std::shared_ptr<CallCanceller>> calls;
            calls.swap(plugin_calls);
            for (auto& call : calls) call->cancel();
            boost::system::error_code ignored;
            stream.close(ignored);
            admission_timer.cancel();
            message_timer.cancel();
        }
        airlock::Connection connection;
        airlock::CallSession session;  // serves the client's requests (replies to call/wait_ready come later)
        std::vector<std::shared_ptr<CallCanceller>> plugin_calls;  // plugin calls and ready waits still running for this client
        asio::posix::stream_descriptor stream;  // a duplicate of the connection's socket
        asio::steady_timer admission_timer;     // handshake + authorization deadline
        asio::steady_timer message_timer;       // armed while a message is partly received
        bool message_timer_armed = false;
        std::uint64_t dropped_lines = 0;        // log lines skipped while the client was not reading
        bool reading = false;
        bool writing = false;
        bool checked = false;
        bool refused = false;
        bool close_when_flushed = false;
        bool pump_scheduled = false;
        bool budget_paused = false;             // waiting for its uid's CPU budget
        airlock::SecurityToken peer;
        std::optional<std::uint64_t> log_subscription;
    };

    asio::io_context& io;
    ControlBackend& backend;
    std::string path;
    std::vector<uid_t> allowed;
    std::optional<gid_t> group;  // control_group: the socket file's group, whose members are admitted
    std::optional<airlock::Listener> listener;
    std::optional<asio::posix::stream_descriptor> listen_stream;
    std::map<std::uint64_t, std::unique_ptr<Client>> clients;
    std::uint64_t next_client = 1;
    std::optional<asio::steady_timer> accept_pause;  // armed while accepting is paused after an error
    std::uint64_t refused_over_limit = 0;             // connections closed at kMaxConnectionsPerUid
    // Standard error without blocking the loop: a line that does not fit now is dropped
    // (a stalled reader of the host's stderr must not stop the host).
    std::function<void(const std::string&)> log = [](const std::string& line) {
        std::string text = "[host] control: " + line + "\n";
        pollfd out{2, POLLOUT, 0};
        if (::poll(&out, 1, 0) == 1 && (out.revents & POLLOUT) != 0) (void)!::write(2, text.data(), text.size());
    };
    // Log lines of the current second, and those held back (see kLogLinesPerSecond).
    std::chrono::steady_clock::time_point log_second{};
    int logged_this_second = 0;
    std::uint64_t log_lines_held_back = 0;
    // The CPU budget of each uid with open connections (see kControlCpuPerUid).
    std::map<uid_t, std::unique_ptr<detail::HostWorkBudget>> budgets;
    std::uint64_t budget_notices = 0;

    /// One line to `log`, at most kLogLinesPerSecond per second (the rest counted).
    void note(const std::string& line) {
        const auto now = std::chrono::steady_clock::now();
        if (now - log_second >= std::chrono::seconds(1)) {
            log_second = now;
            logged_this_second = 0;
        }
        if (logged_this_second >= kLogLinesPerSecond) {
            ++log_lines_held_back;
            return;
        }
        ++logged_this_second;
        if (log_lines_held_back > 0) {
            const std::uint64_t held = log_lines_held_back;
            log_lines_held_back = 0;
            log(std::to_string(held) + " control log lines not written (more than " +
                std::to_string(kLogLinesPerSecond) + " a second)");
        }
        log(line);
    }

    Impl(asio::io_context& io_, ControlBackend& backend_, std::string path_, std::vector<uid_t> allowed_)
        : io(io_), backend(backend_), path(std::move(path_)), allowed(std::move(allowed_)) {
        if (allowed.empty()) allowed.push_back(::geteuid());
    }

    ~Impl() { close_all(); }

    void close_all() {
        for (auto& [id, client] : clients)
            if (client->log_subscription) backend.unsubscribe_logs(*client->log_subscription);
        clients.clear();
        accept_pause.reset();
        if (listen_stream) {
            boost::system::error_code ignored;
            listen_stream->close(ignored);
            listen_stream.reset();
        }
        listener.reset();
    }

    airlock::Status start(mode_t mode) {
        if (listener) return airlock::Status(airlock::StatusCode::InvalidState, "the control server is already listening");
        // No other user may be able to pre-create, replace or redirect the socket's name.
        if (airlock::Status trusted = detail::check_control_socket_directory(path); !trusted.ok()) return trusted;
        // No control message carries a descriptor: the kernel refuses any a client sends, so
        // none reaches the host (closing one could block the loop: a lingering TCP socket).
        auto bound = airlock::Listener::bind(path, mode, 128, airlock::PeerDescriptors::Refused);
        if (!bound) return bound.status().with_context("control socket");  // the listener names the path
        listener.emplace(std::move(*bound));
        if (!listener->refuses_descriptors())
            note("this kernel cannot refuse descriptors sent to the control socket (SO_PASSRIGHTS, Linux 6.16): "
                 "those a client sends are received and closed, and one whose close() blocks (a TCP socket set to linger, a FUSE file) stops "
                 "the host until it returns");
        // Bound as root:root with `mode`; handing the file to the group only widens access.
        // Never through a link, even in a directory only the host can change.
        if (group && ::fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(-1), *group, AT_SYMLINK_NOFOLLOW) != 0) {
            const int error = errno;
            listener.reset();
            return airlock::errno_status("control socket " + path + ": giving it to group " + std::to_string(*group),
                                         error);
        }
        int copy = ::fcntl(listener->fd(), F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
            listener.reset();
            return airlock::errno_status("dup control socket", errno);
        }
        listen_stream.emplace(io, copy);
        arm_accept();
        return {};
    }

    void arm_accept() {
        std::weak_ptr<Impl> weak = weak_from_this();
        listen_stream->async_wait(asio::posix::stream_descriptor::wait_read, [weak](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || error || !self->listener) return;
            if (self->accept_pending()) {
                self->arm_accept();
                return;
            }
            self->accept_pause.emplace(self->io, kAcceptPauseAfterError);
            self->accept_pause->async_wait([weak](const boost::system::error_code& waited) {
                auto again = weak.lock();
                if (!again || waited || !again->listener || !again->listen_stream) return;
                again->arm_accept();
            });
        });
    }

    std::size_t connections_of(uid_t uid) const {
        std::size_t count = 0;
        for (const auto& [id, client] : clients)
            if (client->peer.euid == uid) ++count;
        return count;
    }

    /// Accepts every waiting peer; false when accept() failed and accepting should pause.
    bool accept_pending() {
        while (true) {
            auto socket = listener->try_accept();
            if (!socket) {
                if (socket.status().code() == airlock::StatusCode::Timeout) return true;
                note("accepting a control connection failed: " + socket.status().to_string() +
                    "; not accepting for " + std::to_string(kAcceptPauseAfterError.count()) + " ms");
                return false;
            }
            auto client = std::make_unique<Client>(io);
            // The kernel knows a local peer from the moment it connected (the handshake,
            // which the admission check waits for, may never come).
            ::ucred peer{};
            socklen_t peer_length = sizeof peer;
            if (::getsockopt(socket->get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) < 0) {
                note("a control connection's peer is unknown: " + airlock::errno_status("SO_PEERCRED", errno).to_string());
                continue;
            }
            client->peer = airlock::SecurityToken{peer.uid, peer.gid, peer.pid > 0 ? peer.pid : -1};
            // A client that sends requests and never reads the replies is closed once this
            // much waits for it (a status reply for many plugins is the largest message).
            client->connection.set_max_queued_bytes(kMaxQueuedForClient);
            // No control message carries a descriptor: one that announces any is refused at its
            // header, so a client cannot make the host hold descriptors (up to 4096 per
            // connection by default, in a message it never finishes) and run out of them.
            (void)client->connection.set_max_message_fds(0);
            // authorize() decides on the same kernel record once the handshake is done; a peer
            // it will refuse gets no room for large requests meanwhile.
            (void)client->connection.set_max_message_size(
                may_use(socket->get(), peer.uid, peer.gid) ? kMaxRequestSize : kMaxMessageBeforeRefusal);
            if (airlock::Status s = client->connection.set_fd(airlock::ConnectionMode::Local, std::move(*socket)); !s.ok()) {
                note("a control connection could not be adopted: " + s.to_string());
                continue;
            }
            if (airlock::Status s = client->connection.start(); !s.ok()) {
                note("a control connection failed its handshake: " + s.to_string());
                continue;
            }
            if (connections_of(client->peer.euid) >= kMaxConnectionsPerUid) {
                // Counted, and logged at the first and then every 1000th, so a flood of
                // connections cannot flood the log either.
                if (refused_over_limit++ % 1000 == 0)
                    note("closed a control connection from uid " + std::to_string(client->peer.euid) + " (pid " +
                        std::to_string(client->peer.pid) + "): it already has " +
                        std::to_string(kMaxConnectionsPerUid) + " open (" + std::to_string(refused_over_limit) +
                        " closed so far)");
                continue;
            }
            int copy = ::fcntl(client->connection.fd(), F_DUPFD_CLOEXEC, 3);
            if (copy < 0) {
                note("dup of a control connection failed: " + airlock::errno_status("fcntl", errno).to_string());
                continue;
            }
            client->stream.assign(copy);
            budget_of(client->peer.euid);
            std::uint64_t id = next_client++;
            serve_methods(id, *client);
            arm_admission_timer(id, *client);
            clients.emplace(id, std::move(client));
            pump(id);
        }
    }

    /// A peer must finish its handshake and be allowed within admission_timeout; a refused
    /// peer is closed then even if it never sends a request.
    std::chrono::milliseconds admission_timeout{10000};

    void arm_admission_timer(std::uint64_t id, Client& client) {
        std::weak_ptr<Impl> weak = weak_from_this();
        client.admission_timer.expires_after(admission_timeout);
        client.admission_timer.async_wait([weak, id](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || error) return;
            Client* c = self->find(id);
            if (!c) return;
            if (!c->checked)
                self->note("closed a control connection that did not finish its handshake within " +
                          std::to_string(self->admission_timeout.count()) + " ms");
            self->remove(id);
        });
    }

    std::chrono::milliseconds unfinished_message_timeout = kUnfinishedMessageTimeout;

    /// Closes the client if the message it is sending stays unfinished for
    /// unfinished_message_timeout from its first packet (the timer checks when it fires).
    void watch_unfinished_message(std::uint64_t id, Client& client) {
        const auto started = client.connection.message_started();
        if (!started || client.message_timer_armed) return;
        client.message_timer_armed = true;
        client.message_timer.expires_at(*started + unfinished_message_timeout);
        std::weak_ptr<Impl> weak = weak_from_this();
        client.message_timer.async_wait([weak, id](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || error) return;
            Client* c = self->find(id);
            if (!c) return;
            c->message_timer_armed = false;
            const auto started = c->connection.message_started();
            if (!started) return;
            if (std::chrono::steady_clock::now() - *started < self->unfinished_message_timeout) {
                self->watch_unfinished_message(id, *c);  // a later message: its own deadline
                return;
            }
            self->note("closed a control connection from uid " + std::to_string(c->peer.euid) + " (pid " +
                       std::to_string(c->peer.pid) + "): it left a message unfinished for " +
                       std::to_string(self->unfinished_message_timeout.count()) + " ms");
            self->remove(id);
        });
    }

    Client* find(std::uint64_t id) {
        auto it = clients.find(id);
        return it == clients.end() ? nullptr : it->second.get();
    }

    void remove(std::uint64_t id) {
        auto it = clients.find(id);
        if (it == clients.end()) return;
        if (it->second->log_subscription) backend.unsubscribe_logs(*it->second->log_subscription);
        const uid_t uid = it->second->peer.euid;
        clients.erase(it);
        // A uid's budget goes with its last connection, unless it is in debt (reconnecting
        // must not pay the debt off).
        if (auto budget = budgets.find(uid); budget != budgets.end() && connections_of(uid) == 0 && !budget->second->over())
            budgets.erase(budget);
    }

    detail::HostWorkBudget& budget_of(uid_t uid) {
        auto& budget = budgets[uid];
        if (!budget) budget = std::make_unique<detail::HostWorkBudget>(io, detail::HostWorkAllowance{kControlCpuPerUid});
        return *budget;
    }

    /// Runs `work` charged to the CPU budget of `id`'s uid.
    template <class Work>
    void charged(std::uint64_t id, Work&& work) {
        Client* client = find(id);
        if (!client) return;
        budget_of(client->peer.euid).charged(std::forward<Work>(work));
    }

    /// Arms the waits a client needs, or drops it once closed.
    void pump(std::uint64_t id) {
        Client* client = find(id);
        if (!client) return;
        if (client->connection.state() == airlock::ConnectionState::Closed ||
            (client->close_when_flushed && !client->connection.wants_write())) {
            remove(id);
            return;
        }
        std::weak_ptr<Impl> weak = weak_from_this();
        // Its requests are not read while replies wait for it to read them (the kernel then
        // holds what it sends, and it blocks): a client that sends and never reads cannot
        // make the host build replies without end.
        const bool replies_wait = client->connection.wants_write() && client->connection.state() == airlock::ConnectionState::Ready;
        if (!client->reading && !client->close_when_flushed && !replies_wait && within_budget(id, *client)) {
            client->reading = true;
            client->stream.async_wait(asio::posix::stream_descriptor::wait_read, [weak, id](const boost::system::error_code& error) {
                auto self = weak.lock();
                if (!self) return;
                Client* c = self->find(id);
                if (!c) return;
                c->reading = false;
                if (error) {
                    self->remove(id);
                    return;
                }
                self->charged(id, [&] {
                    (void)c->connection.on_readable();
                    self->dispatch_read(*c);
                });
                self->watch_unfinished_message(id, *c);
                self->pump(id);
            });
        }
        if (client->connection.wants_write() && !client->writing) {
            client->writing = true;
            client->stream.async_wait(asio::posix::stream_descriptor::wait_write, [weak, id](const boost::system::error_code& error) {
                auto self = weak.lock();
                if (!self) return;
                Client* c = self->find(id);
                if (!c) return;
                c->writing = false;
                if (error) {
                    self->remove(id);
                    return;
                }
                self->charged(id, [&] { (void)c->connection.on_writable(); });
                self->pump(id);
            });
        }
    }

    /// Whether `client`'s uid is within its control CPU budget; if not, `client` is pumped
    /// again once it is back within it (reported at the first and every 1000th pause).
    bool within_budget(std::uint64_t id, Client& client) {
        if (client.budget_paused) return false;
        detail::HostWorkBudget& budget = budget_of(client.peer.euid);
        if (!budget.over()) return true;
        client.budget_paused = true;
        if (budget_notices++ % 1000 == 0)
            note("uid " + std::to_string(client.peer.euid) + " costs the host more than the control CPU budget (" +
                 std::to_string(kControlCpuPerUid.count()) +
                 " ms of CPU time per second per uid): its requests wait until it is back within it (" +
                 std::to_string(budget_notices) + " pauses so far)");
        std::weak_ptr<Impl> weak = weak_from_this();
        budget.resume_later([weak, id] {
            auto self = weak.lock();
            if (!self) return;
            if (Client* c = self->find(id)) c->budget_paused = false;
            self->pump(id);
        });
        return false;
    }

    /// Authorizes and serves what was just read (never removes the client: pump() does).
    void dispatch_read(Client& client) {
        if (client.connection.state() == airlock::ConnectionState::Ready && !client.checked) authorize(client);
        if (!client.close_when_flushed) {
            (void)client.session.dispatch_pending();
            // A refusal a deferred handler (call, wait_ready) completed is posted, not sent yet:
            // send it now, or pump() would close the connection without the answer.
            if (client.close_when_flushed) (void)client.session.dispatch_pending();
        }
    }

    /// Sends the replies completed since (they are posted to the client's session).
    void dispatch_later(std::uint64_t id) {
        std::weak_ptr<Impl> weak = weak_from_this();
        asio::post(io, [weak, id] {
            auto self = weak.lock();
            if (!self) return;
            Client* client = self->find(id);
            if (!client) return;
            self->charged(id, [&] { (void)client->session.dispatch_pending(); });
            self->pump(id);
        });
    }

    void authorize(Client& client) {
        client.checked = true;
        auto token = client.connection.peer_token();
        if (!token) {
            client.refused = true;
            note("refused a control connection: its peer identity is unknown (" + token.status().to_string() + ")");
            return;
        }
        client.peer = *token;
        if (may_use(client.connection.fd(), token->euid, token->egid)) {
            client.admission_timer.cancel();
            return;
        }
        client.refused = true;
        note("refused a control connection from uid " + std::to_string(token->euid) + " (pid " +
            std::to_string(token->pid) + "): not in control_users (" + allowed_list() + ")" +
            (group ? " nor in control_group " + std::to_string(*group) : std::string()));
    }

    /// The peer of `fd` (with these ids) is in control_users or in control_group.
    bool may_use(int fd, uid_t euid, gid_t egid) const {
        if (std::find(allowed.begin(), allowed.end(), euid) != allowed.end()) return true;
        return group && in_group(fd, egid, *group);
    }

    // The peer of `fd` had `group` as its effective gid or among its supplementary groups when
    // it connected (SO_PEERGROUPS: the kernel's record, not something the peer says).
    static bool in_group(int fd, gid_t egid, gid_t group) {
        if (egid == group) return true;
        std::vector<gid_t> groups(64);
        socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        while (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) != 0) {
            if (errno != ERANGE) return false;
            groups.resize(size / sizeof(gid_t) + 1);
            size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        }
        groups.resize(size / sizeof(gid_t));
        return std::find(groups.begin(), groups.end(), group) != groups.end();
    }

    std::string allowed_list() const {
        std::string text = "allowed uids:";
        for (uid_t uid : allowed) text += " " + std::to_string(uid);
        return text;
    }

    airlock::Status known_plugin(const std::string& name) const {
        for (const PluginStatus& status : backend.status())
            if (status.name == name) return {};
        std::string names;
        for (const PluginStatus& status : backend.status()) names += (names.empty() ? "" : ", ") + status.name;
        return airlock::Status(airlock::StatusCode::NotFound,
                               "no plugin named \"" + name + "\" (configured: " + (names.empty() ? "none" : names) + ")");
    }

    static PluginStatusEntry entry_of(const PluginStatus& status) {
        PluginStatusEntry entry;
        entry.name = bounded(status.name, entry.name.max_length);
        entry.state = bounded(plugin_state_name(status.state), entry.state.max_length);
        entry.pid = status.pid;
        entry.uptime_ms = static_cast<std::uint64_t>(status.uptime.count() < 0 ? 0 : status.uptime.count());
        entry.restarts = status.restarts;
        entry.last_exit = bounded(status.last_exit, entry.last_exit.max_length);
        entry.last_violation = bounded(status.last_violation, entry.last_violation.max_length);
        entry.calls = status.calls;
        entry.call_errors = status.call_errors;
        entry.violations = status.violations;
        entry.bytes_in = status.bytes_in;
        entry.bytes_out = status.bytes_out;
        if (status.progress) {
            airlock::protocol::ProgressEntry progress;
            progress.task = status.progress->task;
            progress.done = status.progress->done;
            progress.total = status.progress->total;
            progress.message = status.progress->message;
            progress.age_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(0, status.progress_age.count()));
            entry.progress = std::move(progress);
        }
        return entry;
    }

    /// The status an exception becomes at one of the entries below.
    static airlock::Status internal_error(const std::string& during, std::exception_ptr error) {
        std::string what = "unknown exception";
        try {
            std::rethrow_exception(error);
        } catch (const std::bad_alloc&) {
            return airlock::Status(airlock::StatusCode::Memory, "internal error " + during + ": out of memory");
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        return airlock::Status(airlock::StatusCode::SystemError, "internal error " + during + ": " + what);
    }

    /// A request that arrives (in the same read) after a reply the client has not taken yet is
    /// refused with a short error instead of being served: what the host holds for a client
    /// that does not read stays one reply plus these.
    static airlock::Status not_reading(Client& client) {
        if (!client.connection.wants_write()) return {};
        return airlock::Status(airlock::StatusCode::TooLarge,
                               "not served: earlier replies wait for this client to read them");
    }

    /// A refused client's requests are answered with PermissionDenied, then it is closed.
    airlock::Status admitted(Client& client) {
        if (!client.refused) return {};
        client.close_when_flushed = true;
        return airlock::Status(airlock::StatusCode::PermissionDenied,
                               "uid " + std::to_string(client.peer.euid) + " may not use the control socket " + path +
                                   " (" + allowed_list() + "; see [host] control_users)");
    }

    /// Serves `method` on the client's session with `body(client, request) -> Result<Reply>`.
    /// An exception (std::bad_alloc, a bug) answers that request with an error and leaves the
    /// loop and the other clients unharmed. The session lives in the client, which lives in
    /// this Impl, so the handler may hold both.
    template <class Request, class Reply, class Body>
    void serve(Client& client, const airlock::Method<Request, Reply>& method, Body body) {
        (void)client.session.on(method, [this, &client, body = std::move(body)](Request& request) -> airlock::Result<Reply> {
            if (airlock::Status s = admitted(client); !s.ok()) return s;
            if (airlock::Status s = not_reading(client); !s.ok()) return s;
            try {
                return body(client, request);
            } catch (...) {
                airlock::Status status = internal_error("handling the request", std::current_exception());
                note(status.message());
                return status;
            }
        });
    }

    /// As `serve`, for requests that wait (on a plugin): `body(client, request, reply)`
    /// completes the PendingReply later, while the client's other requests are served.
    template <class Request, class Reply, class Body>
    void serve_later(std::uint64_t id, Client& client, const airlock::Method<Request, Reply>& method, Body body) {
        (void)client.session.on(method, [this, id, &client, body = std::move(body)](Request& request,
                                                                                    airlock::PendingReply<Reply> reply) {
            // A reply completed right here (a refusal, a plugin that is not ready) is sent after
            // this dispatch, like one completed later.
            dispatch_later(id);
            if (airlock::Status s = admitted(client); !s.ok()) {
                (void)reply.fail(s);
                return;
            }
            if (airlock::Status s = not_reading(client); !s.ok()) {
                (void)reply.fail(s);
                return;
            }
            // This request is counted among the deferred ones already.
            if (client.session.deferred_replies() > kMaxWaitingRequests) {
                (void)reply.fail(airlock::Status(
                    airlock::StatusCode::TooLarge,
                    "this connection already has " + std::to_string(kMaxWaitingRequests) +
                        " calls and waits in progress (the limit per control connection): wait for their replies first"));
                return;
            }
            auto shared = std::make_shared<airlock::PendingReply<Reply>>(std::move(reply));
            try {
                body(client, request, shared);
            } catch (...) {
                airlock::Status status = internal_error("handling the request", std::current_exception());
                note(status.message());
                (void)shared->fail(status);
            }
        });
    }

    void serve_methods(std::uint64_t id, Client& client) {
        serve(client, control::status, [this](Client&, StatusRequest& request) -> airlock::Result<StatusReply> {
            if (!request.plugin.empty()) {
                if (airlock::Status s = known_plugin(request.plugin); !s.ok()) return s;
            }
            StatusReply status;
            for (const PluginStatus& plugin : backend.status())
                if (request.plugin.empty() || plugin.name == request.plugin) status.plugins.push_back(entry_of(plugin));
            return status;
        });
        auto action = [this](const char* verb, airlock::Status (ControlBackend::*act)(const std::string&)) {
            return [this, verb, act](Client&, PluginRequest& request) -> airlock::Result<ActionReply> {
                const std::string& name = request.plugin;
                if (airlock::Status result = (backend.*act)(name); !result.ok()) return result;
                return ActionReply{bounded(std::string(verb) + " " + name, 1024)};
            };
        };
        serve(client, control::start, action("starting", &ControlBackend::start));
        serve(client, control::stop, action("stopping", &ControlBackend::stop));
        serve(client, control::restart, action("restarting", &ControlBackend::restart));
        serve(client, control::logs, [this](Client&, PluginRequest& request) -> airlock::Result<LogsReply> {
            if (airlock::Status s = known_plugin(request.plugin); !s.ok()) return s;
            LogsReply logs;
            for (std::string& line : backend.recent_logs(request.plugin))
                logs.lines.emplace_back(bounded(std::move(line), 8192));
            if (logs.lines.size() > logs.lines.max_length)
                logs.lines.erase(logs.lines.begin(), logs.lines.end() - static_cast<std::ptrdiff_t>(logs.lines.max_length));
            return logs;
        });
        serve(client, control::describe, [this](Client&, PluginRequest& request) -> airlock::Result<DescribeReply> {
            auto methods = backend.methods(request.plugin);
            if (!methods) return methods.status();
            DescribeReply describe;
            describe.methods = std::move(*methods);
            return describe;
        });
        serve_later(id, client, control::wait_ready,
                    [this, id](Client& client, WaitReadyRequest& request, std::shared_ptr<airlock::PendingReply<ActionReply>> reply) {
                        std::weak_ptr<Impl> weak = weak_from_this();
                        const std::string name = request.plugin;
                        // The wait ends with the client (or its cancel): nothing of it stays in the host.
                        auto canceller = std::make_shared<CallCanceller>();
                        client.plugin_calls.push_back(canceller);
                        reply->on_cancel([weak_canceller = std::weak_ptr<CallCanceller>(canceller)] {
                            if (auto live = weak_canceller.lock()) live->cancel();
                        });
                        backend.when_ready(
                            name, std::chrono::milliseconds(request.timeout_ms),
                            [weak, id, name, reply, weak_canceller = std::weak_ptr<CallCanceller>(canceller)](airlock::Status ready) {
                                if (!ready.ok()) (void)reply->fail(ready);
                                else (void)reply->complete(ActionReply{bounded(name + " is ready", 1024)});
                                auto self = weak.lock();
                                if (!self) return;
                                if (Client* c = self->find(id)) {
                                    auto& calls = c->plugin_calls;
                                    calls.erase(std::remove(calls.begin(), calls.end(), weak_canceller.lock()), calls.end());
                                }
                                self->dispatch_later(id);
                            },
                            canceller);
                    });
        serve_later(id, client, control::call,
                    [this, id](Client& c, CallRequest& request, std::shared_ptr<airlock::PendingReply<CallReply>> reply) {
                        start_call(id, c, request, std::move(reply));
                    });
        // Raw: the reply must go out before the recent lines that follow it.
        (void)client.session.on_raw(control::follow_logs.tag, [this, id, &client](airlock::Message& message,
                                                                                 airlock::CallSession::Responder& respond) {
            if (airlock::Status s = admitted(client); !s.ok()) return s;
            auto request = airlock::decode_value<FollowLogsRequest>(message.body, std::move(message.fds));
            if (!request) return request.status();
            try {
                return follow_logs(id, client, *request, respond);
            } catch (...) {
                airlock::Status status = internal_error("handling the request", std::current_exception());
                note(status.message());
                return status;
            }
        });
    }

    airlock::Status follow_logs(std::uint64_t id, Client& client, FollowLogsRequest& request,
                                airlock::CallSession::Responder& respond) {
        std::string plugin = request.plugin;
        if (!plugin.empty()) {
            if (airlock::Status s = known_plugin(plugin); !s.ok()) return s;
        }
        if (client.log_subscription) {
            backend.unsubscribe_logs(*client.log_subscription);
            client.log_subscription.reset();
        }
        airlock::EncodedMessage encoded;
        ActionReply following{bounded("following the logs of " + (plugin.empty() ? std::string("every plugin") : plugin), 1024)};
        if (airlock::Status s = airlock::encode_message(following, encoded); !s.ok()) return s;
        (void)respond.send(encoded);
        if (request.include_recent && !plugin.empty())
            for (std::string& line : backend.recent_logs(plugin)) push_log(client, plugin, line);
        std::weak_ptr<Impl> weak = weak_from_this();
        client.log_subscription =
            backend.subscribe_logs([weak, id, plugin](const std::string& source, const std::string& line) {
                if (!plugin.empty() && source != plugin) return;
                auto self = weak.lock();
                if (!self) return;
                Client* c = self->find(id);
                if (!c) return;
                // Runs inside the supervisor's logging: an exception stops this client only.
                try {
                    self->push_log(*c, source, line);
                } catch (...) {
                    self->note(internal_error("following the logs", std::current_exception()).message());
                    c->close_when_flushed = true;
                }
                // Not pump() here: it may drop the client, which unsubscribes while the
                // supervisor is still iterating its subscribers.
                if (!c->pump_scheduled) {
                    c->pump_scheduled = true;
                    asio::post(self->io, [weak, id] {
                        auto again = weak.lock();
                        if (!again) return;
                        if (Client* later = again->find(id)) later->pump_scheduled = false;
                        again->pump(id);
                    });
                }
            });
        return {};
    }

    /// Queues one log line. While the client is not reading (its socket is full) lines are
    /// dropped and counted instead, so a stalled `logs --follow` cannot grow host memory.
    static void push_log(Client& client, const std::string& plugin, const std::string& line) {
        if (client.connection.state() != airlock::ConnectionState::Ready) return;
        if (client.connection.wants_write()) {
            ++client.dropped_lines;
            return;
        }
        if (client.dropped_lines) {
            std::string note = "[control] " + std::to_string(client.dropped_lines) +
                               " log lines dropped: this client did not read fast enough";
            client.dropped_lines = 0;
            push_log(client, plugin, note);
            if (client.connection.wants_write()) {
                ++client.dropped_lines;
                return;
            }
        }
        LogLine entry{bounded(plugin, 64), bounded(line, 8192)};
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        if (!airlock::encode_value(entry, body, fds).ok()) return;
        (void)client.connection.queue(
            airlock::OutgoingMessage{control::log_line.tag, airlock::MessageKind::OneWay, 0, body, fds});
    }

    /// Forwards a control client's call to the plugin with the client's deadline; the reply
    /// comes later. The client disconnecting, or cancelling, cancels the plugin call.
    void start_call(std::uint64_t id, Client& client, CallRequest& request,
                    std::shared_ptr<airlock::PendingReply<CallReply>> reply) {
        auto methods = backend.announcements(request.plugin);
        if (!methods) return (void)reply->fail(methods.status());
        const airlock::protocol::MethodAnnouncement* method = nullptr;
        for (const auto& announced : **methods)
            if (announced.name == request.method) method = &announced;
        if (!method) {
            // The list of names only for the error (up to 16 KiB; it was written for every call).
            std::string names;
            for (const auto& announced : **methods) names += (names.empty() ? "" : ", ") + announced.name;
            return (void)reply->fail(airlock::Status(airlock::StatusCode::NotFound,
                                                     "plugin " + std::string(request.plugin) + " has no method \"" +
                                                         std::string(request.method) + "\" (methods: " +
                                                         (names.empty() ? "none" : names) + ")"));
        }
        auto request_type = airlock::ParsedType::parse(method->request_type);
        if (!request_type) return (void)reply->fail(request_type.status().with_context("the announced request type"));
        auto body = airlock::encode_json(request_type->spec(), request.json_request);
        if (!body)
            return (void)reply->fail(body.status().with_context("request for " + std::string(request.plugin) + "." +
                                                                std::string(request.method) + " (type " +
                                                                method->request_type + ")"));
        std::weak_ptr<Impl> weak = weak_from_this();
        // The reply type is parsed when the reply comes. A parsed type takes about 31 times its
        // text (a 16 KiB description, 500 KB), and up to 64 calls per connection wait: the call
        // keeps only the text, shared with the announcement (no copy).
        std::shared_ptr<const std::string> reply_type(*methods, &method->reply_type);
        CallOptions options;
        if (request.timeout_ms) options.timeout = std::chrono::milliseconds(*request.timeout_ms);
        options.deadline = reply->deadline();  // the client's own deadline for this request bounds the plugin call
        options.canceller = std::make_shared<CallCanceller>();
        client.plugin_calls.push_back(options.canceller);
        reply->on_cancel([canceller = std::weak_ptr<CallCanceller>(options.canceller)] {
            if (auto live = canceller.lock()) live->cancel();
        });
        std::weak_ptr<CallCanceller> canceller = options.canceller;
        backend.call_raw(request.plugin, request.method, std::move(*body),
                         [weak, id, reply, reply_type, canceller](airlock::Result<airlock::Message> result) {
                             auto self = weak.lock();
                             if (!self) return;
                             if (Client* c = self->find(id)) {
                                 auto& calls = c->plugin_calls;
                                 calls.erase(std::remove(calls.begin(), calls.end(), canceller.lock()), calls.end());
                             }
                             // The plugin's reply is decoded here: an exception fails this call only.
                             try {
                                 if (!result) {
                                     (void)reply->fail(result.status());
                                 } else if (auto spec = airlock::ParsedType::parse(*reply_type); !spec) {
                                     (void)reply->fail(spec.status().with_context("the announced reply type"));
                                 } else {
                                     auto json = airlock::decode_to_json(spec->spec(), result->body, result->fds.size());
                                     if (!json) (void)reply->fail(json.status().with_context("the plugin's reply"));
                                     else (void)reply->complete(CallReply{std::move(*json)});
                                 }
                             } catch (...) {
                                 (void)reply->fail(internal_error("converting the plugin's reply", std::current_exception()));
                             }
                             self->dispatch_later(id);
                         },
                         options);
    }
};

// The constructor taking a Supervisor lives in supervisor_backend.cpp, so that programs
// serving another backend do not need the supervisor's implementation to link.
ControlServer::ControlServer(boost::asio::io_context& io, std::unique_ptr<ControlBackend> backend, std::string path,
                             std::vector<uid_t> allowed_users)
    : owned_backend_(std::move(backend)),
      impl_(std::make_shared<Impl>(io, *owned_backend_, std::move(path), std::move(allowed_users))) {
    airlock::close_received_descriptors_off_thread();  // a kernel that cannot refuse descriptors
}

ControlServer::ControlServer(boost::asio::io_context& io, ControlBackend& backend, std::string path,
                             std::vector<uid_t> allowed_users)
    : impl_(std::make_shared<Impl>(io, backend, std::move(path), std::move(allowed_users))) {
    airlock::close_received_descriptors_off_thread();  // a kernel that cannot refuse descriptors
}

ControlServer::~ControlServer() {
    impl_->close_all();
    impl_.reset();
}

airlock::Result<std::shared_ptr<const std::vector<airlock::protocol::MethodAnnouncement>>> ControlBackend::announcements(
    const std::string& name) const {
    auto copy = methods(name);
    if (!copy) return copy.status();
    return std::make_shared<const std::vector<airlock::protocol::MethodAnnouncement>>(std::move(*copy));
}

void ControlBackend::when_ready(const std::string&, std::chrono::milliseconds, std::function<void(airlock::Status)> done,
                                std::shared_ptr<CallCanceller>) {
    done(airlock::Status(airlock::StatusCode::Unsupported, "this control backend cannot wait for a plugin"));
}

airlock::Status ControlServer::start(mode_t mode) { return impl_->start(mode); }
void ControlServer::set_group(gid_t group) { impl_->group = group; }
void ControlServer::stop() { impl_->close_all(); }
void ControlServer::set_admission_timeout(std::chrono::milliseconds timeout) { impl_->admission_timeout = timeout; }
void ControlServer::set_unfinished_message_timeout(std::chrono::milliseconds timeout) {
    impl_->unfinished_message_timeout = timeout;
}
void ControlServer::set_log(std::function<void(const std::string&)> log) { impl_->log = std::move(log); }
const std::string& ControlServer::path() const { return impl_->path; }
std::size_t ControlServer::connection_count() const { return impl_->clients.size(); }
const std::vector<uid_t>& ControlServer::allowed_users() const { return impl_->allowed; }

} // namespace airlock::host
