#pragma once
// The confinement steps the child runs last, forwarded to the sandbox library's
// async-signal-safe functions (child_confinement.hpp). Each returns 0 or
// a positive errno and never touches errno-dependent state the caller relies on.

#include <cstdint>

struct sock_fprog;

namespace airlock::host::detail {

/// Moves the calling process into the cgroup whose cgroup.procs is `procs_fd`.
int child_join_cgroup(int procs_fd) noexcept;
int child_set_no_new_privs() noexcept;
int child_apply_landlock(int ruleset_fd) noexcept;
/// `listener_out` non-null: load with a user-notification listener, stored there.
int child_apply_seccomp(const sock_fprog& program, int* listener_out) noexcept;
int child_send_listener(int socket_fd, int listener_fd, std::uint64_t exec_tag) noexcept;
/// A standby child's wait on `socket_fd` for `release` (a read tagged as the hand-off's, so
/// it passes the filter). ECONNABORTED for end of stream or another byte.
int child_wait_for_release(int socket_fd, std::uint64_t exec_tag, char release) noexcept;
/// execveat(exe_fd, "", argv, envp, AT_EMPTY_PATH), tagged for the seccomp filter.
/// Returns only on failure.
int child_exec(int exe_fd, char* const argv[], char* const envp[], std::uint64_t exec_tag) noexcept;

} // namespace airlock::host::detail
