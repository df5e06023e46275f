#pragma once
// Reading what a plugin wrote: its output pipes (non-blocking) or a memfd it wrote into.

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <string>

namespace airlock::test_support {

/// Everything `fd` gives now: reads until end of file, until a non-blocking descriptor has
/// nothing more (EAGAIN), or until an error.
inline std::string read_available(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t size;
    while ((size = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(size));
    return text;
}

/// The whole content of a memfd (or regular file) descriptor, read from its start.
inline std::string read_memfd(int fd) {
    ::lseek(fd, 0, SEEK_SET);
    return read_available(fd);
}

} // namespace airlock::test_support
