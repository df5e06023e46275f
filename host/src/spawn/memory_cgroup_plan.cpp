// See memory_cgroup_plan.hpp.
#include "memory_cgroup_plan.hpp"

#ifdef AIRLOCK_HAVE_SANDBOX
#include <airlock/host/memory_cgroup.hpp>

#include <signal.h>
#endif

namespace airlock::host::detail {
namespace {

#ifdef AIRLOCK_HAVE_SANDBOX

class SandboxLaunchCgroup final : public LaunchCgroup {
public:
    explicit SandboxLaunchCgroup(MemoryCgroup cgroup) : cgroup_(std::move(cgroup)) {}

    int join_fd() const noexcept override { return cgroup_.join_fd(); }
    const std::string& path() const noexcept override { return cgroup_.path(); }
    void close_join_fd() noexcept override { cgroup_.close_join_fd(); }

    void on_reaped(PluginExit& exit) noexcept override {
        try {
            // SIGKILL alone could be anyone's; the cgroup's OOM counter says it was the limit.
            if (exit.signaled && exit.signal == SIGKILL && cgroup_.oom_kills() > 0) exit.out_of_memory = true;
        } catch (...) {
        }
        (void)cgroup_.remove();  // not fatal: what stays is removed as stale by a later host
    }

private:
    MemoryCgroup cgroup_;
};

MemoryCgroupSupport probe() { return probe_memory_cgroup(); }

#else

struct NoSupport {
    bool available = false;
    std::string detail = "this build has no sandbox library (airlock::host_sandbox is not linked)";
};
NoSupport probe() { return {}; }

#endif

} // namespace

#ifdef AIRLOCK_HAVE_SANDBOX
struct MemoryCgroupPlan::Support {
    MemoryCgroupSupport where;
};
#else
struct MemoryCgroupPlan::Support {};
#endif

MemoryCgroupPlan::MemoryCgroupPlan() = default;
MemoryCgroupPlan::MemoryCgroupPlan(MemoryCgroupPlan&&) noexcept = default;
MemoryCgroupPlan& MemoryCgroupPlan::operator=(MemoryCgroupPlan&&) noexcept = default;
MemoryCgroupPlan::~MemoryCgroupPlan() = default;

MemoryCgroupPlan MemoryCgroupPlan::prepare(const PluginConfig& plugin) {
    MemoryCgroupPlan plan;
    MemoryEnforcement& enforcement = plan.enforcement_;
    enforcement.limited = plugin.limits.memory_bytes.has_value();
    if (!enforcement.limited) return plan;
    if (plugin.memory_cgroup == MemoryCgroupMode::Off) {
        enforcement.detail = "memory_cgroup = \"off\"";
        return plan;
    }
    auto support = probe();
    if (!support.available) {
        enforcement.detail = support.detail;
        if (plugin.memory_cgroup == MemoryCgroupMode::Require) {
            throw SpawnError("plugin '" + plugin.name + "': memory_cgroup = \"require\" but no memory cgroup can "
                             "be made, so memfd/tmpfs pages would escape the memory limit: " + support.detail);
        }
        return plan;
    }
#ifdef AIRLOCK_HAVE_SANDBOX
    enforcement.cgroup = true;
    enforcement.detail = support.detail;
    plan.support_ = std::make_unique<Support>(Support{std::move(support)});
#endif
    return plan;
}

std::unique_ptr<LaunchCgroup> MemoryCgroupPlan::create_for_launch(const PluginConfig& plugin) const {
#ifdef AIRLOCK_HAVE_SANDBOX
    if (!support_) return nullptr;
    auto cgroup = MemoryCgroup::create(support_->where, plugin.name, *plugin.limits.memory_bytes);
    if (!cgroup) {
        throw SpawnError("plugin '" + plugin.name + "': cannot start: memory cgroup: " + cgroup.status().message());
    }
    return std::make_unique<SandboxLaunchCgroup>(std::move(*cgroup));
#else
    (void)plugin;
    return nullptr;
#endif
}

} // namespace airlock::host::detail
