#pragma once
/// @file memory_cgroup.hpp
/// A memory cgroup per plugin process, so that `limits.memory` also bounds what RLIMIT_AS
/// does not count: pages written into a memfd or a tmpfs file, pipe buffers and other
/// kernel memory charged to the plugin (docs/sandbox.md, "Memory").
///
/// Each cgroup is made beneath the host's own memory cgroup (so whatever bounds the host
/// still bounds its plugins, and a delegated subtree is enough), named
/// `airlock-<plugin>-<host pid>-<n>`, with its limit set before any process is in it. The
/// child joins it between clone and exec with join_cgroup_in_child() (child_confinement.hpp)
/// on the `cgroup.procs` descriptor the parent opened; the host removes it once the process
/// has been reaped. Pages are charged to the cgroup of the process that first touches them,
/// so a memfd the plugin fills counts against the plugin, one the host filled against the host.
///
/// cgroup v1 (a `memory` hierarchy): `memory.limit_in_bytes`, and
/// `memory.memsw.limit_in_bytes` when swap accounting exists (swap is no way around the
/// limit). cgroup v2 (memory in `cgroup.controllers`): `memory.max`, `memory.swap.max` = 0,
/// `memory.oom.group` = 1. At the limit the kernel reclaims what it can, then its OOM
/// killer ends the plugin (SIGKILL; counted in oom_kills()).

#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::host {

enum class CgroupVersion { V1, V2 };

/// Where this host can make memory cgroups, or why it cannot.
struct MemoryCgroupSupport {
    bool available = false;
    CgroupVersion version = CgroupVersion::V1;
    std::string parent;  ///< the host's own memory cgroup directory; plugin cgroups go beneath
    /// Available: which controller and where, e.g. "cgroup v1 memory controller, beneath
    /// /sys/fs/cgroup/memory/system.slice/airlock.service". Else why not, e.g. "cannot create
    /// a cgroup beneath ...: Permission denied (EACCES) (the host is not root: ...)".
    std::string detail;
};

/// Finds the host's memory cgroup, removes what hosts that no longer run left beneath it
/// (remove_stale_memory_cgroups), then creates, limits and removes one trial cgroup: only
/// trying tells whether this process may (cgroup v1 limits need root; v2 needs a delegated
/// subtree). Never throws.
MemoryCgroupSupport probe_memory_cgroup();

/// One plugin process's memory cgroup. Move-only; destroying it removes the cgroup.
class MemoryCgroup {
public:
    /// Creates `airlock-<label>-<pid>-<n>` beneath `support.parent` with the limit set and
    /// opens its `cgroup.procs` for the child. Nothing is left behind on failure.
    static Result<MemoryCgroup> create(const MemoryCgroupSupport& support, std::string_view label,
                                       std::uint64_t limit_bytes);

    MemoryCgroup() = default;
    MemoryCgroup(MemoryCgroup&& other) noexcept;
    MemoryCgroup& operator=(MemoryCgroup&& other) noexcept;
    MemoryCgroup(const MemoryCgroup&) = delete;
    MemoryCgroup& operator=(const MemoryCgroup&) = delete;
    ~MemoryCgroup();

    /// The cgroup's directory; empty once removed.
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// `cgroup.procs`, O_WRONLY|O_CLOEXEC: what join_cgroup_in_child() writes to. -1 after
    /// close_join_fd(); close it once the child has executed.
    [[nodiscard]] int join_fd() const noexcept { return join_fd_.get(); }
    void close_join_fd() noexcept { join_fd_.reset(); }

    /// How many processes the kernel's OOM killer ended in this cgroup (v1
    /// `memory.oom_control`, v2 `memory.events`); 0 when unknown. Read it before remove().
    [[nodiscard]] std::uint64_t oom_kills() const;

    /// Removes the cgroup. Processes still in it (a plugin's own children) are killed first
    /// so it can go; retried for up to about half a second while they exit. Idempotent.
    Status remove();

private:
    friend MemoryCgroupSupport probe_memory_cgroup();
    /// create(), also telling the errno of a failure (0 on success), for the probe's hints.
    static Result<MemoryCgroup> create(const MemoryCgroupSupport& support, std::string_view label,
                                       std::uint64_t limit_bytes, int& error_out);

    std::string path_;
    CgroupVersion version_ = CgroupVersion::V1;
    UniqueFd join_fd_;
};

/// Removes the `airlock-*-<pid>-*` cgroups beneath `parent` whose host pid is no longer a
/// running process (a host that crashed or was killed), killing what is left in them.
/// Returns how many were removed. Never throws; what cannot be removed is left alone.
std::size_t remove_stale_memory_cgroups(const std::string& parent);

} // namespace airlock::host
