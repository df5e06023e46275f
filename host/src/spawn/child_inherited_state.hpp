#pragma once
// Process state a plugin would otherwise inherit from the host that no config asked for:
// capabilities, scheduling priority and the OOM killer's adjustment. Raw system calls only (called between clone and exec).

namespace airlock::host::detail {

/// Clears the permitted, effective and inheritable capabilities, and with them the ambient
/// set (which must stay within both). A host that is not root keeps its ambient set across
/// exec otherwise (e.g. a unit's AmbientCapabilities=), a root host running with
/// SECBIT_NO_SETUID_FIXUP keeps its capabilities across the uid change, and in a user
/// namespace the plugin held all of that namespace's. Only lowers: neither the parent-death
/// signal nor the dumpable flag changes. Returns an errno, 0 on success.
int child_drop_capabilities() noexcept;

/// Gives up a real-time or deadline scheduling policy, a negative nice value and the
/// real-time I/O class, as SCHED_RESET_ON_FORK would: a host run under `chrt -f`, `nice -n -5`
/// or `ionice -c1` must not hand its priority to a plugin, whose busy loop would then starve
/// the machine. A lower priority (SCHED_BATCH/IDLE, a positive nice, the idle I/O class) is
/// kept. Returns an errno, 0 on success.
int child_reset_scheduling() noexcept;

/// Raises a negative oom_score_adj to 0 (a host run with OOMScoreAdjust=-1000 made its
/// plugins unkillable by the OOM killer, the memory cgroup's included, which then ends
/// others instead); a positive one is kept. Needs the host's /proc: called first in the
/// child, before any namespace is entered (pid 1 of a PID namespace passes it on).
/// Returns an errno, 0 on success.
int child_reset_oom_score() noexcept;

} // namespace airlock::host::detail
