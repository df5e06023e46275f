#pragma once
/// @file connection.hpp
/// A connection-oriented association over a UNIX socket (the seed's LWMsgAssoc/connection).
///
/// Life of a connection:
///  1. construct with the Protocol both peers speak;
///  2. optionally `set_packet_size`, `set_timeout`, limits;
///  3. attach: `set_fd(mode, fd)` adopts a connected socket (Pair: one end of a
///     `socketpair(AF_UNIX, SOCK_SEQPACKET)`; Local: an accepted or connected UNIX socket),
///     or `set_endpoint(ConnectionMode::Local, path)` names a listener to connect to;
///  4. `establish()` (blocking) or `start()` + readiness events (non-blocking) perform the
///     handshake: both sides exchange a hello carrying protocol fingerprint, preferred packet
///     size and kernel-attached credentials;
///  5. send and receive messages (blocking helpers, or `queue`/`on_readable`/`on_writable`
///     driven by an event loop);
///  6. `close()` or destruction.
///
/// A Connection is driven by one thread at a time. It never raises SIGPIPE (MSG_NOSIGNAL);
/// a peer that closes or dies makes pending and later operations fail with PeerClosed.

#include "airlock/connection/codec.hpp"
#include "airlock/connection/message.hpp"
#include "airlock/connection/protocol.hpp"
#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace airlock {

/// How a connection reaches its peer (the seed's LWMsgConnectionMode).
enum class ConnectionMode {
    None,   ///< not attached yet
    Local,  ///< a named UNIX-domain socket path (a Listener accepts, a client connects)
    Pair,   ///< an anonymous socketpair
};

/// The peer's identity as the kernel reports it (the seed's "local" security token).
struct SecurityToken {
    /// Always "local": identity of a process on this machine.
    static constexpr const char* type = "local";
    uid_t euid = 0;
    gid_t egid = 0;
    pid_t pid = -1;  ///< -1 where the kernel cannot tell (e.g. the peer is in another pid namespace)
};

/// Where the connection is in its life.
enum class ConnectionState {
    Unattached,   ///< no descriptor or endpoint yet
    Attached,     ///< descriptor/endpoint set, handshake not started (packet size may still change)
    Handshaking,  ///< hello sent, waiting for the peer's
    Ready,        ///< messages may flow
    Closed,       ///< closed locally, by the peer, or by an error (see close_reason())
};

class Connection {
public:
    /// Smallest and largest packet sizes. The maximum is the largest SOCK_SEQPACKET datagram
    /// the kernel accepts with default socket buffers.
    static constexpr std::size_t kMinPacketSize = 512;
    static constexpr std::size_t kMaxPacketSize = 212960;
    static constexpr std::size_t kDefaultPacketSize = 128 * 1024;
    static constexpr std::size_t kDefaultMaxMessageSize = 64 * 1024 * 1024;
    static constexpr std::size_t kDefaultMaxMessageFds = 4096;

    explicit Connection(Protocol protocol);
    ~Connection();
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // --- configuration (before the handshake) ------------------------------------------
    /// Our preferred packet size in bytes; the size used is the smaller of both peers'.
    /// InvalidState once the handshake has started; InvalidParameter outside
    /// [kMinPacketSize, kMaxPacketSize].
    Status set_packet_size(std::size_t bytes);
    /// The packet size in use: the agreed one once Ready, else our preference.
    [[nodiscard]] std::size_t packet_size() const;
    /// Largest message body we accept or send (TooLarge beyond it).
    Status set_max_message_size(std::size_t bytes);
    /// Most descriptors in one message we accept or send.
    Status set_max_message_fds(std::size_t count);
    /// Most bytes queue() may hold for a peer that is not reading, each queued packet counted
    /// with its bookkeeping (std::nullopt, the default: no bound). A queue() that would go beyond it closes the connection with TooLarge
    /// ("the peer is not reading ..."): a peer that sends requests but never reads the replies
    /// cannot make us buffer without end.
    void set_max_queued_bytes(std::optional<std::size_t> bytes) { max_queued_bytes_ = bytes; }
    /// Timeout for each blocking operation; std::nullopt (the default) waits forever.
    void set_timeout(std::optional<std::chrono::milliseconds> timeout);
    [[nodiscard]] std::optional<std::chrono::milliseconds> timeout() const { return timeout_; }

