// See confinement.hpp.
#include "confinement.hpp"

#include "compiled_confinement.hpp"

#include <airlock/host/isolation_layers.hpp>
#include <airlock/host/landlock_ruleset.hpp>

#include <sched.h>

#include <algorithm>

namespace airlock::host::detail {

PreparedConfinement::PreparedConfinement() = default;
PreparedConfinement::PreparedConfinement(PreparedConfinement&&) noexcept = default;
PreparedConfinement& PreparedConfinement::operator=(PreparedConfinement&&) noexcept = default;
PreparedConfinement::~PreparedConfinement() = default;

PreparedConfinement PreparedConfinement::prepare(const PluginConfig& plugin) {
    const IsolationLayers probe = probe_isolation_layers();
    PreparedConfinement prepared;
    prepared.compiled_ = std::make_unique<CompiledConfinement>();
    CompiledConfinement& compiled = *prepared.compiled_;

    if (probe.seccomp.available) {
        const SeccompFilterOptions options =
            seccomp_filter_options_for(plugin, probe.seccomp_user_notification.available);
        auto filter = compile_seccomp_filter(plugin.syscalls, plugin.limits, options);
        if (!filter) {
            throw SpawnError("plugin '" + plugin.name + "': cannot compile the seccomp filter: " +
                             filter.status().message());
        }
        compiled.filter.emplace(std::move(*filter));
        compiled.program = compiled.filter->program();
        compiled.filter_is_append_only = options.has_append_grants;
        prepared.layers_.push_back({IsolationLayer::Seccomp, true, ""});
    } else {
        prepared.layers_.push_back({IsolationLayer::Seccomp, false, probe.seccomp.detail});
    }
    compiled.landlock = probe.landlock.available;
    prepared.layers_.push_back({IsolationLayer::Landlock, probe.landlock.available,
                                probe.landlock.available ? "" : probe.landlock.detail});
    prepared.layers_.push_back({IsolationLayer::NoNewPrivs, probe.no_new_privs.available,
                                probe.no_new_privs.available ? "" : probe.no_new_privs.detail});
    if (plugin.namespaces == NamespacesMode::Off) {
        prepared.layers_.push_back({IsolationLayer::Namespaces, false, "off in the config (namespaces = \"off\")"});
    } else {
        prepared.layers_.push_back({IsolationLayer::Namespaces, probe.namespaces.available,
                                    probe.namespaces.available ? "" : probe.namespaces.detail});
        if (probe.namespaces.available) prepared.namespace_flags_ = kNamespaceCloneFlags;
        if (probe.namespaces_in_user_namespace) prepared.namespace_flags_ |= CLONE_NEWUSER;
    }
    return prepared;
}

bool PreparedConfinement::seccomp_applied() const noexcept { return compiled_ && compiled_->filter.has_value(); }
bool PreparedConfinement::landlock_applied() const noexcept { return compiled_ && compiled_->landlock; }

std::shared_ptr<const UniqueFd> PreparedConfinement::landlock_ruleset(const PluginConfig& plugin) const {
    if (!landlock_applied()) return {};
    CompiledConfinement& compiled = *compiled_;
    std::shared_ptr<const LandlockRuleset> ruleset;
    {
        std::lock_guard lock(compiled.ruleset_mutex);
        ruleset = compiled.ruleset;
    }
    // Checking costs a stat() per path; building anew, about 90 us (docs/spawning.md).
    if (!ruleset || !landlock_ruleset_is_current(*ruleset)) {
        auto policy = landlock_policy_for(plugin);
        if (!policy) {
            throw SpawnError("plugin '" + plugin.name + "': cannot build the Landlock policy: " +
                             policy.status().message());
        }
        auto built = build_landlock_ruleset(*policy);
        if (!built) {
            throw SpawnError("plugin '" + plugin.name + "': cannot build the Landlock ruleset: " +
                             built.status().message());
        }
        ruleset = std::make_shared<const LandlockRuleset>(std::move(*built));
        std::lock_guard lock(compiled.ruleset_mutex);
        compiled.ruleset = ruleset;
    }
    return std::shared_ptr<const UniqueFd>(ruleset, &ruleset->fd);  // keeps the whole ruleset alive
}

ChildConfinement PreparedConfinement::child() const noexcept {
    ChildConfinement child;
    if (seccomp_applied()) {
        child.seccomp_program = &compiled_->program;
        child.seccomp_listener = compiled_->filter->uses_notification();
        child.exec_tag = compiled_->filter->exec_tag();
    }
    return child;
}

namespace {

const SeccompVariant* append_only_variant(CompiledConfinement& compiled, const PluginConfig& plugin) {
    std::lock_guard lock(compiled.append_only_mutex);
    if (!compiled.append_only) {
        SeccompFilterOptions options =
            seccomp_filter_options_for(plugin, compiled.filter->uses_notification());
        options.has_append_grants = true;
        auto filter = compile_seccomp_filter(plugin.syscalls, plugin.limits, options);
        if (!filter) {
            throw SpawnError("plugin '" + plugin.name + "': cannot compile the append-only seccomp filter for its " +
                             "inherited O_APPEND output: " + filter.status().message());
        }
        compiled.append_only = std::make_shared<const SeccompVariant>(std::move(*filter));
    }
    return compiled.append_only.get();
}

} // namespace

ChildConfinement PreparedConfinement::child_sharing_append_only_output(const PluginConfig& plugin) const {
    if (!seccomp_applied() || compiled_->filter_is_append_only) return child();
    const SeccompVariant* variant = append_only_variant(*compiled_, plugin);
    ChildConfinement child;
    child.seccomp_program = &variant->program;
    child.seccomp_listener = variant->filter.uses_notification();
    child.exec_tag = variant->filter.exec_tag();
    return child;
}

const CompiledSeccompFilter* PreparedConfinement::filter_of_launch(bool append_only_output) const {
    if (!seccomp_applied()) return nullptr;
    if (!append_only_output || compiled_->filter_is_append_only) return &*compiled_->filter;
    std::lock_guard lock(compiled_->append_only_mutex);
    return compiled_->append_only ? &compiled_->append_only->filter : &*compiled_->filter;
}

} // namespace airlock::host::detail
