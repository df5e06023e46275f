// See child_steps.hpp. Without the sandbox library only no_new_privs and a plain execveat
// exist here; the spawner then never asks for Landlock or seccomp (they are "unavailable").
#include "child_steps.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#ifdef AIRLOCK_HAVE_SANDBOX
#include <airlock/host/child_confinement.hpp>
#endif

namespace airlock::host::detail {

#ifdef AIRLOCK_HAVE_SANDBOX

int child_join_cgroup(int procs_fd) noexcept { return join_cgroup_in_child(procs_fd); }
int child_set_no_new_privs() noexcept { return set_no_new_privs(); }
int child_apply_landlock(int ruleset_fd) noexcept { return apply_landlock_in_child(ruleset_fd); }
int child_apply_seccomp(const sock_fprog& program, int* listener_out) noexcept {
    return apply_seccomp_in_child(program, listener_out);
}
int child_send_listener(int socket_fd, int listener_fd, std::uint64_t exec_tag) noexcept {
    return send_seccomp_listener(socket_fd, listener_fd, exec_tag);
}
int child_exec(int exe_fd, char* const argv[], char* const envp[], std::uint64_t exec_tag) noexcept {
    return exec_tagged(exe_fd, argv, envp, exec_tag);
}

#else

int child_join_cgroup(int) noexcept { return ENOSYS; }
int child_set_no_new_privs() noexcept {
    return ::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : errno;
}
int child_apply_landlock(int) noexcept { return ENOSYS; }
int child_apply_seccomp(const sock_fprog&, int*) noexcept { return ENOSYS; }
int child_send_listener(int, int, std::uint64_t) noexcept { return ENOSYS; }
int child_exec(int exe_fd, char* const argv[], char* const envp[], std::uint64_t) noexcept {
    ::syscall(SYS_execveat, exe_fd, "", argv, envp, AT_EMPTY_PATH);
    return errno;
}

#endif

} // namespace airlock::host::detail
