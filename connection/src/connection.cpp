#include "airlock/connection/connection.hpp"
#include "airlock/connection/printable_text.hpp"

#include "packet_format.hpp"
#include "socket_checks.hpp"
#include "stream_transport.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace airlock {

using namespace wire;
using Clock = std::chrono::steady_clock;

namespace {

// Heap block headers and the vector of a queued packet, beyond sizeof(PendingPacket).
constexpr std::size_t kQueuedPacketOverhead = 64;

constexpr std::size_t kControlBufferSize =
    CMSG_SPACE(kMaxFdsPerPacket * sizeof(int)) + CMSG_SPACE(sizeof(::ucred));

const char* mode_name(ConnectionMode mode) {
    switch (mode) {
    case ConnectionMode::None: return "None";
    case ConnectionMode::Local: return "Local";
    case ConnectionMode::Pair: return "Pair";
    }
    return "?";
}

std::string hex64(std::uint64_t value) {
    char text[19];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

// Moves a received descriptor off stdin's number: a descriptor <= 0 means "none" in messages,
// so a received fd that happens to be 0 (stdin closed) must not be mistaken for it.
// Marked as received (received_descriptors.hpp): its close may be left to another thread.
UniqueFd own_received_fd(int fd) {
    if (fd > 0) {
        mark_received_descriptor(fd);
        return UniqueFd(fd);
    }
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    mark_received_descriptor(fd);
    close_descriptor(fd);
    mark_received_descriptor(moved);
    return UniqueFd(moved);
}

} // namespace

/// Where emit_packets delivers each packet: straight to the socket (blocking send) or
/// to the socket until it would block, then into the outbox (non-blocking queue).
class Connection::PacketSink {
public:
    virtual ~PacketSink() = default;
    virtual Status deliver(const iovec* parts, std::size_t part_count, std::span<const int> fds) = 0;
};

namespace {

ssize_t send_packet(int socket, const iovec* parts, std::size_t part_count, std::span<const int> fds,
                    const ::ucred* credentials, int flags, bool stream) {
    alignas(cmsghdr) char control[kControlBufferSize];
    msghdr header{};
    header.msg_iov = const_cast<iovec*>(parts);
    header.msg_iovlen = part_count;
    std::size_t control_length = 0;
    if (!fds.empty()) control_length += CMSG_SPACE(fds.size() * sizeof(int));
    if (credentials) control_length += CMSG_SPACE(sizeof(::ucred));
    if (control_length) {
        std::memset(control, 0, control_length);
        header.msg_control = control;
        header.msg_controllen = control_length;
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        if (!fds.empty()) {
            cmsg->cmsg_level = SOL_SOCKET;
            cmsg->cmsg_type = SCM_RIGHTS;
            cmsg->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
            std::memcpy(CMSG_DATA(cmsg), fds.data(), fds.size() * sizeof(int));
            cmsg = CMSG_NXTHDR(&header, cmsg);
        }
        if (credentials) {
            cmsg->cmsg_level = SOL_SOCKET;
            cmsg->cmsg_type = SCM_CREDENTIALS;
            cmsg->cmsg_len = CMSG_LEN(sizeof(::ucred));
            std::memcpy(CMSG_DATA(cmsg), credentials, sizeof(::ucred));
        }
    }
    ssize_t sent;
    do {
        sent = stream ? stream_send_packet(socket, &header, flags) : ::sendmsg(socket, &header, flags | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

Status send_error(int error_number) {
    if (error_number == EPIPE || error_number == ECONNRESET || error_number == ENOTCONN)
        return Status(StatusCode::PeerClosed, "the peer closed the connection");
    if (error_number == ETOOMANYREFS)
        return Status(StatusCode::TooLarge, "sendmsg: too many descriptors in flight to the peer (ETOOMANYREFS)");
    return errno_status("sendmsg", error_number);
}

} // namespace

// ---------------------------------------------------------------------------------------
// construction and configuration

Connection::Connection(Protocol protocol) : protocol_(std::move(protocol)) {}
Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

Status Connection::set_packet_size(std::size_t bytes) {
    if (state_ != ConnectionState::Unattached && state_ != ConnectionState::Attached)
        return Status(StatusCode::InvalidState, "the packet size can only change before the handshake starts");
    if (bytes < kMinPacketSize || bytes > kMaxPacketSize)
        return Status(StatusCode::InvalidParameter, "packet size " + std::to_string(bytes) + " is outside [" +
                                                        std::to_string(kMinPacketSize) + ", " +
                                                        std::to_string(kMaxPacketSize) + "]");
    preferred_packet_size_ = bytes;
    return {};
}

std::size_t Connection::packet_size() const {
    return agreed_packet_size_ ? agreed_packet_size_ : preferred_packet_size_;
}

Status Connection::set_max_message_size(std::size_t bytes) {
    if (bytes == 0 || bytes > 0xFFFFFFFFu)
        return Status(StatusCode::InvalidParameter, "maximum message size must be between 1 and 4294967295 bytes");
    max_message_size_ = bytes;
    return {};
}

Status Connection::set_max_message_fds(std::size_t count) {
    if (count > 0xFFFFFFFFu) return Status(StatusCode::InvalidParameter, "maximum descriptor count is too large");
    max_message_fds_ = count;
    return {};
}

void Connection::set_timeout(std::optional<std::chrono::milliseconds> timeout) { timeout_ = timeout; }

Status Connection::attach_checks(ConnectionMode mode) const {
    if (state_ != ConnectionState::Unattached)
        return Status(StatusCode::InvalidState, "the connection already has a descriptor or endpoint");
    if (mode == ConnectionMode::None)
        return Status(StatusCode::InvalidParameter, "mode None cannot be attached; use Local or Pair");
    return {};
}

Status Connection::set_fd(ConnectionMode mode, UniqueFd fd) {
    if (Status s = attach_checks(mode); !s.ok()) return s;
    if (Status s = check_connected_seqpacket(fd.get(), mode == ConnectionMode::Pair); !s.ok()) return s;
    int descriptor_flags = ::fcntl(fd.get(), F_GETFD);
    if (descriptor_flags >= 0 && !(descriptor_flags & FD_CLOEXEC)) ::fcntl(fd.get(), F_SETFD, descriptor_flags | FD_CLOEXEC);
    int status_flags = ::fcntl(fd.get(), F_GETFL);
    socket_blocking_ = status_flags >= 0 && !(status_flags & O_NONBLOCK);
    stream_ = is_stream_socket(fd.get());
    socket_ = std::move(fd);
    mode_ = mode;
    state_ = ConnectionState::Attached;
    return {};
}

Status Connection::set_endpoint(ConnectionMode mode, std::string path) {
    if (Status s = attach_checks(mode); !s.ok()) return s;
    if (mode != ConnectionMode::Local)
        return Status(StatusCode::InvalidParameter, std::string("mode ") + mode_name(mode) +
                                                        " has no endpoint; only Local connections connect to a path");
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
        return Status(StatusCode::InvalidParameter, "endpoint path must be 1 to " +
                                                        std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes long");
    endpoint_ = std::move(path);
    mode_ = mode;
    state_ = ConnectionState::Attached;
    return {};
}

// ---------------------------------------------------------------------------------------
// establishing

Status Connection::connect_endpoint() {
    UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) return errno_status("socket", errno);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, endpoint_.data(), endpoint_.size());
    int rc;
    do {
        rc = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EPROTOTYPE) {
        // The listener is a SOCK_STREAM socket (LWMsg's kind): connect with one of those.
        socket = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!socket) return errno_status("socket", errno);
        do {
            rc = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
        } while (rc < 0 && errno == EINTR);
        stream_ = true;
    }
    if (rc < 0) {
        int error_number = errno;
        if (error_number == ENOENT || error_number == ECONNREFUSED)
            return Status(StatusCode::NotFound, "no listener at " + endpoint_ + ": " + std::strerror(error_number));
        return errno_status("connect to " + endpoint_, error_number);
    }
    socket_ = std::move(socket);
    socket_blocking_ = true;
    return {};
}

Status Connection::start() {
    if (state_ == ConnectionState::Unattached)
        return Status(StatusCode::InvalidState, "set a descriptor or an endpoint before starting the connection");
    if (state_ != ConnectionState::Attached) return Status(StatusCode::InvalidState, "the connection was already started");
    if (!protocol_.status().ok()) return fail(protocol_.status());
    if (!socket_) {
        if (Status s = connect_endpoint(); !s.ok()) return fail(s);
    }
    if (mode_ == ConnectionMode::Local) {
        if (auto token = kernel_peer_credentials(socket_.get())) peer_token_ = *token;
    } else {
        // Pair: the peer's identity comes from the credentials the kernel attaches to its hello.
        int on = 1;
        if (::setsockopt(socket_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
            return fail(errno_status("setsockopt(SO_PASSCRED)", errno));
    }
    scratch_.resize(std::max(preferred_packet_size_, kPacketHeaderSize + kHelloFixedSize + kMaxProtocolNameLength));
    control_.resize(kControlBufferSize);
    state_ = ConnectionState::Handshaking;
    return send_hello();
}

Status Connection::send_hello() {
    const std::string& name = protocol_.name();
    std::size_t name_length = std::min(name.size(), kMaxProtocolNameLength);
    std::uint8_t packet[kPacketHeaderSize + kHelloFixedSize + kMaxProtocolNameLength];
    std::size_t payload_length = kHelloFixedSize + name_length;
    PacketHeader{PacketType::Hello, kFirstFragment | kLastFragment, 0, static_cast<std::uint32_t>(payload_length)}
        .store(packet);
    std::uint8_t* hello = packet + kPacketHeaderSize;
    store_le(hello, kHelloMagic, 4);
    store_le(hello + 4, kWireVersion, 2);
    store_le(hello + 6, 0, 2);
    store_le(hello + 8, preferred_packet_size_, 4);
    store_le(hello + 12, kFeatureCallControl, 4);
    store_le(hello + 16, protocol_.fingerprint(), 8);
    store_le(hello + 24, name_length, 2);
    std::memcpy(hello + kHelloFixedSize, name.data(), name_length);

    // Kernel-verified credentials: a process may only claim its own pid and one of its own
    // uids/gids, so the receiver learns who really sent the hello.
    ::ucred credentials{::getpid(), ::geteuid(), ::getegid()};
    iovec part{packet, kPacketHeaderSize + payload_length};
    Clock::time_point until = deadline();
    for (;;) {
        if (send_packet(socket_.get(), &part, 1, {}, &credentials, MSG_DONTWAIT, stream_) >= 0) return {};
        if (errno != EAGAIN) return fail(send_error(errno).with_context("sending the handshake"));
        if (Status s = wait_for(POLLOUT, until, "sending the handshake"); !s.ok()) return fail(s);
    }
}

Status Connection::establish() {
    if (state_ == ConnectionState::Attached) {
        if (Status s = start(); !s.ok()) return s;
    }
    Clock::time_point until = deadline();
    while (state_ == ConnectionState::Handshaking) {
        if (Status s = wait_for(POLLIN, until, "waiting for the peer's handshake"); !s.ok()) return s;
        if (Status s = on_readable(); !s.ok() && agreed_packet_size_ == 0) return s;
    }
    // A handshake that completed counts even if the peer closed right after it (its
    // messages stay receivable, then receive() reports the close).
    if (agreed_packet_size_ != 0) return {};
    if (state_ == ConnectionState::Closed) return closed_status();
    return Status(StatusCode::InvalidState, "set a descriptor or an endpoint before establishing the connection");
}

Status Connection::handle_hello(std::span<const std::uint8_t> payload, const ::ucred* credentials) {
    if (state_ != ConnectionState::Handshaking)
        return Status(StatusCode::Malformed, "the peer sent a second handshake");
    if (payload.size() < kHelloFixedSize || load_le(payload.data(), 4) != kHelloMagic)
        return Status(StatusCode::ProtocolMismatch, "the peer is not an Airlock connection (bad handshake magic)");
    std::uint64_t version = load_le(payload.data() + 4, 2);
    if (version != kWireVersion)
        return Status(StatusCode::ProtocolMismatch, "the peer speaks wire version " + std::to_string(version) +
                                                        ", this side speaks " + std::to_string(kWireVersion));
    std::size_t peer_packet_size = load_le(payload.data() + 8, 4);
    std::uint64_t peer_features = load_le(payload.data() + 12, 4);
    std::uint64_t peer_fingerprint = load_le(payload.data() + 16, 8);
    std::size_t name_length = load_le(payload.data() + 24, 2);
    if (payload.size() != kHelloFixedSize + name_length)
        return Status(StatusCode::Malformed, "the peer's handshake has a bad protocol name length");
    // The peer's words, for the mismatch message that logs and terminals show: cut to what a
    // sender writes (255 bytes) and without control characters.
    const std::string peer_name = printable_text(std::string_view(
        reinterpret_cast<const char*>(payload.data()) + kHelloFixedSize, std::min(name_length, kMaxProtocolNameLength)));
    if (peer_fingerprint != protocol_.fingerprint())
        return Status(StatusCode::ProtocolMismatch,
                      "protocol mismatch: this side speaks \"" + protocol_.name() + "\" (fingerprint " +
                          hex64(protocol_.fingerprint()) + "), the peer speaks \"" + peer_name + "\" (fingerprint " +
                          hex64(peer_fingerprint) + "); rebuild both against the same protocol definition");
    if (peer_packet_size < kMinPacketSize || peer_packet_size > kMaxPacketSize)
        return Status(StatusCode::Malformed, "the peer proposed packet size " + std::to_string(peer_packet_size));
    if (mode_ == ConnectionMode::Pair) {
        if (!credentials)
            return Status(StatusCode::PermissionDenied, "the peer's handshake carried no kernel credentials");
        peer_token_ = SecurityToken{credentials->uid, credentials->gid, credentials->pid > 0 ? credentials->pid : -1};
        int off = 0;
        ::setsockopt(socket_.get(), SOL_SOCKET, SO_PASSCRED, &off, sizeof off);
    }
    agreed_packet_size_ = std::min(preferred_packet_size_, peer_packet_size);
    peer_call_control_ = (peer_features & kFeatureCallControl) != 0;
    state_ = ConnectionState::Ready;
    return {};
}

Result<SecurityToken> Connection::peer_token() const {
    if (state_ != ConnectionState::Ready && !(state_ == ConnectionState::Closed && peer_token_))
        return Status(StatusCode::InvalidState, "the peer's identity is known once the handshake completes");
    if (!peer_token_) return Status(StatusCode::Unsupported, "the kernel did not report the peer's credentials");
    return *peer_token_;
}

// ---------------------------------------------------------------------------------------
// failure and closing

Status Connection::fail(Status status) {
    if (state_ != ConnectionState::Closed) {
        close_reason_ = status;
        state_ = ConnectionState::Closed;
        socket_.reset();
        outbox_.clear();
        outbox_bytes_ = 0;
        assembly_ = Assembly{};
    }
    return status;
}

void Connection::close() {
    if (state_ == ConnectionState::Closed) return;
    (void)fail(Status(StatusCode::Cancelled, "the connection was closed locally"));
}

Status Connection::closed_status() const {
    return close_reason_.ok() ? Status(StatusCode::InvalidState, "the connection is closed") : close_reason_;
}

Status Connection::require_ready() const {
    if (state_ == ConnectionState::Ready) return {};
    if (state_ == ConnectionState::Closed) return closed_status();
    return Status(StatusCode::InvalidState, "the connection is not established yet");
}

// ---------------------------------------------------------------------------------------
// waiting

Clock::time_point Connection::deadline() const {
    return timeout_ ? Clock::now() + *timeout_ : Clock::time_point::max();
}

Status Connection::wait_for(short events, Clock::time_point until, const char* what) {
    for (;;) {
        int wait_ms = -1;
        if (until != Clock::time_point::max()) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
            if (left <= 0) return Status(StatusCode::Timeout, std::string(what) + ": timed out");
            wait_ms = static_cast<int>(std::min<long long>(left + 1, 1 << 30));
        }
        pollfd entry{socket_.get(), events, 0};
        int rc = ::poll(&entry, 1, wait_ms);
        if (rc > 0) return {};  // readable/writable, or an error/hang-up the next I/O call reports
        if (rc < 0 && errno != EINTR) return errno_status("poll", errno);
    }
}

// ---------------------------------------------------------------------------------------
// sending

namespace {

// Most iovecs in one packet: the headers plus body pieces. A packet whose share of the body
// spans more pieces ends early (packets may be shorter than the packet size); bodies made by
// EncodedMessage stay below this (their in-place pieces are at least kInPlaceMinimum bytes).
constexpr std::size_t kMaxPartsPerPacket = 64;

/// Walks a body given in pieces, handing out the iovecs of one packet at a time.
class BodyCursor {
public:
    explicit BodyCursor(BodyPieces pieces) : pieces_(pieces) {}
    /// Appends iovecs for up to `bytes` bytes of the body to `parts` (at most `room` of them);
    /// returns how many bytes they cover.
    std::size_t take(std::size_t bytes, iovec* parts, std::size_t& count, std::size_t room) {
        std::size_t taken = 0;
        while (taken < bytes && index_ < pieces_.size() && count < room) {
            std::span<const std::uint8_t> piece = pieces_[index_];
            std::size_t size = std::min(piece.size() - offset_, bytes - taken);
            if (size > 0) {
                parts[count++] = {const_cast<std::uint8_t*>(piece.data()) + offset_, size};
                taken += size;
                offset_ += size;
            }
            if (offset_ == piece.size()) {
                ++index_;
                offset_ = 0;
            }
        }
        return taken;
    }

private:
    BodyPieces pieces_;
    std::size_t index_ = 0;
    std::size_t offset_ = 0;
};

} // namespace

Status Connection::emit_packets(const OutgoingMessage& message, PacketSink& sink) {
    const std::span<const std::uint8_t> whole_body[1] = {message.body};
    const BodyPieces pieces = message.pieces.empty() ? BodyPieces(whole_body) : message.pieces;
    std::size_t body_size = 0;
    for (std::span<const std::uint8_t> piece : pieces) body_size += piece.size();
    if (body_size > max_message_size_)
        return Status(StatusCode::TooLarge, "message body of " + std::to_string(body_size) +
                                                " bytes exceeds the limit of " + std::to_string(max_message_size_));
    if (message.fds.size() > max_message_fds_)
        return Status(StatusCode::TooLarge, "message with " + std::to_string(message.fds.size()) +
                                                " descriptors exceeds the limit of " + std::to_string(max_message_fds_));
    const std::size_t packet_size = agreed_packet_size_;
    std::uint8_t headers[kPacketHeaderSize + kMessageHeaderSize + kDeadlineFieldSize];
    // A peer that did not announce deadlines would take the field for body bytes.
    const bool with_deadline = message.timeout_ms && message.kind == MessageKind::Request && peer_call_control_;
    const std::size_t first_header_length =
        kPacketHeaderSize + kMessageHeaderSize + (with_deadline ? kDeadlineFieldSize : 0);
    BodyCursor cursor(pieces);
    std::size_t body_sent = 0;
    std::size_t fds_sent = 0;
    bool first = true;
    do {
        std::size_t header_length = first ? first_header_length : kPacketHeaderSize;
        iovec parts[kMaxPartsPerPacket];
        parts[0] = {headers, header_length};
        std::size_t part_count = 1;
        std::size_t chunk = cursor.take(std::min(body_size - body_sent, packet_size - header_length), parts,
                                        part_count, kMaxPartsPerPacket);
        std::size_t fd_chunk = std::min(message.fds.size() - fds_sent, kMaxFdsPerPacket);
        bool last = body_sent + chunk == body_size && fds_sent + fd_chunk == message.fds.size();
        std::uint8_t flags = (first ? kFirstFragment : 0) | (last ? kLastFragment : 0);
        std::size_t payload_length = header_length - kPacketHeaderSize + chunk;
        PacketHeader{PacketType::Data, flags, static_cast<std::uint16_t>(fd_chunk),
                     static_cast<std::uint32_t>(payload_length)}
            .store(headers);
        if (first) {
            MessageHeader{message.tag,
                          static_cast<std::uint8_t>(message.kind),
                          message.call_id,
                          static_cast<std::uint32_t>(body_size),
                          static_cast<std::uint32_t>(message.fds.size()),
                          with_deadline ? kMessageHasDeadline : std::uint8_t{0}}
                .store(headers + kPacketHeaderSize);
            if (with_deadline) store_le(headers + kPacketHeaderSize + kMessageHeaderSize, *message.timeout_ms, 4);
        }
        if (Status s = sink.deliver(parts, part_count, message.fds.subspan(fds_sent, fd_chunk)); !s.ok()) return s;
        body_sent += chunk;
        fds_sent += fd_chunk;
        first = false;
    } while (body_sent < body_size || fds_sent < message.fds.size());
    return {};
}

Status Connection::queue(const OutgoingMessage& message) {
    if (Status s = require_ready(); !s.ok()) return s;

    // Sends directly while the socket accepts packets; from the first EAGAIN on, copies the
    // packet (and duplicates its descriptors) into the outbox, which on_writable drains.
    class QueueSink final : public PacketSink {
    public:
        explicit QueueSink(Connection& connection) : c_(connection) {}
        Status deliver(const iovec* parts, std::size_t part_count, std::span<const int> fds) override {
            if (c_.outbox_.empty()) {
                if (send_packet(c_.socket_.get(), parts, part_count, fds, nullptr, MSG_DONTWAIT, c_.stream_) >= 0) return {};
                if (errno != EAGAIN) return send_error(errno);
            }
            // Counted with what holding it costs, so that many small packets cannot hide
            // behind a byte count (a 30-byte reply costs a heap block and a deque slot too).
            std::size_t size = sizeof(PendingPacket) + kQueuedPacketOverhead;
            for (std::size_t i = 0; i < part_count; ++i) size += parts[i].iov_len;
            if (c_.max_queued_bytes_ && c_.outbox_bytes_ + size > *c_.max_queued_bytes_) {
                overflow = true;
                return Status(StatusCode::TooLarge, "the peer is not reading: " + std::to_string(c_.outbox_bytes_) +
                                                        " bytes are already queued for it (limit " +
                                                        std::to_string(*c_.max_queued_bytes_) + ")");
            }
            PendingPacket pending;
            for (std::size_t i = 0; i < part_count; ++i) {
                auto* bytes = static_cast<const std::uint8_t*>(parts[i].iov_base);
                pending.bytes.insert(pending.bytes.end(), bytes, bytes + parts[i].iov_len);
            }
            for (int fd : fds) {
                UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
                if (!copy) return errno_status("duplicating a descriptor to queue it", errno);
                pending.fds.push_back(std::move(copy));
            }
            c_.outbox_bytes_ += size;
            c_.outbox_.push_back(std::move(pending));
            return {};
        }
        bool overflow = false;

    private:
        Connection& c_;
    };
    QueueSink sink(*this);
    Status status = emit_packets(message, sink);
    // A message that is too large for the limits leaves the connection usable; a peer that
    // does not read is not going to get better.
    if (!status.ok() && (sink.overflow || (status.code() != StatusCode::TooLarge && status.code() != StatusCode::SystemError)))
        return fail(status);
    return status;
}

Status Connection::flush_outbox(bool blocking, Clock::time_point until) {
    while (!outbox_.empty()) {
        PendingPacket& packet = outbox_.front();
        iovec part{packet.bytes.data(), packet.bytes.size()};
        std::vector<int> fds;
        fds.reserve(packet.fds.size());
        for (const UniqueFd& fd : packet.fds) fds.push_back(fd.get());
        if (send_packet(socket_.get(), &part, 1, fds, nullptr, MSG_DONTWAIT, stream_) >= 0) {
            outbox_bytes_ -= sizeof(PendingPacket) + kQueuedPacketOverhead + packet.bytes.size();
            outbox_.pop_front();
            continue;
        }
        if (errno != EAGAIN) return fail(send_error(errno));
        if (!blocking) return {};
        if (Status s = wait_for(POLLOUT, until, "sending"); !s.ok()) return s;
    }
    return {};
}

Status Connection::on_writable() {
    if (state_ == ConnectionState::Closed) return closed_status();
    return flush_outbox(false, Clock::time_point::max());
}

Status Connection::send(const OutgoingMessage& message) {
    if (Status s = require_ready(); !s.ok()) return s;
    Clock::time_point until = deadline();
    if (Status s = flush_outbox(true, until); !s.ok()) return s;

    // Sends each packet in place, waiting for room as needed: no copy of the body.
    class DirectSink final : public PacketSink {
    public:
        DirectSink(Connection& connection, Clock::time_point until) : c_(connection), until_(until) {}
        Status deliver(const iovec* parts, std::size_t part_count, std::span<const int> fds) override {
            for (;;) {
                int flags = c_.socket_blocking_ && until_ == Clock::time_point::max() ? 0 : MSG_DONTWAIT;
                if (send_packet(c_.socket_.get(), parts, part_count, fds, nullptr, flags, c_.stream_) >= 0) {
                    started_ = true;
                    return {};
                }
                if (errno != EAGAIN) return send_error(errno);
                if (Status s = c_.wait_for(POLLOUT, until_, "sending"); !s.ok()) return s;
            }
        }
        bool started_ = false;

    private:
        Connection& c_;
        Clock::time_point until_;
    };
    DirectSink sink(*this, until);
    Status status = emit_packets(message, sink);
    if (status.ok() || (!sink.started_ && (status.code() == StatusCode::TooLarge || status.code() == StatusCode::Timeout)))
        return status;
    // Part of a message went out: the stream cannot be resynchronised.
    return fail(status);
}

// ---------------------------------------------------------------------------------------
// receiving

Status Connection::read_packet(bool blocking, bool& would_block) {
    would_block = false;
    std::uint8_t header_bytes[kPacketHeaderSize];
    iovec parts[2];
    parts[0] = {header_bytes, kPacketHeaderSize};
    if (assembly_.active) {
        // Continuation packets land directly in the message body: no copy for bulk data.
        std::size_t room = std::min(assembly_.message.body.size() - assembly_.body_received,
                                    packet_size() - kPacketHeaderSize);
        parts[1] = {assembly_.message.body.data() + assembly_.body_received, room};
    } else {
        parts[1] = {scratch_.data(), scratch_.size() - kPacketHeaderSize};
    }
    msghdr header{};
    header.msg_iov = parts;
    header.msg_iovlen = 2;
    header.msg_control = control_.data();
    header.msg_controllen = control_.size();
    ssize_t received;
    do {
        int flags = MSG_CMSG_CLOEXEC | (blocking ? 0 : MSG_DONTWAIT);
        received = stream_ ? stream_receive_packet(socket_.get(), &header, flags) : ::recvmsg(socket_.get(), &header, flags);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        if (errno == EAGAIN) {
            would_block = true;
            return {};
        }
        // SEQPACKET reports ECONNRESET when the peer exits with our data still unread.
        if (errno == ECONNRESET) return fail(Status(StatusCode::PeerClosed, "the peer closed the connection"));
        return fail(errno_status("recvmsg", errno));
    }

    // Take ownership of every descriptor before any check can fail, so none leaks.
    std::vector<UniqueFd> fds;
    const ::ucred* credentials = nullptr;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET) continue;
        if (cmsg->cmsg_type == SCM_RIGHTS) {
            std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
                fds.push_back(own_received_fd(fd));
            }
        } else if (cmsg->cmsg_type == SCM_CREDENTIALS && cmsg->cmsg_len >= CMSG_LEN(sizeof(::ucred))) {
            credentials = reinterpret_cast<const ::ucred*>(CMSG_DATA(cmsg));
        }
    }
    if (received == 0) return fail(Status(StatusCode::PeerClosed, "the peer closed the connection"));
    if (header.msg_flags & MSG_CTRUNC)
        return fail(Status(StatusCode::TooLarge,
                           "descriptors were truncated by the kernel (MSG_CTRUNC): this process may be at its "
                           "open-file limit; the " + std::to_string(fds.size()) + " that arrived were closed"));
    if (header.msg_flags & MSG_TRUNC)
        return fail(Status(StatusCode::Malformed, assembly_.active
                                                      ? "the peer sent more data than its message header announced "
                                                        "or than the agreed packet size allows"
                                                      : "the peer sent a packet larger than the agreed packet size"));
    if (static_cast<std::size_t>(received) < kPacketHeaderSize)
        return fail(Status(StatusCode::Malformed, "the peer sent a packet shorter than its header"));
    PacketHeader packet = PacketHeader::load(header_bytes);
    std::size_t payload_length = static_cast<std::size_t>(received) - kPacketHeaderSize;
    if (packet.payload_length != payload_length)
        return fail(Status(StatusCode::Malformed, "packet header announces " + std::to_string(packet.payload_length) +
                                                      " payload bytes but " + std::to_string(payload_length) + " arrived"));
    if (packet.fd_count != fds.size())
        return fail(Status(StatusCode::Malformed, "packet header announces " + std::to_string(packet.fd_count) +
                                                      " descriptors but " + std::to_string(fds.size()) + " arrived"));
    std::span<const std::uint8_t> payload(static_cast<const std::uint8_t*>(parts[1].iov_base), payload_length);
    Status status;
    if (packet.type == PacketType::Hello) {
        status = fds.empty() ? handle_hello(payload, credentials)
                             : Status(StatusCode::Malformed, "the peer's handshake carried descriptors");
    } else if (packet.type == PacketType::Data) {
        status = state_ == ConnectionState::Ready
                     ? handle_data(packet.flags, payload, fds)
                     : Status(StatusCode::Malformed, "the peer sent data before completing the handshake");
    } else {
        status = Status(StatusCode::Malformed, "unknown packet type " + std::to_string(int(packet.type)));
    }
    return status.ok() ? status : fail(status);
}

