#include "user_lookup.hpp"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace airlock::host::config_detail {

std::optional<UserIds> lookup_user(const std::string& name) {
    long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
    passwd entry{};
    passwd* result = nullptr;
    while (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &result) == ERANGE)
        buffer.resize(buffer.size() * 2);
    if (result == nullptr)
        return std::nullopt;
    return UserIds{result->pw_uid, result->pw_gid};
}

} // namespace airlock::host::config_detail
