#pragma once
// The spawner's use of per-process cgroups (the sandbox library's PluginCgroups): decided
// once per plugin config from `limits.memory` / `limits.tasks` / `limits.cpu_quota` and
// `memory_cgroup` / `pids_cgroup` / `cpu_cgroup`, then one fresh set of cgroups per
// launch, owned by the PluginProcess and removed once it has been reaped. Each set is made
// ahead of its launch (when the plan is prepared, and, for SpawnerUse::Launches and LaunchesWithoutStandby, when a
// process of it is reaped), so a start or restart does not wait for the mkdir and the
// limits (docs/spawning.md). The first set is also the probe: no trial cgroup is made
// unless it fails. SpawnerUse::Describe creates nothing.

#include <airlock/host/plugin_config.hpp>
#include <airlock/host/spawner.hpp>

#include <memory>
#include <string>
#include <vector>

namespace airlock::host::detail {

/// One launch's cgroups, limits already set. The child joins them through join_fds();
/// afterwards they belong to the PluginProcess, which releases them once reaped.
class LaunchCgroup : public ProcessResources {
public:
    /// One `cgroup.procs` descriptor per hierarchy.
    [[nodiscard]] virtual const std::vector<int>& join_fds() const noexcept = 0;
    /// The directory of the cgroup of "memory", "pids" or "cpu"; empty when none.
    [[nodiscard]] virtual std::string path(const char* controller) const = 0;
    /// Once the child has executed (or failed): the host needs the descriptors no more.
    virtual void close_join_fds() noexcept = 0;
};

class CgroupPlan {
public:
    CgroupPlan();
    CgroupPlan(CgroupPlan&&) noexcept;
    CgroupPlan& operator=(CgroupPlan&&) noexcept;
    ~CgroupPlan();

    /// Probes each controller whose limit is set and whose mode is not "off" (for Launches
    /// and OneLaunch by making the first launch's set; for Describe without making any).
    /// @throws SpawnError when a mode is "require" and that cgroup cannot be made, saying why.
    static CgroupPlan prepare(const PluginConfig& plugin, SpawnerUse use);

    [[nodiscard]] const MemoryEnforcement& memory() const noexcept { return memory_; }
    [[nodiscard]] const CgroupEnforcement& tasks() const noexcept { return tasks_; }
    [[nodiscard]] const CgroupEnforcement& cpu() const noexcept { return cpu_; }

    /// Fresh cgroups for one launch (the spare set made ahead, else new ones); null when this
    /// plugin gets none. No process has ever been in them.
    /// @throws SpawnError when they cannot be created (the plan promised them: fail closed),
    ///         or when the plan was prepared for SpawnerUse::Describe.
    [[nodiscard]] std::unique_ptr<LaunchCgroup> create_for_launch(const PluginConfig& plugin) const;

    /// The sandbox library's CgroupSupport of each used controller and the spare set.
    struct Support;

private:
    MemoryEnforcement memory_;
    CgroupEnforcement tasks_;
    CgroupEnforcement cpu_;
    std::shared_ptr<Support> support_;  ///< set when any cgroup is used
    bool describe_only_ = false;        ///< SpawnerUse::Describe: cgroups planned, never made
};

} // namespace airlock::host::detail