    // --- attaching ------------------------------------------------------------------------
    /// Adopts `fd` (ownership moves to the connection, also on failure). Never blocks.
    /// InvalidParameter if it is not a connected AF_UNIX SOCK_SEQPACKET (or SOCK_STREAM, see
    /// docs/connection.md) socket fitting `mode`
    /// (Pair: neither end bound to a path; Local: one end is a path); InvalidState if already attached.
    Status set_fd(ConnectionMode mode, UniqueFd fd);
    /// Names the endpoint to connect to. Only ConnectionMode::Local has endpoints.
    /// InvalidState if already attached.
    Status set_endpoint(ConnectionMode mode, std::string path);

    // --- establishing ---------------------------------------------------------------------
    /// Blocking: connects (Local endpoint) and completes the handshake, within the timeout.
    Status establish();
    /// Non-blocking: connects and sends our hello. Then feed readiness events until
    /// state() is Ready (or Closed).
    Status start();

    // --- non-blocking core ----------------------------------------------------------------
    /// The socket to watch (-1 before attaching or after closing).
    [[nodiscard]] int fd() const { return socket_.get(); }
    /// True while queued packets wait for the socket to become writable.
    [[nodiscard]] bool wants_write() const { return !outbox_.empty(); }
    /// Reads every packet available now (never blocks); completes the handshake and
    /// assembles messages into the inbox. A failure closes the connection.
    Status on_readable();
    /// Sends queued packets until the socket would block.
    Status on_writable();
    [[nodiscard]] bool has_message() const { return !inbox_.empty(); }
    /// When the first packet of the message still being received arrived (nothing when no
    /// message is partly received). The library holds such a message, its whole announced
    /// body, until its last packet: a server bounds how long a peer may keep it unfinished.
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> message_started() const {
        if (!assembly_.active) return std::nullopt;
        return assembly_.started;
    }
    /// True once the peer's hello announced request deadlines and Cancel messages
    /// (docs/wire-format.md §2); an older peer gets neither.
    [[nodiscard]] bool peer_supports_call_control() const { return peer_call_control_; }
    /// Removes the oldest complete message. Precondition: has_message().
    Message take_message();
    /// Sends what fits now and queues the rest (copying bytes, duplicating descriptors),
    /// so the caller's buffers and descriptors may be released when it returns.
    Status queue(const OutgoingMessage& message);

    // --- blocking helpers -----------------------------------------------------------------
    /// Sends one message completely (after anything queued), within the timeout.
    Status send(const OutgoingMessage& message);
    /// Waits for the next message, within the connection's timeout.
    Result<Message> receive();
    /// Waits for the next message, within `timeout` (forever if empty).
    Result<Message> receive_for(std::optional<std::chrono::milliseconds> timeout);

    /// Encodes and sends `value` as a one-way message with `tag`. Large byte sequences go out
    /// straight from `value`'s memory (encode_message): no copy of them is made.
    template <class T>
    Status send_value(std::uint16_t tag, const T& value) {
        EncodedMessage encoded;
        if (Status s = encode_message(value, encoded); !s.ok()) return s;
        return send(encoded.outgoing(tag));
    }
    /// Receives the next message and decodes it as T; it must carry `tag`. T owns everything
    /// (a T with views is received with receive_viewed).
    template <class T>
    Result<T> receive_value(std::uint16_t tag) {
        static_assert(!holds_views_v<T>, "this type has BytesView/StringView members, which would point into a "
                                         "message that is gone when receive_value returns: use receive_viewed");
        Result<Message> message = receive_tagged(tag);
        if (!message) return message.status();
        return decode_value<T>(message->body, std::move(message->fds));
    }
    /// Receives the next message (it must carry `tag`) and decodes it as T in place: its
    /// BytesView/StringView members point into the received body (no copy), which the
    /// returned Received<T> keeps alive.
    template <class T>
    Result<Received<T>> receive_viewed(std::uint16_t tag) {
        Result<Message> message = receive_tagged(tag);
        if (!message) return message.status();
        return decode_message<T>(std::move(*message));
    }
    /// Receives the next message; Malformed unless it carries `tag`.
    Result<Message> receive_tagged(std::uint16_t tag) {
        Result<Message> message = receive();
        if (message && message->tag != tag)
            return Status(StatusCode::Malformed, "expected message tag " + std::to_string(tag) + ", received " +
                                                     std::to_string(message->tag));
        return message;
    }

