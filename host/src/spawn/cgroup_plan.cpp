// See cgroup_plan.hpp.
#include "cgroup_plan.hpp"

#include <airlock/host/plugin_cgroups.hpp>

#include <signal.h>

#include <cstring>

namespace airlock::host::detail {
namespace {

class SandboxLaunchCgroup final : public LaunchCgroup {
public:
    explicit SandboxLaunchCgroup(PluginCgroups cgroups) : cgroups_(std::move(cgroups)) {}

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
    }

private:
    PluginCgroups cgroups_;
};

// What each controller enforces, as data: the mode key, the limit, what is lost without it.
struct ControllerUse {
    CgroupController controller;
    const char* mode_key;
    CgroupMode mode;
    bool limited;
    const char* without;  // what "require" protects, for the refusal
};

} // namespace

struct CgroupPlan::Support {
    std::vector<CgroupSupport> controllers;
};

CgroupPlan::CgroupPlan() = default;
CgroupPlan::CgroupPlan(CgroupPlan&&) noexcept = default;
CgroupPlan& CgroupPlan::operator=(CgroupPlan&&) noexcept = default;
CgroupPlan::~CgroupPlan() = default;

CgroupPlan CgroupPlan::prepare(const PluginConfig& plugin) {
    CgroupPlan plan;
    // Before any plugin of this host starts: what hosts that died left behind (processes
    // included) goes, whatever this plugin's own settings.
    remove_stale_cgroups();
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
            auto support = probe_cgroup_controller(use.controller);
            detail = support.detail;
            if (!support.available && use.mode == CgroupMode::Require) {
                throw SpawnError("plugin '" + plugin.name + "': " + use.mode_key + " = \"require\" but no " +
                                 controller_name(use.controller) + " cgroup can be made, so " + use.without + ": " + support.detail);
            }
            cgroup = support.available;
            if (cgroup) used.push_back(std::move(support));
        }
        if (use.controller == CgroupController::Memory) {
            plan.memory_ = MemoryEnforcement{use.limited, cgroup, detail};
        } else {
            CgroupEnforcement& enforcement = use.controller == CgroupController::Pids ? plan.tasks_ : plan.cpu_;
            enforcement = CgroupEnforcement{use.limited, cgroup, controller_name(use.controller), detail};
        }
    }
    if (!used.empty()) plan.support_ = std::make_unique<Support>(Support{std::move(used)});
    return plan;
}

std::unique_ptr<LaunchCgroup> CgroupPlan::create_for_launch(const PluginConfig& plugin) const {
    if (!support_) return nullptr;
    CgroupLimits limits;
    limits.memory_bytes = plugin.limits.memory_bytes;
    limits.tasks = plugin.limits.tasks;
    limits.cpu_quota_percent = plugin.limits.cpu_quota_percent;
    auto cgroups = PluginCgroups::create(support_->controllers, plugin.name, limits);
    if (!cgroups) {
        throw SpawnError("plugin '" + plugin.name + "': cannot start: cgroup: " + cgroups.status().message());
    }
    return std::make_unique<SandboxLaunchCgroup>(std::move(*cgroups));
}

} // namespace airlock::host::detail

namespace airlock::host {

std::string CgroupEnforcement::describe() const {
    if (!limited) return "none set, so no " + controller + " cgroup either";
    if (cgroup) return "enforced by the " + controller + " cgroup (" + detail + ")";
    return "NOT enforced (" + detail + ")";
}

} // namespace airlock::host
