// See child_steps.hpp.
#include "child_steps.hpp"

#include <airlock/host/child_confinement.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {

int child_join_cgroup(int procs_fd) noexcept { return join_cgroup_in_child(procs_fd); }
int child_set_no_new_privs() noexcept { return set_no_new_privs(); }
int child_apply_landlock(int ruleset_fd) noexcept { return apply_landlock_in_child(ruleset_fd); }
int child_apply_seccomp(const sock_fprog& program, int* listener_out) noexcept {
    return apply_seccomp_in_child(program, listener_out);
}
int child_send_listener(int socket_fd, int listener_fd, std::uint64_t exec_tag) noexcept {
    return send_seccomp_listener(socket_fd, listener_fd, exec_tag);
}
int child_wait_for_release(int socket_fd, std::uint64_t exec_tag, char release) noexcept {
    char got = 0;
    long rc;
    do {
        rc = ::syscall(SYS_read, socket_fd, &got, 1, 0, 0, exec_tag);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return errno;
    return rc == 1 && got == release ? 0 : ECONNABORTED;
}

int child_exec(int exe_fd, char* const argv[], char* const envp[], std::uint64_t exec_tag) noexcept {
    return exec_tagged(exe_fd, argv, envp, exec_tag);
}

} // namespace airlock::host::detail
