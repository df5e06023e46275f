// Child-side steps between fork and exec: raw syscalls only (async-signal-safe).
#include "airlock/host/child_confinement.hpp"
#include "airlock/host/violation_monitor.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::host {

namespace {

// Returns 0 or the errno of a failed call, restoring errno so callers' state is untouched.
int result_of(long rc) noexcept {
    if (rc >= 0) return 0;
    return errno;
}

} // namespace

int join_cgroup_in_child(int procs_fd) noexcept {
    int saved = errno;
    // "0" names the writer: through cgroup.procs its process (all threads), through a v1
    // `tasks` file the writing thread, which in the single-threaded child is the process.
    static const char self[] = "0";
    long rc;
    do {
        rc = syscall(SYS_write, procs_fd, self, 1);
    } while (rc < 0 && errno == EINTR);
    int error = rc == 1 ? 0 : rc < 0 ? errno : EIO;
    errno = saved;
    return error;
}

int set_no_new_privs() noexcept {
    int saved = errno;
    int error = result_of(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    errno = saved;
    return error;
}

int apply_landlock_in_child(int ruleset_fd) noexcept {
    int saved = errno;
    int error = result_of(syscall(SYS_landlock_restrict_self, ruleset_fd, 0U));
    errno = saved;
    return error;
}

int apply_seccomp_in_child(const sock_fprog& program, int* listener_out) noexcept {
    int saved = errno;
    const unsigned long flags = listener_out ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    int error = result_of(rc);
    // With NEW_LISTENER the kernel returns the listener fd, already close-on-exec.
    if (!error && listener_out) *listener_out = static_cast<int>(rc);
    errno = saved;
    return error;
}

int send_seccomp_listener(int socket_fd, int listener_fd, ExecTag tag) noexcept {
    int saved = errno;
    // The number only: the host takes the descriptor itself (pidfd_getfd), so nothing is in
    // flight against the uid every plugin shares.
    ListenerHandoffMessage message;
    message.listener_fd = listener_fd;
    iovec iov{&message, sizeof message};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    long rc;
    do {
        // Raw syscall so the tag lands in the 6th argument register, which sendmsg ignores.
        rc = syscall(SYS_sendmsg, socket_fd, &msg, MSG_NOSIGNAL, 0, 0, tag);
    } while (rc < 0 && errno == EINTR);
    int error = result_of(rc);
    if (!error) {
        // Wait until the host has it: the listener closes at exec. The tagged read passes the
        // filter like the sendmsg; end of stream (the host refused or went away) is a failure.
        char answer = 0;
        do {
            rc = syscall(SYS_read, socket_fd, &answer, 1, 0, 0, tag);
        } while (rc < 0 && errno == EINTR);
        error = result_of(rc);
        if (!error && (rc != 1 || answer != ListenerHandoffMessage::kTaken)) error = ECONNABORTED;
    }
    errno = saved;
    return error;
}

int exec_tagged(int exe_fd, char* const argv[], char* const envp[], ExecTag tag) noexcept {
    static const char empty_path[] = "";
    syscall(SYS_execveat, exe_fd, empty_path, argv, envp, AT_EMPTY_PATH, tag);
    return errno;  // execveat only returns on failure
}

} // namespace airlock::host
