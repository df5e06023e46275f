// What a plugin does to the caller's shared descriptions (see inherited_stdio.hpp).
#include <airlock/host/inherited_stdio.hpp>

#include <poll.h>
#include <sys/stat.h>

#include <cerrno>

namespace airlock::host {

SharedDescriptionState::SharedDescriptionState(std::span<const int> fds) {
    for (int fd : fds) {
        if (fd < 0) continue;
        Saved saved{fd, ::fcntl(fd, F_GETFL), {}};
        if (saved.status_flags < 0 || ::fcntl(fd, F_GETOWN_EX, &saved.owner) != 0) continue;
        saved_.push_back(saved);
    }
}

void SharedDescriptionState::restore() noexcept {
    for (Saved& saved : saved_) {
        // F_SETFL changes only the status flags (O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME,
        // O_NONBLOCK); the access mode and creation flags in the saved value are ignored.
        if (::fcntl(saved.fd, F_GETFL) != saved.status_flags) (void)::fcntl(saved.fd, F_SETFL, saved.status_flags);
        f_owner_ex owner{};
        if (::fcntl(saved.fd, F_GETOWN_EX, &owner) == 0 && (owner.type != saved.owner.type || owner.pid != saved.owner.pid))
            (void)::fcntl(saved.fd, F_SETOWN_EX, &saved.owner);
    }
}

bool shares_append_only_output(std::span<const int> output_fds) {
    for (int fd : output_fds) {
        struct stat status {};
        if (fd < 0 || ::isatty(fd) != 0 || ::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) continue;
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags >= 0 && (flags & O_APPEND) != 0) return true;
    }
    return false;
}

std::string stdio_refusal(std::span<const int> stdio_fds) {
    static constexpr const char* names[] = {"stdin", "stdout", "stderr"};
    for (std::size_t i = 0; i < stdio_fds.size() && i < 3; ++i) {
        struct stat status {};
        if (stdio_fds[i] < 0 || ::fstat(stdio_fds[i], &status) != 0 || !S_ISDIR(status.st_mode)) continue;
        return std::string("its ") + names[i] + " is a directory: a plugin never gets a directory as stdin, stdout "
               "or stderr (it could list it, and reach every path above it through \"..\"); pass a file or a pipe, "
               "or grant the directory";
    }
    return {};
}

void write_waiting(int fd, std::string_view text) noexcept {
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        const ssize_t written = ::write(fd, data, left);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd room{fd, POLLOUT, 0};
            if (::poll(&room, 1, -1) < 0 && errno != EINTR) return;
            continue;
        }
        if (written <= 0) return;  // the reader went away: nothing sensible to do
        data += written;
        left -= static_cast<std::size_t>(written);
    }
}

} // namespace airlock::host
