#pragma once
// The child side of the PID namespace (internal to the spawner; raw system calls only, see
// child_launch.hpp). The launch child is pid 1 of the new namespace: it starts the plugin as
// its own child, then executes airlock-pid-init (pid_init.cpp) in its place.

#include <sys/types.h>

namespace airlock::host::detail {

/// Whether the host (pidfd `host_pidfd`) is still alive. Inside a new PID namespace
/// getppid() is 0 whether or not it is, so its pidfd answers instead.
bool child_host_alive(int host_pidfd) noexcept;

/// The calling process's pid as the host sees it, read from the host's /proc (`proc_fd`,
/// O_PATH): there "self" names it in the host's namespace. -errno on failure.
pid_t child_pid_in_host(int proc_fd) noexcept;

/// Puts `status_fd` at 3 (inherited), closes every other descriptor, and executes the init
/// from `image_fd` with the plugin's pid (in the namespace) as its argument. Signals stay
/// blocked across the exec, so the init misses none. Returns an errno only on failure.
int child_exec_pid_init(int image_fd, int status_fd, pid_t plugin) noexcept;

} // namespace airlock::host::detail
