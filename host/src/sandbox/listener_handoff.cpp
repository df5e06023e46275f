// Host side of the listener hand-off: one SCM_RIGHTS message from the child.
#include "airlock/host/violation_monitor.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace airlock::host {

Result<UniqueFd> receive_seccomp_listener(int socket_fd, int timeout_ms) {
    pollfd pfd{socket_fd, POLLIN, 0};
    int ready;
    do {
        ready = poll(&pfd, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return errno_status("poll (listener hand-off)", errno);
    if (ready == 0) return Status(StatusCode::Timeout, "the child did not hand over its seccomp listener in time");

    char payload = 0;
    iovec iov{&payload, 1};
    // Room for more than one descriptor so extras are received (and closed), not leaked.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno_status("recvmsg (listener hand-off)", errno);
    if (n == 0) return Status(StatusCode::PeerClosed, "the child exited before handing over its seccomp listener");

    std::vector<UniqueFd> received;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
            received.emplace_back(fd);
        }
    }
    if (payload != 'L' || received.size() != 1 || (msg.msg_flags & MSG_CTRUNC))
        return Status(StatusCode::Malformed, "the listener hand-off message is not one seccomp listener");
    return std::move(received.front());
}

} // namespace airlock::host