    // --- information ----------------------------------------------------------------------
    [[nodiscard]] ConnectionMode mode() const { return mode_; }
    [[nodiscard]] ConnectionState state() const { return state_; }
    [[nodiscard]] const Protocol& protocol() const { return protocol_; }
    /// The peer's identity from the kernel (SO_PEERCRED for Local; for Pair, the credentials
    /// the kernel attached to the peer's hello, since SO_PEERCRED on a socketpair names its
    /// creator). Available once Ready.
    [[nodiscard]] Result<SecurityToken> peer_token() const;
    /// Why the connection closed (Success if it has not).
    [[nodiscard]] const Status& close_reason() const { return close_reason_; }
    /// Closes the socket; queued packets are dropped. Idempotent.
    void close();

private:
    struct PendingPacket {
        std::vector<std::uint8_t> bytes;  // header + payload
        std::vector<UniqueFd> fds;        // duplicates, so the caller's may close
    };
    struct Assembly {
        bool active = false;
        Message message;
        std::size_t body_received = 0;
        std::size_t fds_expected = 0;
        std::chrono::steady_clock::time_point started{};
    };
    class PacketSink;

    Status fail(Status status);
    Status closed_status() const;
    Status require_ready() const;
    Status attach_checks(ConnectionMode mode) const;
    Status connect_endpoint();
    Status send_hello();
    Status handle_hello(std::span<const std::uint8_t> payload, const ::ucred* credentials);
    Status handle_data(std::uint8_t flags, std::span<const std::uint8_t> payload,
                       std::vector<UniqueFd>& fds);
    /// Reads one packet. `would_block` is set when nothing was available (non-blocking read).
    Status read_packet(bool blocking, bool& would_block);
    Status emit_packets(const OutgoingMessage& message, PacketSink& sink);
    Status flush_outbox(bool blocking, std::chrono::steady_clock::time_point deadline);
    Status wait_for(short events, std::chrono::steady_clock::time_point deadline, const char* what);
    std::chrono::steady_clock::time_point deadline() const;
    Result<Message> receive_until(std::chrono::steady_clock::time_point until);

    Protocol protocol_;
    ConnectionMode mode_ = ConnectionMode::None;
    ConnectionState state_ = ConnectionState::Unattached;
    UniqueFd socket_;
    std::string endpoint_;
    bool socket_blocking_ = true;
    bool stream_ = false;  ///< a SOCK_STREAM socket: packets framed by their headers (stream_transport.hpp)
    std::size_t preferred_packet_size_ = kDefaultPacketSize;
    std::size_t agreed_packet_size_ = 0;
    std::size_t max_message_size_ = kDefaultMaxMessageSize;
    std::size_t max_message_fds_ = kDefaultMaxMessageFds;
    std::optional<std::chrono::milliseconds> timeout_;
    std::optional<SecurityToken> peer_token_;
    bool peer_call_control_ = false;
    ByteBuffer scratch_;  ///< receive buffer of one packet; never zero-filled (recv writes what it uses)
    std::vector<std::uint8_t> control_;
    std::deque<PendingPacket> outbox_;
    std::size_t outbox_bytes_ = 0;  ///< bytes in outbox_
    std::optional<std::size_t> max_queued_bytes_;
    std::deque<Message> inbox_;
    Assembly assembly_;
    Status close_reason_;
};

} // namespace airlock
