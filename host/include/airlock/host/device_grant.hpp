// Which devices a file grant hands over without `device = true`, and the refusal otherwise.
// Checked by the config loader on the path and by the grant opener on the opened descriptor.
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

namespace airlock::host {

/// /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom (major 1, minors 3, 5, 7, 8,
/// 9): no ioctl of consequence (the random pool's writers need CAP_SYS_ADMIN). Identified by
/// device number, so a node of another device by one of these names is not one of them.
inline bool is_plain_memory_device(dev_t device) noexcept {
    if (::major(device) != 1) return false;
    switch (::minor(device)) {
    case 3: case 5: case 7: case 8: case 9: return true;
    default: return false;
    }
}

/// Why a file grant of `path` (status `status`) needs `device = true`, or "" when it does not:
/// its descriptor carries every ioctl of the driver, which neither Landlock (descriptors the
/// plugin did not open) nor seccomp (a request number does not say which device) limits.
inline std::string device_grant_refusal(const std::string& path, const struct stat& status) {
    const bool character = S_ISCHR(status.st_mode);
    if ((!character && !S_ISBLK(status.st_mode)) || is_plain_memory_device(status.st_rdev)) return "";
    return path + (character ? " is a character device" : " is a block device") +
           ": its ioctls reach the driver and the filter cannot limit them; set device = true (exec: --device) to grant it anyway";
}

} // namespace airlock::host
