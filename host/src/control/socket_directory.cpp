// The control socket's directory must be the host's (check_only_host_can_change).
#include "socket_directory.hpp"

#include <airlock/host/no_follow_open.hpp>

namespace airlock::host::detail {

airlock::Status check_control_socket_directory(const std::string& socket_path) {
    const std::size_t slash = socket_path.rfind('/');
    const std::string directory = slash == 0 ? "/" : socket_path.substr(0, slash);
    if (airlock::Status trusted = check_only_host_can_change(directory); !trusted.ok())
        return airlock::Status(trusted.code(), "control socket " + socket_path + ": directory " + trusted.message());
    return {};
}

} // namespace airlock::host::detail
