#pragma once
// The spawner's use of per-process memory cgroups (the sandbox library's MemoryCgroup):
// decided once per plugin config from `limits.memory` and `memory_cgroup`, then one fresh
// cgroup per launch, owned by the PluginProcess and removed once it has been reaped.
//
// Built without the sandbox library there is no memory cgroup: "auto" falls back to
// RLIMIT_AS only and "require" refuses the plugin.

#include <airlock/host/plugin_config.hpp>
#include <airlock/host/spawner.hpp>

#include <memory>
#include <string>

namespace airlock::host::detail {

/// One launch's memory cgroup, limit already set. The child joins it through join_fd();
/// afterwards it belongs to the PluginProcess, which releases it once reaped.
class LaunchCgroup : public ProcessResources {
public:
    [[nodiscard]] virtual int join_fd() const noexcept = 0;
    [[nodiscard]] virtual const std::string& path() const noexcept = 0;
    /// Once the child has executed (or failed): the host needs the descriptor no more.
    virtual void close_join_fd() noexcept = 0;
};

class MemoryCgroupPlan {
public:
    MemoryCgroupPlan();
    MemoryCgroupPlan(MemoryCgroupPlan&&) noexcept;
    MemoryCgroupPlan& operator=(MemoryCgroupPlan&&) noexcept;
    ~MemoryCgroupPlan();

    /// Probes for a memory cgroup when the plugin has a memory limit and `memory_cgroup`
    /// is not "off".
    /// @throws SpawnError when `memory_cgroup = "require"` and none can be made, saying why.
    static MemoryCgroupPlan prepare(const PluginConfig& plugin);

    [[nodiscard]] const MemoryEnforcement& enforcement() const noexcept { return enforcement_; }

    /// A fresh cgroup for one launch; null when this plugin gets none.
    /// @throws SpawnError when it cannot be created (the plan promised one: fail closed).
    [[nodiscard]] std::unique_ptr<LaunchCgroup> create_for_launch(const PluginConfig& plugin) const;

private:
    struct Support;  // the sandbox library's MemoryCgroupSupport, when it is linked
    MemoryEnforcement enforcement_;
    std::unique_ptr<Support> support_;  ///< set when enforcement_.cgroup
};

} // namespace airlock::host::detail
