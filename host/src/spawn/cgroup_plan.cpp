// See cgroup_plan.hpp.
#include "cgroup_plan.hpp"

#include <airlock/host/plugin_cgroups.hpp>

#include <signal.h>

#include <cstring>
#include <mutex>
#include <optional>

namespace airlock::host::detail {

// What every launch of one plugin config gets, and the spare set made ahead for the next
// launch: shared by the plan and its launches, so that a reap can make the next spare.
struct CgroupPlan::Support {
    std::vector<CgroupSupport> controllers;
    std::string label;
    CgroupLimits limits;
    bool refill_after_reap = true;  ///< SpawnerUse::Launches: a restart finds its set made

    std::mutex mutex;
    std::optional<PluginCgroups> spare;  ///< never joined by any process

    /// The spare set if there is one, else a fresh one (Status: why none can be made).
    Result<PluginCgroups> take() {
        {
            std::lock_guard lock(mutex);
            if (spare && !spare->made_by_this_process()) spare.reset();  // a forked copy: the parent's
            if (spare) {
                Result<PluginCgroups> taken(std::move(*spare));
                spare.reset();
                return taken;
            }
        }
        return PluginCgroups::create(controllers, label, limits);
    }

    /// Makes a spare set when there is none. A failure is not reported here: the next launch
    /// then creates its own and refuses to start if it cannot (fail closed).
    void refill() noexcept {
        try {
            {
                std::lock_guard lock(mutex);
                if (spare && !spare->made_by_this_process()) spare.reset();
                if (spare) return;
            }
            auto made = PluginCgroups::create(controllers, label, limits);
            if (!made) return;
            std::lock_guard lock(mutex);
            if (!spare) spare.emplace(std::move(*made));  // else `made` is removed again
        } catch (...) {
        }
    }
};

namespace {

class SandboxLaunchCgroup final : public LaunchCgroup {
public:
    SandboxLaunchCgroup(PluginCgroups cgroups, std::weak_ptr<CgroupPlan::Support> plan)
        : cgroups_(std::move(cgroups)), plan_(std::move(plan)) {}

    const std::vector<int>& join_fds() const noexcept override { return cgroups_.join_fds(); }
    std::string path(const char* controller) const override {
        for (CgroupController c : {CgroupController::Memory, CgroupController::Pids, CgroupController::Cpu}) {
            if (std::strcmp(controller_name(c), controller) == 0) return cgroups_.path(c);
        }
        return {};
    }
    void close_join_fds() noexcept override { cgroups_.close_join_fds(); }

