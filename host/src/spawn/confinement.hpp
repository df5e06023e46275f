#pragma once
// Bridges the spawner to the sandbox library (seccomp program, Landlock ruleset, probe).

#include "child_launch.hpp"

#include <airlock/connection/unique_fd.hpp>
#include <airlock/host/plugin_config.hpp>
#include <airlock/host/seccomp_filter.hpp>
#include <airlock/host/spawner.hpp>

#include <memory>
#include <vector>

namespace airlock::host::detail {

struct CompiledConfinement;  // the sandbox library's objects (opaque here)

/// The confinement prepared once per plugin config.
class PreparedConfinement {
public:
    PreparedConfinement();
    PreparedConfinement(PreparedConfinement&&) noexcept;
    PreparedConfinement& operator=(PreparedConfinement&&) noexcept;
    ~PreparedConfinement();

    /// Probes the kernel and compiles the seccomp program (once).
    /// @throws SpawnError when the sandbox library rejects the plugin's policy.
    static PreparedConfinement prepare(const PluginConfig& plugin);

    /// One entry per IsolationLayer, in the order seccomp, landlock, no-new-privs, namespaces.
    [[nodiscard]] const std::vector<LayerStatus>& layers() const noexcept { return layers_; }
    [[nodiscard]] bool seccomp_applied() const noexcept;
    [[nodiscard]] bool landlock_applied() const noexcept;
    /// The clone flags of the namespaces layer; 0 when it is off or unavailable.
    [[nodiscard]] unsigned long namespace_flags() const noexcept { return namespace_flags_; }

    /// The Landlock ruleset descriptor for a launch; null without Landlock. Built on first
    /// use and reused while every path it refers to still names the same file (a replaced
    /// executable or a re-created grant directory gets a new ruleset). Thread-safe; keep the
    /// pointer until the child has executed.
    /// @throws SpawnError when a path of the policy cannot be opened (fail closed).
    [[nodiscard]] std::shared_ptr<const UniqueFd> landlock_ruleset(const PluginConfig& plugin) const;

    /// The child's view: seccomp program, listener flag and exec tag (ruleset fd not set).
    [[nodiscard]] ChildConfinement child() const noexcept;
    /// The same for a launch whose stdout or stderr is an inherited O_APPEND file: the filter
    /// gets the append-only hardening of an append grant (compiled on first use, kept).
    /// Thread-safe. @throws SpawnError when that filter cannot be compiled.
    [[nodiscard]] ChildConfinement child_sharing_append_only_output(const PluginConfig& plugin) const;
    /// The filter a launch loaded (the hardened one when `append_only_output`), for its
    /// violation monitor; null without seccomp.
    [[nodiscard]] const CompiledSeccompFilter* filter_of_launch(bool append_only_output) const;

    /// The compiled sandbox objects (for the violation monitor); null without seccomp.
    [[nodiscard]] const CompiledConfinement* compiled() const noexcept { return compiled_.get(); }

private:
    std::vector<LayerStatus> layers_;
    std::unique_ptr<CompiledConfinement> compiled_;
    unsigned long namespace_flags_ = 0;
};

} // namespace airlock::host::detail
