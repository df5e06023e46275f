// make_violation_monitor: the spawner's compiled filter supplies the violation policy.
#include <airlock/host/spawn_violations.hpp>

#include "compiled_confinement.hpp"
#include "spawner_internals.hpp"

#include <airlock/host/syscall_sets.hpp>

namespace airlock::host {

std::optional<ViolationMonitor> make_violation_monitor(const Spawner& spawner, SpawnedPlugin& plugin) {
    const CompiledSeccompFilter* filter =
        detail::SpawnerInternals::confinement(spawner).filter_of_launch(plugin.shares_append_only_output);
    if (!plugin.seccomp_listener || filter == nullptr) return std::nullopt;
    SeccompViolationPolicy policy = filter->violation_policy();
    policy.group_of = [](std::string_view syscall) { return group_of_syscall(syscall); };
    return ViolationMonitor(std::move(plugin.seccomp_listener), std::move(policy));
}

} // namespace airlock::host
