#include "socket_checks.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>

namespace airlock {
namespace {

int socket_option(int fd, int option) {
    int value = -1;
    socklen_t length = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) < 0) return -1;
    return value;
}

// True when the address is a filesystem path. Unnamed sockets report only the family, and a
// socketpair end may carry an abstract name the kernel assigned (autobind, e.g. after
// SO_PASSCRED), which does not make it a named endpoint.
bool has_pathname(const sockaddr_un& address, socklen_t length) {
    return length > sizeof(sa_family_t) && address.sun_path[0] != '\0';
}

} // namespace

Status check_connected_seqpacket(int fd, bool expect_pair) {
    std::string which = "descriptor " + std::to_string(fd);
    struct stat info{};
    if (fd < 0 || ::fstat(fd, &info) < 0) return Status(StatusCode::InvalidParameter, which + " is not open");
    if (!S_ISSOCK(info.st_mode)) return Status(StatusCode::InvalidParameter, which + " is not a socket");
    if (socket_option(fd, SO_DOMAIN) != AF_UNIX)
        return Status(StatusCode::InvalidParameter, which + " is not a UNIX-domain socket");
    int type = socket_option(fd, SO_TYPE);
    if (type != SOCK_SEQPACKET && type != SOCK_STREAM)
        return Status(StatusCode::InvalidParameter, which + " is not a SOCK_SEQPACKET or SOCK_STREAM socket");
    if (socket_option(fd, SO_ACCEPTCONN) == 1)
        return Status(StatusCode::InvalidParameter, which + " is a listening socket; use airlock::Listener to accept");
    sockaddr_un local{}, peer{};
    socklen_t local_length = sizeof local, peer_length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) < 0)
        return Status(StatusCode::InvalidParameter, which + " is not connected");
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) < 0)
        return Status(StatusCode::InvalidParameter, which + ": getsockname failed");
    bool anonymous = !has_pathname(local, local_length) && !has_pathname(peer, peer_length);
    if (expect_pair && !anonymous)
        return Status(StatusCode::InvalidParameter, which + " is bound to a path; Pair mode takes a socketpair end");
    // Local: at least one end is a filesystem path (the listener's).
    if (!expect_pair && anonymous)
        return Status(StatusCode::InvalidParameter, which + " is an anonymous socketpair end; use Pair mode");
    return {};
}

std::optional<SecurityToken> kernel_peer_credentials(int fd) {
    ::ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) return std::nullopt;
    return SecurityToken{credentials.uid, credentials.gid, credentials.pid > 0 ? credentials.pid : -1};
}

} // namespace airlock
