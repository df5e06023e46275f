#pragma once
// Access to a Spawner's prepared state for other parts of the spawn library.

#include "confinement.hpp"

#include <airlock/host/spawner.hpp>

namespace airlock::host::detail {

struct SpawnerInternals {
    static const PreparedConfinement& confinement(const Spawner& spawner) noexcept;
};

} // namespace airlock::host::detail