    void on_reaped(PluginExit& exit) noexcept override {
        try {
            // SIGKILL alone could be anyone's; the cgroup's OOM counter says it was the limit.
            if (exit.signaled && exit.signal == SIGKILL && cgroups_.oom_kills() > 0) exit.out_of_memory = true;
            exit.tasks_refused = cgroups_.tasks_refused();
        } catch (...) {
        }
        (void)cgroups_.remove();  // not fatal: what stays is removed as stale by a later host
        // The next launch (a restart, typically) takes a set made now instead of making its
        // own before its child can start.
        if (auto plan = plan_.lock(); plan && plan->refill_after_reap) plan->refill();
    }

private:
    PluginCgroups cgroups_;
    std::weak_ptr<CgroupPlan::Support> plan_;
};

// What each controller enforces, as data: the mode key, the limit, what is lost without it.
struct ControllerUse {
    CgroupController controller;
    const char* mode_key;
    CgroupMode mode;
    bool limited;
    const char* without;  // what "require" protects, for the refusal
};

// Decides each controller's enforcement from `how`'s probe: fills the plan's memory, tasks
// and cpu, and returns the supports of the controllers to use.
// @throws SpawnError when a mode is "require" and that cgroup cannot be made.
std::vector<CgroupSupport> decide_controllers(const PluginConfig& plugin, CgroupProbe how, const CgroupTables& tables,
                                              MemoryEnforcement& memory, CgroupEnforcement& tasks,
                                              CgroupEnforcement& cpu) {
    const Limits& limits = plugin.limits;
    const ControllerUse uses[] = {
        {CgroupController::Memory, "memory_cgroup", plugin.memory_cgroup, limits.memory_bytes.has_value(),
         "memfd/tmpfs pages would escape the memory limit"},
        {CgroupController::Pids, "pids_cgroup", plugin.pids_cgroup, limits.tasks.has_value(),
         "limits.tasks would not be enforced"},
        {CgroupController::Cpu, "cpu_cgroup", plugin.cpu_cgroup, limits.cpu_quota_percent.has_value(),
         "limits.cpu_quota would not be enforced"},
    };
    std::vector<CgroupSupport> used;
    for (const ControllerUse& use : uses) {
        bool cgroup = false;
        std::string detail;
        if (use.limited && use.mode == CgroupMode::Off) {
            detail = std::string(use.mode_key) + " = \"off\"";
        } else if (use.limited) {
            auto support = probe_cgroup_controller(use.controller, how, tables);
            detail = support.detail;
            if (!support.available && use.mode == CgroupMode::Require) {
                throw SpawnError("plugin '" + plugin.name + "': " + use.mode_key + " = \"require\" but no " +
                                 controller_name(use.controller) + " cgroup can be made, so " + use.without + ": " + support.detail);
            }
            cgroup = support.available;
            if (cgroup) used.push_back(std::move(support));
        }
        if (use.controller == CgroupController::Memory) {
            memory = MemoryEnforcement{use.limited, cgroup, detail};
        } else {
            CgroupEnforcement& enforcement = use.controller == CgroupController::Pids ? tasks : cpu;
            enforcement = CgroupEnforcement{use.limited, cgroup, controller_name(use.controller), detail};
        }
    }
    return used;
}

} // namespace

CgroupPlan::CgroupPlan() = default;
CgroupPlan::CgroupPlan(CgroupPlan&&) noexcept = default;
CgroupPlan& CgroupPlan::operator=(CgroupPlan&&) noexcept = default;
CgroupPlan::~CgroupPlan() = default;

CgroupPlan CgroupPlan::prepare(const PluginConfig& plugin, SpawnerUse use) {
    CgroupPlan plan;
    const bool describe = use == SpawnerUse::Describe;
    // Before any plugin of this host starts: what hosts that died left behind (processes
    // included) goes, whatever this plugin's own settings. A description changes nothing.
    // Where the cgroups are, read once for the sweep and every controller's probe.
    const CgroupTables tables = read_cgroup_tables();
    if (!describe) remove_stale_cgroups(tables);
    std::vector<CgroupSupport> used = decide_controllers(plugin, describe ? CgroupProbe::Look : CgroupProbe::Locate,
                                                         tables, plan.memory_, plan.tasks_, plan.cpu_);
    if (used.empty()) return plan;
    plan.support_ = std::make_shared<Support>();
    Support& support = *plan.support_;
    support.label = plugin.name;
    support.limits.memory_bytes = plugin.limits.memory_bytes;
    support.limits.tasks = plugin.limits.tasks;
    support.limits.cpu_quota_percent = plugin.limits.cpu_quota_percent;
    support.refill_after_reap = use == SpawnerUse::Launches || use == SpawnerUse::LaunchesWithoutStandby;
    support.controllers = std::move(used);
    if (describe) {
        plan.describe_only_ = true;
        return plan;
    }
    // The first launch's set, made now rather than on its path; making it is the probe.
    auto first = PluginCgroups::create(support.controllers, support.label, support.limits);
    if (first) {
        support.spare.emplace(std::move(*first));
        return plan;
    }
    // Which controller cannot be had, and why: a trial cgroup of each, as the probe makes.
    support.controllers = decide_controllers(plugin, CgroupProbe::Trial, tables, plan.memory_, plan.tasks_, plan.cpu_);
    if (support.controllers.empty()) {
        plan.support_.reset();
        return plan;
    }
    support.refill();  // a failure here leaves the launch to make its own, or refuse to start
    return plan;
}

std::unique_ptr<LaunchCgroup> CgroupPlan::create_for_launch(const PluginConfig& plugin) const {
    if (!support_) return nullptr;
    if (describe_only_) {
        throw SpawnError("plugin '" + plugin.name + "': cannot start: its Spawner was prepared to describe it only");
    }
    auto cgroups = support_->take();
    if (!cgroups) {
        throw SpawnError("plugin '" + plugin.name + "': cannot start: cgroup: " + cgroups.status().message());
    }
    return std::make_unique<SandboxLaunchCgroup>(std::move(*cgroups), support_);
}

} // namespace airlock::host::detail

namespace airlock::host {

std::string CgroupEnforcement::describe() const {
    if (!limited) return "none set, so no " + controller + " cgroup either";
    if (cgroup) return "enforced by the " + controller + " cgroup (" + detail + ")";
    return "NOT enforced (" + detail + ")";
}

} // namespace airlock::host
