#include "stream_transport.hpp"

#include "airlock/connection/received_descriptors.hpp"

#include "packet_format.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace airlock {
namespace {

// Waits until `fd` is ready for `events`; false with errno set on failure.
bool wait_ready(int fd, short events) {
    pollfd entry{fd, events, 0};
    for (;;) {
        int rc = ::poll(&entry, 1, -1);
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

// Closes descriptors in stray ancillary data; true when there were any.
bool close_stray_descriptors(msghdr& header) {
    bool any = false;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
            mark_received_descriptor(fd);  // its close may block: received_descriptors.hpp
            close_descriptor(fd);
            any = true;
        }
    }
    return any;
}

// Reads exactly `size` bytes into `into` after a packet has started (so it waits for them).
// Returns false with errno set; ECONNRESET when the stream ends first.
bool read_rest(int fd, std::uint8_t* into, std::size_t size) {
    while (size > 0) {
        alignas(cmsghdr) char control[CMSG_SPACE(16 * sizeof(int)) + CMSG_SPACE(sizeof(::ucred))];
        iovec part{into, size};
        msghdr header{};
        header.msg_iov = &part;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        ssize_t got = ::recvmsg(fd, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                if (!wait_ready(fd, POLLIN)) return false;
                continue;
            }
            return false;
        }
        if (close_stray_descriptors(header) || (header.msg_flags & MSG_CTRUNC)) {
            errno = EPROTO;  // descriptors belong to a packet's first byte only
            return false;
        }
        if (got == 0) {
            errno = ECONNRESET;
            return false;
        }
        into += got;
        size -= static_cast<std::size_t>(got);
    }
    return true;
}

} // namespace

bool is_stream_socket(int fd) {
    int type = 0;
    socklen_t length = sizeof type;
    return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
}

ssize_t stream_send_packet(int fd, const msghdr* message, int flags) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < message->msg_iovlen; ++i) total += message->msg_iov[i].iov_len;
    ssize_t sent = ::sendmsg(fd, message, flags | MSG_NOSIGNAL);
    if (sent < 0) return -1;
    // The rest of a started packet must follow before anything else: finish it.
    std::size_t done = static_cast<std::size_t>(sent);
    std::size_t part = 0, skip = done;
    while (part < message->msg_iovlen && skip >= message->msg_iov[part].iov_len) skip -= message->msg_iov[part++].iov_len;
    while (done < total) {
        iovec rest{static_cast<std::uint8_t*>(message->msg_iov[part].iov_base) + skip, message->msg_iov[part].iov_len - skip};
        ssize_t more = ::send(fd, rest.iov_base, rest.iov_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (more < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                if (!wait_ready(fd, POLLOUT)) return -1;
                continue;
            }
            return -1;
        }
        done += static_cast<std::size_t>(more);
        skip += static_cast<std::size_t>(more);
        if (skip == message->msg_iov[part].iov_len) {
            ++part;
            skip = 0;
        }
    }
    return static_cast<ssize_t>(total);
}

ssize_t stream_receive_packet(int fd, msghdr* message, int flags) {
    auto* header_bytes = static_cast<std::uint8_t*>(message->msg_iov[0].iov_base);
    iovec header_part{header_bytes, wire::kPacketHeaderSize};
    msghdr first = *message;
    first.msg_iov = &header_part;
    first.msg_iovlen = 1;
    ssize_t got = ::recvmsg(fd, &first, flags);
    if (got <= 0) return got;  // -1 (EAGAIN: nothing yet) or 0 (end of stream between packets)
    message->msg_controllen = first.msg_controllen;
    message->msg_flags = first.msg_flags;
    std::size_t have = static_cast<std::size_t>(got);
    if (!read_rest(fd, header_bytes + have, wire::kPacketHeaderSize - have)) return -1;
    std::size_t payload_length = wire::PacketHeader::load(header_bytes).payload_length;
    if (payload_length > message->msg_iov[1].iov_len) {
        message->msg_flags |= MSG_TRUNC;
        return static_cast<ssize_t>(wire::kPacketHeaderSize);
    }
    if (!read_rest(fd, static_cast<std::uint8_t*>(message->msg_iov[1].iov_base), payload_length)) return -1;
    return static_cast<ssize_t>(wire::kPacketHeaderSize + payload_length);
}

} // namespace airlock
