// Fuzz target: packet framing and descriptor accounting of a real Connection
// (connection/src/connection.cpp): the handshake, packet headers, message headers,
// fragments and the descriptors attached to each packet, as a hostile peer sends them.
//
// Each input is a list of packets that a raw socket sends, one at a time, to a Connection
// speaking airlock.plugin/1 over a real SOCK_SEQPACKET socketpair (the kernel attaches the
// descriptors and the sender's credentials, as it does for a plugin). After each packet the
// connection reads (on_readable) and every complete message is taken.
// Properties: every descriptor a delivered message holds is open, and once the connection
// and its messages are gone, every descriptor the peer sent is closed (none leaks, whether
// the message completed, failed or was cut short).
// Input: records of  fds:u8 (descriptors to attach: fds % 5)  length:u16  payload.

#include "../support/fuzz_input.hpp"

#include <airlock/connection/connection.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace {

using namespace airlock;

/// Sends one datagram with `fd_count` copies of a /dev/null descriptor attached (the kernel
/// installs a new descriptor in the receiver for each). False if the kernel refused it.
bool send_packet(int socket, std::span<const std::uint8_t> payload, std::size_t fd_count, int null_fd) {
    int fds[8];
    for (std::size_t i = 0; i < fd_count; ++i) fds[i] = null_fd;
    iovec part{const_cast<std::uint8_t*>(payload.data()), payload.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
    msghdr header{};
    header.msg_iov = &part;
    header.msg_iovlen = 1;
    if (fd_count) {
        header.msg_control = control;
        header.msg_controllen = CMSG_SPACE(fd_count * sizeof(int));
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(fd_count * sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), fds, fd_count * sizeof(int));
    }
    return ::sendmsg(socket, &header, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
}

/// The lowest descriptor number free now: with nothing leaked it is the same after the input.
int lowest_free_descriptor() {
    int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 0);
    ::close(fd);
    return fd;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    // A leaked descriptor would take the lowest free number, so it moves up.
    const int baseline = lowest_free_descriptor();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) fuzz::property_failed("socketpair");
    {
        Connection connection(protocol::plugin_host_protocol());
        if (!connection.set_fd(ConnectionMode::Pair, UniqueFd(pair[0])).ok() || !connection.start().ok())
            fuzz::property_failed("the connection does not start");
        std::vector<Message> messages;  // kept until the end: their descriptors are counted below
        fuzz::InputReader in(data, size);
        while (!in.empty() && connection.state() != ConnectionState::Closed) {
            std::size_t fd_count = in.u8() % 5;
            auto payload = in.bytes(in.u16());
            if (!send_packet(pair[1], payload, fd_count, null_fd)) continue;
            (void)connection.on_readable();
            while (connection.has_message()) messages.push_back(connection.take_message());
        }
        for (const Message& message : messages)
            for (const UniqueFd& fd : message.fds)
                if (fd.get() <= 0 || ::fcntl(fd.get(), F_GETFD) == -1)
                    fuzz::property_failed("a delivered message holds a descriptor that is not open");
    }
    ::close(pair[1]);
    if (lowest_free_descriptor() != baseline) fuzz::property_failed("a received descriptor leaked");
    return 0;
}
