// Lowers a plugin's scheduler autogroup weight (see cpu_weight.hpp).
#include "cpu_weight.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace airlock::host::detail {

void lower_plugin_cpu_weight(pid_t pid, int pidfd) noexcept {
    if (pidfd < 0) return;
    // Pin /proc/PID first, then check the plugin still lives: if it does, that directory is
    // its own, and stays so (once it dies, lookups in it fail even if the pid is reused).
    const std::string path = "/proc/" + std::to_string(pid);
    const int dir = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dir < 0) return;
    if (::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0) {
        const int fd = ::openat(dir, "autogroup", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            const std::string nice = std::to_string(kPluginAutogroupNice);
            [[maybe_unused]] const ssize_t written = ::write(fd, nice.data(), nice.size());
            ::close(fd);
        }
    }
    ::close(dir);
}

} // namespace airlock::host::detail
