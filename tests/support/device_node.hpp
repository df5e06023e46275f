#pragma once
// A device node for the device-grant tests: one whose ioctls matter (not /dev/null, zero,
// full, random or urandom), present on this machine.

#include <sys/stat.h>

#include <string>

namespace airlock::test_support {

/// The first of /dev/fuse, /dev/loop-control, /dev/kmsg and /dev/mem that is a character
/// device here, or "" (the caller then warns NOT TESTED).
inline std::string some_device() {
    for (const char* path : {"/dev/fuse", "/dev/loop-control", "/dev/kmsg", "/dev/mem"}) {
        struct stat status{};
        if (::stat(path, &status) == 0 && S_ISCHR(status.st_mode)) return path;
    }
    return "";
}

} // namespace airlock::test_support
