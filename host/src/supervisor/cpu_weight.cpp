// Lowers a plugin's scheduler autogroup weight (see cpu_weight.hpp).
#include "cpu_weight.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace airlock::host::detail {

void lower_plugin_cpu_weight(pid_t pid) noexcept {
    const std::string path = "/proc/" + std::to_string(pid) + "/autogroup";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return;
    const std::string nice = std::to_string(kPluginAutogroupNice);
    [[maybe_unused]] const ssize_t written = ::write(fd, nice.data(), nice.size());
    ::close(fd);
}

} // namespace airlock::host::detail
