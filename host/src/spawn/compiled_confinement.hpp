#pragma once
// The sandbox library's objects behind PreparedConfinement.

#include <airlock/host/landlock_ruleset.hpp>
#include <airlock/host/seccomp_filter.hpp>

#include <linux/filter.h>

#include <memory>
#include <mutex>
#include <optional>

namespace airlock::host::detail {

struct CompiledConfinement {
    std::optional<CompiledSeccompFilter> filter;  ///< empty when seccomp is unavailable
    sock_fprog program{};                          ///< points into *filter
    bool landlock = false;                         ///< the kernel offers Landlock

    std::mutex ruleset_mutex;
    /// The last Landlock ruleset built, reused while still current (guarded by ruleset_mutex).
    std::shared_ptr<const LandlockRuleset> ruleset;
};

} // namespace airlock::host::detail
