#pragma once
// Where the host may bind its control socket (see socket_directory.cpp).

#include <airlock/connection/status.hpp>

#include <string>

namespace airlock::host::detail {

/// Ok when no user but root and the host's own can change what `socket_path` names: its
/// directory passes check_only_host_can_change (no_follow_open.hpp). In a directory others
/// can write, one of them could rename the host's socket away and bind the name (to be taken
/// for the host by airlockctl), or swap it for a link between its bind and chmod/chown. A
/// sticky directory (/tmp) passes: others cannot touch the host's socket there, only take a
/// free name first, which makes the host refuse to start (airlockctl checks who serves a
/// socket before it sends anything). Otherwise PermissionDenied (NotFound for a missing
/// directory), "control socket <path>: directory <why>".
airlock::Status check_control_socket_directory(const std::string& socket_path);

} // namespace airlock::host::detail
