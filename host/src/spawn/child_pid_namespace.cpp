// The child side of the PID namespace: raw system calls only (see child_launch.hpp).
#include "child_pid_namespace.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {
namespace {

constexpr int kInitStatusFd = 3;  // what pid_init.cpp reads its status pipe from
constexpr int kFirstSpare = 5;

} // namespace

bool child_host_alive(int host_pidfd) noexcept {
    pollfd entry{host_pidfd, POLLIN, 0};
    const struct timespec now = {0, 0};
    // A pidfd is readable once its process has exited.
    long ready = ::syscall(SYS_ppoll, &entry, 1, &now, nullptr, 0);
    return ready == 0;
}

pid_t child_pid_in_host(int proc_fd) noexcept {
    char digits[24];
    long size = ::syscall(SYS_readlinkat, proc_fd, "self", digits, sizeof digits);
    if (size <= 0) return size < 0 ? -errno : -EINVAL;
    long pid = 0;
    for (long i = 0; i < size; ++i) {
        if (digits[i] < '0' || digits[i] > '9') return -EINVAL;
        pid = pid * 10 + (digits[i] - '0');
    }
    return static_cast<pid_t>(pid);
}

int child_exec_pid_init(int image_fd, int status_fd, pid_t plugin) noexcept {
    // Copies above the final numbers first, so placing one cannot overwrite the other.
    long status_copy = ::syscall(SYS_fcntl, status_fd, F_DUPFD_CLOEXEC, kFirstSpare);
    long image_copy = ::syscall(SYS_fcntl, image_fd, F_DUPFD_CLOEXEC, kFirstSpare);
    if (status_copy < 0 || image_copy < 0) return errno;
    if (::syscall(SYS_dup3, status_copy, kInitStatusFd, 0) < 0) return errno;
    if (::syscall(SYS_dup3, image_copy, kInitStatusFd + 1, O_CLOEXEC) < 0) return errno;
    if (::syscall(SYS_close_range, kFirstSpare, ~0U, 0) != 0) return errno;
    if (::syscall(SYS_close_range, 0, kInitStatusFd - 1, 0) != 0) return errno;

    char pid_text[16];
    char reversed[16];
    int count = 0;
    long value = plugin;
    do {
        reversed[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0 && count < 15);
    for (int i = 0; i < count; ++i) pid_text[i] = reversed[count - 1 - i];
    pid_text[count] = '\0';
    char name[] = "airlock-pid-init";
    char* const argv[] = {name, pid_text, nullptr};
    char* const envp[] = {nullptr};
    ::syscall(SYS_execveat, kInitStatusFd + 1, "", argv, envp, AT_EMPTY_PATH);
    return errno;
}

} // namespace airlock::host::detail