Status Connection::handle_data(std::uint8_t flags, std::span<const std::uint8_t> payload, std::vector<UniqueFd>& fds) {
    bool first = flags & kFirstFragment;
    if (first == assembly_.active)
        return Status(StatusCode::Malformed, first ? "a new message started before the previous one ended"
                                                   : "a continuation packet arrived outside a message");
    if (first) {
        if (payload.size() < kMessageHeaderSize)
            return Status(StatusCode::Malformed, "the first packet of a message is shorter than the message header");
        MessageHeader header = MessageHeader::load(payload.data());
        if (header.body_length > max_message_size_)
            return Status(StatusCode::TooLarge, "the peer sent a " + std::to_string(header.body_length) +
                                                    "-byte message; the limit is " + std::to_string(max_message_size_));
        if (header.fd_count > max_message_fds_)
            return Status(StatusCode::TooLarge, "the peer sent " + std::to_string(header.fd_count) +
                                                    " descriptors in one message; the limit is " +
                                                    std::to_string(max_message_fds_));
        if (header.kind > static_cast<std::uint8_t>(MessageKind::Cancel))
            return Status(StatusCode::Malformed, "unknown message kind " + std::to_string(header.kind));
        if (header.flags & ~kMessageHasDeadline)
            return Status(StatusCode::Malformed, "unknown message header flags " + std::to_string(header.flags));
        const bool has_deadline = header.flags & kMessageHasDeadline;
        if (has_deadline && header.kind != static_cast<std::uint8_t>(MessageKind::Request))
            return Status(StatusCode::Malformed, "a deadline on a message that is not a request");
        const std::size_t header_length = kMessageHeaderSize + (has_deadline ? kDeadlineFieldSize : 0);
        if (payload.size() < header_length)
            return Status(StatusCode::Malformed, "the first packet of a message is shorter than its deadline field");
        std::size_t chunk = payload.size() - header_length;
        if (chunk > header.body_length)
            return Status(StatusCode::Malformed, "message body is longer than its header announces");
        assembly_ = Assembly{};
        assembly_.active = true;
        assembly_.started = Clock::now();
        assembly_.message.tag = header.tag;
        assembly_.message.kind = static_cast<MessageKind>(header.kind);
        assembly_.message.call_id = header.call_id;
        if (has_deadline)
            assembly_.message.timeout_ms = static_cast<std::uint32_t>(load_le(payload.data() + kMessageHeaderSize, 4));
        assembly_.message.body.resize(header.body_length);
        if (chunk) std::memcpy(assembly_.message.body.data(), payload.data() + header_length, chunk);
        assembly_.body_received = chunk;
        assembly_.fds_expected = header.fd_count;
        assembly_.message.fds.reserve(header.fd_count);
    } else {
        assembly_.body_received += payload.size();  // already read in place
    }
    if (assembly_.message.fds.size() + fds.size() > assembly_.fds_expected)
        return Status(StatusCode::Malformed, "message carries more descriptors than its header announces");
    for (UniqueFd& fd : fds) assembly_.message.fds.push_back(std::move(fd));
    bool complete = assembly_.body_received == assembly_.message.body.size() &&
                    assembly_.message.fds.size() == assembly_.fds_expected;
    bool last = flags & kLastFragment;
    if (last != complete)
        return Status(StatusCode::Malformed, last ? "the last packet of a message arrived before all its data"
                                                  : "a message's data is complete but its last packet is not marked");
    if (complete) {
        inbox_.push_back(std::move(assembly_.message));
        assembly_ = Assembly{};
    }
    return {};
}

