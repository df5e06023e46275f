#pragma once
// Shared fixtures for the connection tests: a protocol exercising every kind, descriptor
// counting, and running a peer in a real forked process.

#include "airlock/connection/call_session.hpp"
#include "airlock/connection/connection.hpp"
#include "airlock/connection/received_descriptors.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace test {

enum class Access : std::uint8_t { Read = 1, Write = 2, Append = 4 };
AIRLOCK_ENUM(Access, Read, Write, Append)

struct Grant {
    airlock::String<64> name;
    Access access = Access::Read;
    airlock::UniqueFd fd;
};
AIRLOCK_STRUCT(Grant, name, access, fd)

struct Inner {
    std::int16_t level = 0;
    airlock::UniqueFd fd;
};
AIRLOCK_STRUCT(Inner, level, fd)

struct Outer {
    std::uint64_t id = 0;
    std::int32_t delta = 0;
    bool flag = false;
    airlock::String<32> label;
    airlock::Bytes<1 << 21> blob;
    airlock::Vector<Grant, 2048> grants;
    std::optional<Inner> inner;
    std::optional<std::uint8_t> maybe;
    airlock::UniqueFd direct;
};
AIRLOCK_STRUCT(Outer, id, delta, flag, label, blob, grants, inner, maybe, direct)

struct Echo {
    airlock::Bytes<1 << 24> data;
};
AIRLOCK_STRUCT(Echo, data)

inline constexpr airlock::Method<Outer, Outer> bounce{1, "bounce"};
inline constexpr airlock::Method<Echo, Echo> echo{2, "echo"};
inline constexpr airlock::Method<Echo, Echo> fail_always{3, "fail"};
inline constexpr airlock::Method<Echo, Echo> unserved{4, "unserved"};
inline constexpr airlock::Notification<Echo> note{5, "note"};
inline constexpr airlock::Method<Echo, Echo> ask_back{6, "ask_back"};

inline const airlock::Protocol& protocol() {
    static const airlock::Protocol p =
        airlock::Protocol("airlock.test").add(bounce).add(echo).add(fail_always).add(unserved).add(note).add(ask_back);
    return p;
}

/// Number of open descriptors of this process, once the closing thread (if a test turned it
/// on: received_descriptors.hpp) has closed what it was handed (waits up to 10 s).
inline int open_fd_count() {
    for (int i = 0; i < 1000 && airlock::received_descriptors_closing() != 0; ++i) ::usleep(10000);
    int count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    while (dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count - 1;  // the directory stream itself
}

/// The next packet on `socket` as its raw bytes (blocking): what a real sender put on the
/// wire, for tests that replay or corrupt it. Its descriptors are closed.
inline std::vector<std::uint8_t> receive_raw_packet(int socket) {
    std::vector<std::uint8_t> packet(4096);
    alignas(cmsghdr) char control[CMSG_SPACE(16 * sizeof(int))];
    iovec part{packet.data(), packet.size()};
    msghdr header{};
    header.msg_iov = &part;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket, &header, MSG_CMSG_CLOEXEC);
    if (n <= 0) throw std::runtime_error("receive_raw_packet: recvmsg");
    packet.resize(static_cast<std::size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c))
        for (std::size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i)
            ::close(reinterpret_cast<int*>(CMSG_DATA(c))[i]);
    return packet;
}

/// A connected socketpair, both ends close-on-exec.
inline std::pair<airlock::UniqueFd, airlock::UniqueFd> seqpacket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
    return {airlock::UniqueFd(fds[0]), airlock::UniqueFd(fds[1])};
}

/// Runs `body` in a forked child that exits with its return value (99 on an exception, whose
/// message goes to stderr). With `ends`, the child gets `ends.second` and closes `ends.first`;
/// the parent keeps `ends.first` and closes `ends.second`, so each side sees the other's exit.
class ForkedPeer {
public:
    explicit ForkedPeer(std::function<int()> body) { start([&] { return body(); }); }
    ForkedPeer(std::pair<airlock::UniqueFd, airlock::UniqueFd>& ends, std::function<int(airlock::UniqueFd)> body) {
        start([&] {
            ends.first.reset();
            return body(std::move(ends.second));
        });
        ends.second.reset();
    }
    ~ForkedPeer() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            wait();
        }
    }
    pid_t pid() const { return pid_; }
    /// Waits and returns the exit code (128+signal if killed).
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    template <class Body>
    void start(Body&& body) {
        pid_ = ::fork();
        if (pid_ == 0) {
            int code = 99;
            try {
                code = body();
            } catch (const std::exception& error) {
                std::fprintf(stderr, "forked peer: %s\n", error.what());
            }
            ::_exit(code);
        }
    }
    pid_t pid_ = -1;
    bool reaped_ = false;
};

/// A Pair connection over `fd`, established (blocking).
inline airlock::Connection established(airlock::UniqueFd fd, std::size_t packet_size = 0) {
    airlock::Connection connection(protocol());
    if (packet_size) (void)connection.set_packet_size(packet_size);
    airlock::Status s = connection.set_fd(airlock::ConnectionMode::Pair, std::move(fd));
    if (!s.ok()) throw std::runtime_error(s.to_string());
    s = connection.establish();
    if (!s.ok()) throw std::runtime_error(s.to_string());
    return connection;
}

/// Two in-process Pair connections over a fresh socketpair, handshaken through the
/// non-blocking core (so each side can be driven step by step).
inline std::pair<airlock::Connection, airlock::Connection> ready_pair() {
    auto [a, b] = seqpacket_pair();
    airlock::Connection left(protocol()), right(protocol());
    auto check = [](airlock::Status s) {
        if (!s.ok()) throw std::runtime_error(s.to_string());
    };
    check(left.set_fd(airlock::ConnectionMode::Pair, std::move(a)));
    check(right.set_fd(airlock::ConnectionMode::Pair, std::move(b)));
    check(left.start());
    check(right.start());
    check(left.on_readable());
    check(right.on_readable());
    if (left.state() != airlock::ConnectionState::Ready || right.state() != airlock::ConnectionState::Ready)
        throw std::runtime_error("ready_pair: the handshake did not complete");
    return {std::move(left), std::move(right)};
}

/// (device, inode) of an open descriptor.
inline std::pair<dev_t, ino_t> identity(int fd) {
    struct stat info{};
    ::fstat(fd, &info);
    return {info.st_dev, info.st_ino};
}

} // namespace test
