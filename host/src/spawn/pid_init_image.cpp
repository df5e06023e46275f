// See pid_init_image.hpp.
#include "pid_init_image.hpp"

#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace airlock::host::detail {
namespace {

#ifndef MFD_EXEC
constexpr unsigned kMemfdExec = 0x10U;  // kernel 6.3; the headers here are older
#else
constexpr unsigned kMemfdExec = MFD_EXEC;
#endif

int make_image_fd() {
    int fd = ::memfd_create("airlock-pid-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | kMemfdExec);
    if (fd < 0 && errno == EINVAL) fd = ::memfd_create("airlock-pid-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw SpawnError(std::string("cannot create the memfd for the PID namespace's init: ") + std::strerror(errno));
    std::size_t written = 0;
    while (written < kPidInitImage_size) {
        ssize_t n = ::write(fd, kPidInitImage + written, kPidInitImage_size - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : EIO;
            ::close(fd);
            throw SpawnError(std::string("cannot write the PID namespace's init: ") + std::strerror(error));
        }
        written += static_cast<std::size_t>(n);
    }
    // Nobody, the host included, can change what every launch executes as pid 1.
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        const int error = errno;
        ::close(fd);
        throw SpawnError(std::string("cannot seal the PID namespace's init: ") + std::strerror(error));
    }
    return fd;
}

} // namespace

int pid_init_image_fd() {
    static std::mutex mutex;
    static int fd = -1;
    std::lock_guard lock(mutex);
    if (fd < 0) fd = make_image_fd();
    return fd;
}

} // namespace airlock::host::detail
