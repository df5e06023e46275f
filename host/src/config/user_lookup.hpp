#pragma once
// Account lookups done at load time, so that nothing looks up users between fork and exec.

#include <cstdint>
#include <optional>
#include <string>

namespace airlock::host::config_detail {

struct UserIds {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;  ///< the account's primary group
};

/// The account called `name` (getpwnam_r), or nullopt if there is none.
std::optional<UserIds> lookup_user(const std::string& name);

} // namespace airlock::host::config_detail

namespace airlock::host::config_detail {

/// The gid of the group called `name` (getgrnam_r), or nullopt if there is none.
std::optional<std::uint32_t> lookup_group(const std::string& name);

} // namespace airlock::host::config_detail