Status Connection::on_readable() {
    if (state_ == ConnectionState::Closed) return closed_status();
    if (state_ != ConnectionState::Handshaking && state_ != ConnectionState::Ready)
        return Status(StatusCode::InvalidState, "the connection has not been started");
    // Bounded, so one busy peer cannot starve the others sharing an event loop.
    for (int packets = 0; packets < 64; ++packets) {
        bool would_block = false;
        if (Status s = read_packet(false, would_block); !s.ok()) return s;
        if (would_block) break;
    }
    return {};
}

Message Connection::take_message() {
    Message message = std::move(inbox_.front());
    inbox_.pop_front();
    return message;
}

Result<Message> Connection::receive() { return receive_until(deadline()); }

Result<Message> Connection::receive_for(std::optional<std::chrono::milliseconds> timeout) {
    return receive_until(timeout ? Clock::now() + *timeout : Clock::time_point::max());
}

Result<Message> Connection::receive_until(Clock::time_point until) {
    if (inbox_.empty()) {
        if (Status s = require_ready(); !s.ok()) return s;
    }
    bool can_block = socket_blocking_ && until == Clock::time_point::max();
    while (inbox_.empty()) {
        if (state_ == ConnectionState::Closed) return closed_status();
        if (!outbox_.empty()) {
            if (Status s = flush_outbox(false, until); !s.ok()) return s;
        }
        bool would_block = false;
        if (can_block && outbox_.empty()) {
            if (Status s = read_packet(true, would_block); !s.ok()) return s;
        } else {
            if (Status s = read_packet(false, would_block); !s.ok()) return s;
            if (would_block) {
                short events = outbox_.empty() ? POLLIN : POLLIN | POLLOUT;
                if (Status s = wait_for(events, until, "receiving"); !s.ok()) return s;
            }
        }
    }
    return take_message();
}

} // namespace airlock
