#pragma once
// The sandbox library's objects behind PreparedConfinement.

#include <airlock/host/landlock_ruleset.hpp>
#include <airlock/host/seccomp_filter.hpp>

#include <linux/filter.h>

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace airlock::host::detail {

/// A compiled filter and the program the child loads (pointing into it).
struct SeccompVariant {
    explicit SeccompVariant(CompiledSeccompFilter compiled) : filter(std::move(compiled)), program(filter.program()) {}
    CompiledSeccompFilter filter;
    sock_fprog program{};
};

struct CompiledConfinement {
    std::optional<CompiledSeccompFilter> filter;  ///< empty when seccomp is unavailable
    sock_fprog program{};                          ///< points into *filter
    /// Whether `filter` already has the append-only hardening (an append grant).
    bool filter_is_append_only = false;

    std::mutex append_only_mutex;
    /// The plugin's filter with the append-only hardening, for launches that share an
    /// O_APPEND stdout/stderr file (inherited_stdio.hpp); compiled on first use, then kept
    /// for the Spawner's life (guarded by append_only_mutex; a child may still point into it).
    std::shared_ptr<const SeccompVariant> append_only;
    bool landlock = false;                         ///< the kernel offers Landlock

    std::mutex ruleset_mutex;
    /// The last Landlock ruleset built, reused while still current (guarded by ruleset_mutex).
    std::shared_ptr<const LandlockRuleset> ruleset;
};

} // namespace airlock::host::detail
