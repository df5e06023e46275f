#pragma once
// A plugin's private root, built once in a mount namespace of its own and kept alive by a
// descriptor; each launch joins it and takes a private copy (internal to the spawner).
//
// Why: building the root in every child means copying the host's mount table and then
// detaching it (umount2 MNT_DETACH), whose RCU grace period the host would wait for in
// vfork at every start. Joining a finished root costs a setns and a copy of a few mounts.
// The empty network namespace is made here too and shared by the plugin's processes:
// creating one per start costs about 0.3 ms (docs/spawning.md).

#include "namespace_plan.hpp"

#include <airlock/connection/unique_fd.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace airlock::host::detail {

/// One finished private root: the descriptors of the mount namespace that holds it and of
/// the empty network namespace made with it.
class NamespaceTemplate {
public:
    /// Builds the root of `plan` in a short-lived helper (clone CLONE_NEWNS|CLONE_NEWNET|CLONE_FILES).
    /// @throws SpawnError naming the step that failed.
    static std::shared_ptr<const NamespaceTemplate> build(const std::string& plugin, const NamespacePlan& plan);

    [[nodiscard]] int mount_fd() const noexcept { return mount_namespace_.get(); }
    [[nodiscard]] int network_fd() const noexcept { return network_namespace_.get(); }
    /// What the root was built from: the plan's steps and the identity of each bind source.
    [[nodiscard]] const std::string& signature() const noexcept { return signature_; }

private:
    UniqueFd mount_namespace_;
    UniqueFd network_namespace_;
    std::string signature_;
};

/// The current template of one Spawner, rebuilt when the plan or a bind source changed
/// (a system path that appeared, an executable replaced). Thread-safe.
class NamespaceTemplateCache {
public:
    std::shared_ptr<const NamespaceTemplate> current(const std::string& plugin, const NamespacePlan& plan);

private:
    std::mutex mutex_;
    std::shared_ptr<const NamespaceTemplate> template_;
};

} // namespace airlock::host::detail
