#pragma once
// A descriptor whose close() blocks: a TCP socket with SO_LINGER set, its unsent data stuck
// behind a peer that never reads. Whoever drops the last reference waits for the linger time
// (an exiting process does not). A hostile peer sends one in SCM_RIGHTS so that the
// receiver's close is the last.
#include "descriptor_passing.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::test_support {

class LingeringSocketSender {
public:
    /// Exit codes of the sending child.
    static constexpr int kSent = 0;
    static constexpr int kRefused = 2;  // sendmsg failed with EPERM: the receiver refuses descriptors

    explicit LingeringSocketSender(int linger_seconds) : linger_seconds_(linger_seconds) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int small = 4096;
        (void)::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);  // accepted sockets inherit it
        address_.sin_family = AF_INET;
        address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address_;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address_), sizeof address_) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address_), &size) != 0 || ::listen(listener_, 4) != 0) {
            ::close(listener_);
            listener_ = -1;
        }
    }
    ~LingeringSocketSender() {
        // The reader goes first: its unread data makes it reset the connection, which ends
        // any linger still waiting.
        if (reader_ >= 0) ::close(reader_);
        if (listener_ >= 0) ::close(listener_);
    }
    LingeringSocketSender(const LingeringSocketSender&) = delete;
    LingeringSocketSender& operator=(const LingeringSocketSender&) = delete;

    /// A forked child makes the lingering socket and sends it with `payload` on the connected
    /// AF_UNIX socket `unix_fd`, wrapped so that the receiver's close is the last reference
    /// whenever it comes: the TCP socket is in flight inside a socketpair end, and that end is
    /// what is sent; the child closes its own references before it exits. Returns the child's
    /// exit code (kSent, kRefused, else 1), or -1.
    int send_from_child(int unix_fd, const void* payload, std::size_t size) {
        if (listener_ < 0) return -1;
        const sockaddr_in address = address_;
        const int linger_seconds = linger_seconds_;
        const pid_t pid = ::fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            // Only system calls here: the parent may have threads.
            const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
            const int small = 4096;
            (void)::setsockopt(tcp, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
            if (::connect(tcp, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) ::_exit(1);
            static char chunk[65536];
            std::size_t queued = 0;
            while (::send(tcp, chunk, sizeof chunk, MSG_DONTWAIT) > 0) queued += sizeof chunk;
            const ::linger lingering{1, linger_seconds};
            if (queued == 0 || ::setsockopt(tcp, SOL_SOCKET, SO_LINGER, &lingering, sizeof lingering) != 0) ::_exit(1);
            int wrapper[2];
            if (::socketpair(AF_UNIX, SOCK_DGRAM, 0, wrapper) != 0) ::_exit(1);
            static char byte = 0;
            if (!send_descriptor(wrapper[1], tcp, &byte, 1)) ::_exit(1);
            ::close(tcp);  // not the last reference: the wrapper holds it
            ::close(wrapper[1]);
            if (!send_descriptor(unix_fd, wrapper[0], payload, size)) ::_exit(errno == EPERM ? kRefused : 1);
            ::close(wrapper[0]);  // not the last reference either: it is in flight to the receiver
            ::_exit(kSent);
        }
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (reader_ < 0) reader_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);  // held, never read
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    int linger_seconds_;
    int listener_ = -1;
    int reader_ = -1;
    sockaddr_in address_{};
};

} // namespace airlock::test_support
