// make_violation_monitor: the spawner's compiled filter supplies the violation policy.
#include <airlock/host/spawn_violations.hpp>

#include "compiled_confinement.hpp"
#include "spawner_internals.hpp"

namespace airlock::host {

std::optional<ViolationMonitor> make_violation_monitor(const Spawner& spawner, SpawnedPlugin& plugin) {
    const detail::CompiledConfinement* compiled = detail::SpawnerInternals::confinement(spawner).compiled();
    if (!plugin.seccomp_listener || compiled == nullptr || !compiled->filter) return std::nullopt;
    return ViolationMonitor(std::move(plugin.seccomp_listener), compiled->filter->violation_policy());
}

} // namespace airlock::host
