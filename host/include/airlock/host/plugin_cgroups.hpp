#pragma once
/// @file plugin_cgroups.hpp
/// One set of cgroups per plugin process, one in each controller hierarchy that enforces
/// one of its limits (docs/sandbox.md, "Memory", "Tasks", "CPU"):
///
/// | controller | limit              | cgroup v1                              | cgroup v2          |
/// |------------|--------------------|----------------------------------------|--------------------|
/// | memory     | `limits.memory`    | memory.limit_in_bytes (+ memsw)        | memory.max, swap 0 |
/// | pids       | `limits.tasks`     | pids.max                               | pids.max           |
/// | cpu        | `limits.cpu_quota` | cpu.cfs_period_us + cpu.cfs_quota_us   | cpu.max            |
///
/// Each cgroup is made beneath the host's own cgroup of that controller (so whatever bounds
/// the host still bounds its plugins, and a delegated subtree is enough), named
/// `airlock-<plugin>-<host pid>-<n>`, with its limit set before any process is in it.
/// Controllers that share a hierarchy (co-mounted v1 controllers, or cgroup v2) share one
/// directory. The child joins every directory between clone and exec with
/// join_cgroup_in_child() (child_confinement.hpp) on the `cgroup.procs` descriptors the
/// parent opened; the host removes them once the process has been reaped.
///
/// Every path is opened relative to a descriptor of the controller's mount without
/// following symlinks (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
/// | RESOLVE_NO_XDEV) and checked to be a cgroup file system object of the expected type.

#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

enum class CgroupVersion { V1, V2 };
enum class CgroupController { Memory, Pids, Cpu };

/// "memory", "pids", "cpu": the kernel's name of the controller.
const char* controller_name(CgroupController controller) noexcept;

/// Where this host can make cgroups of one controller, or why it cannot.
struct CgroupSupport {
    CgroupController controller = CgroupController::Memory;
    bool available = false;
    CgroupVersion version = CgroupVersion::V1;
    std::string parent;  ///< the host's own cgroup directory; plugin cgroups go beneath
    /// Available: which controller and where, e.g. "cgroup v1 pids controller, beneath
    /// /sys/fs/cgroup/pids". Else why not, e.g. "cannot create a cgroup beneath ...:
    /// Permission denied (EACCES) (the host is not root: ...)".
    std::string detail;
    /// `parent`, opened O_RDONLY|O_DIRECTORY without following symlinks; set when available.
    std::shared_ptr<const UniqueFd> parent_fd;
};

/// One cgroup mount of /proc/self/mountinfo.
struct CgroupMount {
    std::string root;     ///< the part of the hierarchy mounted there ("/" unless namespaced)
    std::string point;    ///< where it is mounted
    std::string options;  ///< v1: the controllers, e.g. "rw,memory"
    bool v2 = false;
};

/// What the probes and the stale sweep read from /proc: the cgroup mounts (v1 hierarchies
/// first) and this process's /proc/self/cgroup. The kernel writes mountinfo out anew on every
/// read (about 60 us of CPU for twenty mounts), so one plan reads both once and hands them to
/// the sweep and to each controller's probe. Only where to look comes from here: every
/// directory is still opened from its mount point without following links and checked to be
/// a cgroup filesystem when it is used.
struct CgroupTables {
    std::vector<CgroupMount> mounts;
    std::string own_cgroups;  ///< /proc/self/cgroup as read
};
/// Reads both now.
CgroupTables read_cgroup_tables();

/// How probe_cgroup_controller() finds out whether this process may make cgroups.
enum class CgroupProbe {
    /// Creates, limits and removes one trial cgroup: only trying tells for sure (cgroup v1
    /// limits need root; v2 needs a delegated subtree).
    Trial,
    /// Finds and opens the host's cgroup (on v2 handing the controller to child cgroups)
    /// and creates nothing: for a caller whose first real cgroup set is the trial.
    Locate,
    /// Finds and opens the host's cgroup and changes nothing anywhere; whether the host may
    /// create cgroups beneath it (and, on v2, enable the controller) is asked with
    /// access(2). For reports (`airlock-host check`); a launch still fails closed.
    Look,
};

