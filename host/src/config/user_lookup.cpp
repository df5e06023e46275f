#include "user_lookup.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace airlock::host::config_detail {

std::optional<UserIds> lookup_user(const std::string& name) {
    // Grown on ERANGE; most entries fit in 1 KiB.
    std::vector<char> buffer(1024);
    passwd entry{};
    passwd* result = nullptr;
    while (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result) == ERANGE)
        buffer.resize(buffer.size() * 2);
    if (result == nullptr)
        return std::nullopt;
    return UserIds{result->pw_uid, result->pw_gid};
}

} // namespace airlock::host::config_detail

namespace airlock::host::config_detail {

std::optional<std::uint32_t> lookup_group(const std::string& name) {
    std::vector<char> buffer(1024);
    group entry{};
    group* result = nullptr;
    while (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result) == ERANGE)
        buffer.resize(buffer.size() * 2);
    if (result == nullptr)
        return std::nullopt;
    return result->gr_gid;
}

} // namespace airlock::host::config_detail
