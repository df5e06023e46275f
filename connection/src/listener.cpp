#include "airlock/connection/listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock {
namespace {

// SO_PASSRIGHTS (Linux 6.16): the installed headers may predate it. 83 is its number in
// asm-generic/socket.h; the architectures with their own numbering get -1 (refused by the
// kernel as unknown: the listener then does not refuse descriptors, and says so).
#if defined(SO_PASSRIGHTS)
constexpr int kSoPassRights = SO_PASSRIGHTS;
#elif defined(__alpha__) || defined(__mips__) || defined(__hppa__) || defined(__sparc__)
constexpr int kSoPassRights = -1;
#else
constexpr int kSoPassRights = 83;
#endif

sockaddr_un make_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    return address;
}

// True when a process is accepting on `path`; false for a stale socket file.
bool someone_listens_on(const std::string& path) {
    UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!probe) return false;
    sockaddr_un address = make_address(path);
    return ::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 || errno != ECONNREFUSED;
}

} // namespace

Listener::Listener(UniqueFd socket, std::string path, dev_t device, ino_t inode)
    : socket_(std::move(socket)), path_(std::move(path)), device_(device), inode_(inode) {}

Listener& Listener::operator=(Listener&& other) noexcept {
    if (this != &other) {
        remove_socket_file();
        socket_ = std::move(other.socket_);
        path_ = std::move(other.path_);
        device_ = other.device_;
        inode_ = other.inode_;
        refuses_descriptors_ = other.refuses_descriptors_;
    }
    return *this;
}

Listener::~Listener() { remove_socket_file(); }

void Listener::remove_socket_file() {
    if (!socket_ || path_.empty()) return;
    struct stat info{};
    // Only remove the file we created: another listener may have replaced it since.
    if (::lstat(path_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_) ::unlink(path_.c_str());
    socket_.reset();
}

Result<Listener> Listener::bind(std::string path, mode_t mode, int backlog, PeerDescriptors descriptors) {
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
        return Status(StatusCode::InvalidParameter,
                      "socket path must be 1 to " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes long");
    // Non-blocking, so try_accept never waits; accept() waits in poll() instead.
    UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket) return errno_status("socket", errno);
    sockaddr_un address = make_address(path);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
        if (errno != EADDRINUSE) return errno_status("bind " + path, errno);
        struct stat existing{};
        if (::lstat(path.c_str(), &existing) == 0 && !S_ISSOCK(existing.st_mode))
            return Status(StatusCode::InvalidState, path + " exists and is not a socket; refusing to replace it");
        if (someone_listens_on(path))
            return Status(StatusCode::InvalidState, "another process is already listening on " + path);
        ::unlink(path.c_str());  // stale: its listener died without removing it
        if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
            return errno_status("bind " + path, errno);
    }
    // Until listen() nobody can connect, so the mode is in place before the first peer.
    if (::chmod(path.c_str(), mode) < 0) {
        int error_number = errno;
        ::unlink(path.c_str());
        return errno_status("chmod " + path, error_number);
    }
    struct stat bound{};
    if (::lstat(path.c_str(), &bound) < 0) return errno_status("stat " + path, errno);
    // Before listen(): a connection is made from the listener's settings when the peer connects.
    bool refuses = false;
    if (descriptors == PeerDescriptors::Refused) {
        const int pass = 0;
        refuses = ::setsockopt(socket.get(), SOL_SOCKET, kSoPassRights, &pass, sizeof pass) == 0;
        if (!refuses && errno != ENOPROTOOPT && errno != EINVAL) {
            int error_number = errno;
            ::unlink(path.c_str());
            return errno_status("setsockopt(SO_PASSRIGHTS) " + path, error_number);
        }
    }
    if (::listen(socket.get(), backlog) < 0) {
        int error_number = errno;
        ::unlink(path.c_str());
        return errno_status("listen " + path, error_number);
    }
    Listener listener(std::move(socket), std::move(path), bound.st_dev, bound.st_ino);
    listener.refuses_descriptors_ = refuses;
    return listener;
}

Result<UniqueFd> Listener::try_accept() {
    int fd;
    do {
        fd = ::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EAGAIN) return Status(StatusCode::Timeout, "no peer is waiting on " + path_);
        return errno_status("accept on " + path_, errno);
    }
    // Non-blocking accept4 gave a non-blocking socket; connections choose per call instead.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return UniqueFd(fd);
}

Result<UniqueFd> Listener::accept(std::optional<std::chrono::milliseconds> timeout) {
    if (!socket_) return Status(StatusCode::InvalidState, "the listener is closed");
    auto until = timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
    for (;;) {
        Result<UniqueFd> accepted = try_accept();
        if (accepted.ok() || accepted.status().code() != StatusCode::Timeout) return accepted;
        int wait_ms = -1;
        if (timeout) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return Status(StatusCode::Timeout, "no peer connected to " + path_ + " within " +
                                                       std::to_string(timeout->count()) + " ms");
            wait_ms = static_cast<int>(left.count()) + 1;
        }
        pollfd entry{socket_.get(), POLLIN, 0};
        if (::poll(&entry, 1, wait_ms) < 0 && errno != EINTR) return errno_status("poll", errno);
    }
}

Result<Connection> Listener::accept_connection(const Protocol& protocol,
                                               std::optional<std::chrono::milliseconds> timeout) {
    Result<UniqueFd> accepted = accept(timeout);
    if (!accepted) return accepted.status();
    Connection connection(protocol);
    if (Status s = connection.set_fd(ConnectionMode::Local, std::move(*accepted)); !s.ok()) return s;
    return connection;
}

} // namespace airlock
