#pragma once
// Packets over SOCK_STREAM sockets. Internal to the connection library.
//
// LWMsg speaks over stream sockets, so a Connection accepts them too. The packets are the
// same as on SOCK_SEQPACKET (docs/wire-format.md §1); a stream has no record boundaries, so
// the 8-byte packet header's payload length delimits each packet. Each packet is sent with
// one sendmsg (its descriptors attached to its first byte, where the kernel keeps them), and
// read as the header then exactly its payload, so a read never crosses into the next packet.
//
// A packet is all or nothing to the caller: once its first byte moved, these functions wait
// (poll) for the rest, even on a non-blocking socket. A peer that stops in the middle of a
// packet therefore stalls the reader; seqpacket sockets do not have that weakness.

#include <sys/socket.h>
#include <sys/types.h>

namespace airlock {

/// True when `fd` is a SOCK_STREAM socket.
bool is_stream_socket(int fd);

/// sendmsg for one packet on a stream socket: returns the packet's length once all of it
/// was written, or -1 with errno (EAGAIN only when nothing was written). MSG_NOSIGNAL is added.
ssize_t stream_send_packet(int fd, const msghdr* message, int flags);

/// recvmsg for one packet on a stream socket. `message` has two iovecs: the packet header
/// (exactly 8 bytes) and the payload buffer. Returns 8 + payload length, 0 at end of stream
/// before a packet starts, or -1 with errno (EAGAIN only when nothing was available;
/// ECONNRESET when the stream ends inside a packet). A payload larger than its buffer sets
/// MSG_TRUNC in msg_flags (the caller closes the connection). Ancillary data is that of the
/// packet's first byte; descriptors arriving anywhere else are closed and fail with EPROTO.
ssize_t stream_receive_packet(int fd, msghdr* message, int flags);

} // namespace airlock
