#pragma once
// Passing one descriptor over an AF_UNIX socket by hand (SCM_RIGHTS), for test peers that
// must send what the connection library would not: system calls only, so a forked child of a
// threaded test may use them.
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace airlock::test_support {

/// Sends `fd` with `payload` (at least one byte) on `socket`; false when sendmsg fails (errno
/// tells why, e.g. EPERM from a receiver that refuses descriptors).
inline bool send_descriptor(int socket, int fd, const void* payload, std::size_t size) {
    iovec part{const_cast<void*>(payload), size};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(rights), &fd, sizeof fd);
    return ::sendmsg(socket, &message, MSG_NOSIGNAL) >= 0;
}

/// One descriptor received (blocking, close-on-exec) on `socket` with a byte of data, or -1.
inline int receive_descriptor(int socket) {
    char byte;
    iovec part{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (::recvmsg(socket, &message, MSG_CMSG_CLOEXEC) <= 0) return -1;
    cmsghdr* rights = CMSG_FIRSTHDR(&message);
    if (rights == nullptr || rights->cmsg_level != SOL_SOCKET || rights->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    std::memcpy(&fd, CMSG_DATA(rights), sizeof fd);
    return fd;
}

} // namespace airlock::test_support
