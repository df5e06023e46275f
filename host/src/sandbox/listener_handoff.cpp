// Host side of the listener hand-off: the child names its listener, the host takes it with
// pidfd_getfd and answers. No descriptor is ever in flight on a socket: SCM_RIGHTS would count
// against the sender's uid, which every plugin shares (nobody), so one plugin keeping
// descriptors in flight could make every other plugin's start fail (ETOOMANYREFS).
#include "airlock/host/violation_monitor.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace airlock::host {

namespace {

// Makes a child that waits for the answer fail instead of waiting forever.
void refuse(int socket_fd) { (void)::shutdown(socket_fd, SHUT_RDWR); }

Result<UniqueFd> take(int socket_fd, int timeout_ms) {
    pollfd pfd{socket_fd, POLLIN, 0};
    int ready;
    do {
        ready = poll(&pfd, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return errno_status("poll (listener hand-off)", errno);
    if (ready == 0) return Status(StatusCode::Timeout, "the child did not hand over its seccomp listener in time");

    ListenerHandoffMessage message{};
    iovec iov{&message, sizeof message};
    // Room for a descriptor too, so that one sent anyway is received (and closed), not leaked.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 4)];
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

    std::optional<ucred> sender;
    bool descriptors = false;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET) continue;
        if (cmsg->cmsg_type == SCM_CREDENTIALS && cmsg->cmsg_len == CMSG_LEN(sizeof(ucred))) {
            ucred credentials;
            std::memcpy(&credentials, CMSG_DATA(cmsg), sizeof credentials);
            sender = credentials;
        } else if (cmsg->cmsg_type == SCM_RIGHTS) {
            descriptors = true;
            const std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
                ::close(fd);
            }
        }
    }
    if (n != sizeof message || message.magic != ListenerHandoffMessage::kMagic || descriptors ||
        (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
        return Status(StatusCode::Malformed, "the listener hand-off message does not name one seccomp listener");
    if (!sender)
        return Status(StatusCode::Malformed,
                      "the listener hand-off message carries no sender (SO_PASSCRED not set on the host's end)");

    // The sender is the child, alive (it waits for the answer) and not reaped (it is ours), so
    // its pid cannot have been reused.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, sender->pid, 0)));
    if (!pidfd) return errno_status("pidfd_open (listener hand-off)", errno);
    UniqueFd listener(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), message.listener_fd, 0)));
    if (!listener) return errno_status("pidfd_getfd (listener hand-off)", errno);
    // Only a seccomp listener knows this request (and answers ENOENT for an unknown id).
    std::uint64_t no_id = 0;
    if (::ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &no_id) == 0 || errno != ENOENT)
        return Status(StatusCode::Malformed, "the descriptor the child named is not a seccomp listener");

    const char taken = ListenerHandoffMessage::kTaken;
    if (::send(socket_fd, &taken, 1, MSG_NOSIGNAL) != 1) return errno_status("send (listener hand-off)", errno);
    return listener;
}

} // namespace

Status prepare_listener_handoff(int host_socket_fd) {
    const int on = 1;
    if (::setsockopt(host_socket_fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        return errno_status("setsockopt SO_PASSCRED (listener hand-off)", errno);
    return {};
}

Result<UniqueFd> receive_seccomp_listener(int socket_fd, int timeout_ms) {
    Result<UniqueFd> listener = take(socket_fd, timeout_ms);
    if (!listener) refuse(socket_fd);
    return listener;
}

ListenerReceiver::ListenerReceiver(int socket_fd, int timeout_ms)
    : socket_fd_(socket_fd), result_(Status(StatusCode::InvalidState, "the listener was not received")),
      thread_([this, timeout_ms]() { result_ = receive_seccomp_listener(socket_fd_, timeout_ms); }) {}

ListenerReceiver::~ListenerReceiver() {
    if (!thread_.joinable()) return;
    (void)::shutdown(socket_fd_, SHUT_RDWR);  // wakes its poll: end of stream
    thread_.join();
}

Result<UniqueFd> ListenerReceiver::take() {
    if (thread_.joinable()) thread_.join();
    return std::move(result_);
}

} // namespace airlock::host
