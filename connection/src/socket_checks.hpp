#pragma once
// Validation and inspection of adopted sockets. Internal to the connection library.

#include "airlock/connection/connection.hpp"

#include <optional>

namespace airlock {

/// Success if `fd` is a connected AF_UNIX SOCK_SEQPACKET or SOCK_STREAM socket of the right shape:
/// for a pair both ends are unnamed, for Local one end has a path. Never blocks.
Status check_connected_seqpacket(int fd, bool expect_pair);

/// The peer's credentials from SO_PEERCRED (the connecting or accepting process).
std::optional<SecurityToken> kernel_peer_credentials(int fd);

} // namespace airlock
