#pragma once
/// @file listener.hpp
/// The listening side of a Local endpoint: binds a UNIX socket path and accepts peers.

#include "airlock/connection/connection.hpp"
#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace airlock {

/// Whether peers may send descriptors (SCM_RIGHTS) on the connections a Listener accepts.
enum class PeerDescriptors {
    Accepted,
    /// The kernel refuses them at the peer's sendmsg (EPERM), before any reaches this process
    /// (SO_PASSRIGHTS, Linux 6.16+, set before listen() so every peer's connection has it). A
    /// descriptor this process is sent and then closes can block it in close() (a TCP socket
    /// with SO_LINGER and unsent data, a FUSE file's flush) for as long as the peer likes.
    Refused,
};

class Listener {
public:
    /// Binds `path` with file mode `mode` (applied before listening, so no peer can connect
    /// while the mode is still the umask's). A stale socket file left by a dead listener is
    /// replaced; a live listener on the path is InvalidState; a non-socket file at the path is
    /// never removed (InvalidState). With PeerDescriptors::Refused on a kernel that cannot
    /// refuse them the listener still binds: refuses_descriptors() tells.
    static Result<Listener> bind(std::string path, mode_t mode = 0600, int backlog = 128,
                                 PeerDescriptors descriptors = PeerDescriptors::Accepted);

    Listener(Listener&&) noexcept = default;
    Listener& operator=(Listener&&) noexcept;
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    /// Removes the socket file, if it is still the one this listener bound.
    ~Listener();

    /// Waits for a peer (forever when `timeout` is empty) and returns its connected socket,
    /// close-on-exec, ready for `Connection::set_fd(ConnectionMode::Local, ...)`.
    Result<UniqueFd> accept(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// Accepts without waiting: NotFound-free; returns Timeout status if no peer is pending.
    Result<UniqueFd> try_accept();
    /// Accepts a peer and returns a Connection in Local mode, attached but not yet started.
    Result<Connection> accept_connection(const Protocol& protocol,
                                         std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    [[nodiscard]] int fd() const { return socket_.get(); }
    [[nodiscard]] const std::string& path() const { return path_; }
    /// True when the kernel refuses every descriptor a peer sends on an accepted connection.
    [[nodiscard]] bool refuses_descriptors() const { return refuses_descriptors_; }

private:
    Listener(UniqueFd socket, std::string path, dev_t device, ino_t inode);
    void remove_socket_file();

    UniqueFd socket_;
    std::string path_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
    bool refuses_descriptors_ = false;
};

} // namespace airlock
