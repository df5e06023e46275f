#pragma once
// The messages the connection benchmarks exchange, and how their connections are set up.

#include "airlock/connection/protocol.hpp"
#include "airlock/connection/types.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <cstdint>

namespace bench {

/// 64 bytes of payload (body on the wire: u32 length + 64 bytes).
struct Payload64 {
    airlock::Bytes<64> data;
};
AIRLOCK_STRUCT(Payload64, data)

/// One descriptor, owned by the message.
struct FdRequest {
    airlock::UniqueFd fd;
};
AIRLOCK_STRUCT(FdRequest, fd)

struct FdReply {
    std::uint32_t closed = 0;
};
AIRLOCK_STRUCT(FdReply, closed)

inline constexpr std::size_t kBulkMessageSize = std::size_t(16) << 20;

/// One 16 MiB slice of the bulk transfer, as a typed message.
struct BulkChunk {
    airlock::Bytes<kBulkMessageSize> data;
};
AIRLOCK_STRUCT(BulkChunk, data)

/// BulkChunk as a receiver decodes it in place: the same wire type, a view into the message.
struct BulkChunkView {
    airlock::BytesView<kBulkMessageSize> data;
};
AIRLOCK_STRUCT(BulkChunkView, data)

struct BulkDone {
    std::uint64_t bytes = 0;
};
AIRLOCK_STRUCT(BulkDone, bytes)

inline constexpr airlock::Method<Payload64, Payload64> echo64{1, "echo64"};
inline constexpr airlock::Method<FdRequest, FdReply> take_fd{2, "take_fd"};
inline constexpr airlock::Notification<BulkChunk> bulk_chunk{3, "bulk_chunk"};
inline constexpr airlock::Notification<BulkDone> bulk_done{4, "bulk_done"};

inline const airlock::Protocol& protocol() {
    static const airlock::Protocol p =
        airlock::Protocol("airlock.bench").add(echo64).add(take_fd).add(bulk_chunk).add(bulk_done);
    return p;
}

} // namespace bench

#include "airlock/connection/connection.hpp"

#include <stdexcept>

namespace bench {

/// A Pair connection over `socket`, handshake completed (blocking).
inline airlock::Connection established(airlock::UniqueFd socket, std::size_t packet_size = 0) {
    airlock::Connection connection(protocol());
    if (packet_size) {
        if (airlock::Status s = connection.set_packet_size(packet_size); !s.ok()) throw std::runtime_error(s.to_string());
    }
    if (airlock::Status s = connection.set_fd(airlock::ConnectionMode::Pair, std::move(socket)); !s.ok())
        throw std::runtime_error(s.to_string());
    if (airlock::Status s = connection.establish(); !s.ok()) throw std::runtime_error(s.to_string());
    return connection;
}

} // namespace bench

#include <sys/socket.h>

#include <utility>

namespace bench {

/// A connected AF_UNIX SOCK_SEQPACKET socketpair (the transport of a Pair connection; the raw
/// baselines use the same socket type).
inline std::pair<airlock::UniqueFd, airlock::UniqueFd> seqpacket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair failed");
    return {airlock::UniqueFd(fds[0]), airlock::UniqueFd(fds[1])};
}

} // namespace bench
