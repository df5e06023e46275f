#pragma once
// The sandbox library's objects behind PreparedConfinement (only with AIRLOCK_HAVE_SANDBOX).

#include <airlock/host/seccomp_filter.hpp>

#include <linux/filter.h>

#include <optional>

namespace airlock::host::detail {

struct CompiledConfinement {
    std::optional<CompiledSeccompFilter> filter;  ///< empty when seccomp is unavailable
    sock_fprog program{};                          ///< points into *filter
    bool landlock = false;                         ///< the kernel offers Landlock
};

} // namespace airlock::host::detail
