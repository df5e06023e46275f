#pragma once
/// @file child_confinement.hpp
/// Child-side confinement steps, called by the spawner between fork and exec.
///
/// Every function here is async-signal-safe: raw syscalls only, no allocation, no locks,
/// no logging. Each returns 0 on success or a positive errno value on failure (errno itself
/// is left alone), so the spawner can report the failure through its own pipe and `_exit`.
///
/// Order (after rlimits, uid drop, environment and descriptor cleanup, which are the
/// spawner's; join_cgroup_in_child() comes before all of them):
///
///     set_no_new_privs();                                  // required by Landlock and seccomp
///     apply_landlock_in_child(ruleset_fd);                 // LandlockRuleset::fd()
///     int listener = -1;
///     apply_seccomp_in_child(program, filter.uses_notification() ? &listener : nullptr);
///     if (listener >= 0) send_seccomp_listener(handoff_socket, listener, tag);
///     exec_tagged(exe_fd, argv, envp, tag);                // only returns on failure
///     _exit(...);
///
/// After apply_seccomp_in_child() only four syscalls are guaranteed to pass the filter:
/// the tagged `sendmsg` and `read` of send_seccomp_listener(), the tagged `execveat` of
/// exec_tagged() and `exit_group`. Anything else (even `write` to an error pipe) is subject to the policy.

#include "airlock/host/seccomp_filter.hpp"

#include <linux/filter.h>

namespace airlock::host {

/// Moves the calling process into a cgroup by writing "0" to its v1 `tasks` file (the
/// calling thread: the whole process while it is single-threaded, as the child is) or v2
/// `cgroup.procs`, opened beforehand by the parent (PluginCgroups::join_fds(),
/// plugin_cgroups.hpp). Done first, so everything the process allocates from then on is
/// charged to that cgroup.
int join_cgroup_in_child(int procs_fd) noexcept;

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: exec can never grant privileges (setuid bits, file
/// capabilities), and it lets an unprivileged process load seccomp and Landlock.
int set_no_new_privs() noexcept;

/// `landlock_restrict_self(ruleset_fd, 0)`: confines this process and its future children.
/// Needs no_new_privs (or CAP_SYS_ADMIN). The ruleset fd is close-on-exec already.
int apply_landlock_in_child(int ruleset_fd) noexcept;

/// Loads a seccomp filter with `seccomp(SECCOMP_SET_MODE_FILTER)`.
/// @param program      from CompiledSeccompFilter::program(), taken before fork.
/// @param listener_out when non-null, the filter is loaded with
///        SECCOMP_FILTER_FLAG_NEW_LISTENER and the listener descriptor (close-on-exec) is
///        stored here; it must be handed to the host with send_seccomp_listener() before exec.
/// Needs no_new_privs (or CAP_SYS_ADMIN).
int apply_seccomp_in_child(const sock_fprog& program, int* listener_out) noexcept;

/// Names the listener descriptor to the host over `socket_fd` (one end of a dedicated
/// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`, prepare_listener_handoff() called on
/// the host's end) and waits until the host has taken it with `pidfd_getfd`: no descriptor is
/// in flight (SCM_RIGHTS would count against the uid all plugins share). Uses a tagged
/// `sendmsg` and a tagged `read`, which the filter lets through even when the policy denies
/// them. The host side is receive_seccomp_listener() (violation_monitor.hpp), which must run
/// concurrently (another thread or process). Returns 0 or an errno value.
int send_seccomp_listener(int socket_fd, int listener_fd, ExecTag tag) noexcept;

/// `execveat(exe_fd, "", argv, envp, AT_EMPTY_PATH)` with `tag` in the unused 6th argument:
/// the one exec the filter allows. `exe_fd` should be an O_PATH descriptor of the plugin's
/// executable (it may be close-on-exec for ELF binaries). Returns only on failure.
int exec_tagged(int exe_fd, char* const argv[], char* const envp[], ExecTag tag) noexcept;

} // namespace airlock::host