/// Finds the host's cgroup of `controller` and tells whether plugin cgroups can be made
/// beneath it, as `how` says. Never throws.
CgroupSupport probe_cgroup_controller(CgroupController controller, CgroupProbe how = CgroupProbe::Trial);
/// The same, looking where `tables` (read_cgroup_tables()) say.
CgroupSupport probe_cgroup_controller(CgroupController controller, CgroupProbe how, const CgroupTables& tables);

/// The limits to set; a controller whose limit is unset gets no cgroup.
struct CgroupLimits {
    std::optional<std::uint64_t> memory_bytes;
    std::optional<std::uint64_t> tasks;
    std::optional<std::uint32_t> cpu_quota_percent;
};

/// One plugin process's cgroups. Move-only; destroying it removes them.
class PluginCgroups {
public:
    /// Creates `airlock-<label>-<pid>-<n>` beneath each support's parent (one per
    /// hierarchy) with the limits of its controllers set, and opens each `cgroup.procs` for
    /// the child. Every support must be available and have its limit in `limits`. Nothing
    /// is left behind on failure.
    static Result<PluginCgroups> create(const std::vector<CgroupSupport>& supports, std::string_view label,
                                        const CgroupLimits& limits);

    PluginCgroups();
    PluginCgroups(PluginCgroups&& other) noexcept;
    PluginCgroups& operator=(PluginCgroups&& other) noexcept;
    PluginCgroups(const PluginCgroups&) = delete;
    PluginCgroups& operator=(const PluginCgroups&) = delete;
    ~PluginCgroups();

    /// The directory of the cgroup that holds `controller`; empty when none (or removed).
    [[nodiscard]] std::string path(CgroupController controller) const;
    /// The `cgroup.procs` descriptors (O_WRONLY|O_CLOEXEC) the child writes to, one per
    /// hierarchy; empty after close_join_fds(). Close them once the child has executed.
    [[nodiscard]] const std::vector<int>& join_fds() const noexcept { return join_fds_; }
    void close_join_fds() noexcept;

    /// How many processes the kernel's OOM killer ended in the memory cgroup (v1
    /// `memory.oom_control`, v2 `memory.events`); 0 when unknown. Read before remove().
    [[nodiscard]] std::uint64_t oom_kills() const;
    /// How many thread or process creations `pids.max` refused (`pids.events` "max").
    [[nodiscard]] std::uint64_t tasks_refused() const;

    /// Whether this process created them. A forked process's inherited copy is its parent's:
    /// destroying or overwriting it leaves the directories alone (remove() still removes).
    [[nodiscard]] bool made_by_this_process() const noexcept { return owner_ != 0 && owner_ == ::getpid(); }
    /// Removes the cgroups. Processes still in them (a plugin's own children) are killed
    /// first so they can go; retried for up to about half a second while they exit.
    /// Idempotent.
    Status remove();

private:
    struct Member;
    void remove_if_made_here() noexcept;
    friend CgroupSupport probe_cgroup_controller(CgroupController controller, CgroupProbe how,
                                                 const CgroupTables& tables);
    /// create(), also telling the errno of a failure (0 on success), for the probe's hints.
    static Result<PluginCgroups> create(const std::vector<CgroupSupport>& supports, std::string_view label,
                                        const CgroupLimits& limits, int& error_out);
    std::vector<Member> members_;
    std::vector<int> join_fds_;
    pid_t owner_ = 0;  ///< the process that created them
};

/// Removes the `airlock-*-<pid>-*` cgroups whose host pid is no longer a running process (a
/// host that crashed or was killed) beneath the host's own cgroup in every memory, pids
/// and cpu hierarchy and every cgroup2 mount. Processes still in them (a plugin's children
/// that outlived the host) are killed first: v2 `cgroup.kill`, else SIGKILL to every pid in
/// `cgroup.procs`, repeated until it is empty. Returns how many cgroups were removed. Call
/// it when a host starts, before it starts plugins. Never throws.
std::size_t remove_stale_cgroups();
/// The same, looking where `tables` (read_cgroup_tables()) say.
std::size_t remove_stale_cgroups(const CgroupTables& tables);

/// The same for the cgroups directly beneath `parent` only.
std::size_t remove_stale_cgroups_in(const std::string& parent);

} // namespace airlock::host
