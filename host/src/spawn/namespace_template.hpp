#pragma once
// A plugin's private root, built once in a mount namespace of its own and kept alive by a
// descriptor; each launch joins it and takes a private copy (internal to the spawner).
//
// Why: building the root in every child means copying the host's mount table and then
// detaching it (umount2 MNT_DETACH), whose RCU grace period the host would wait for in
// vfork at every start. Joining a finished root costs a setns and a copy of a few mounts.
// The empty network namespace is made here too and shared by the plugin's processes:
// creating one per start costs about 0.3 ms (docs/spawning.md); so are a UTS namespace with
// the hostname set and an IPC namespace (shared only when the plugin cannot use IPC objects).

#include "namespace_plan.hpp"

#include <airlock/connection/unique_fd.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace airlock::host::detail {

/// One finished private root: the descriptors of the mount namespace that holds it and of
/// the empty network, UTS and IPC namespaces made with it.
class NamespaceTemplate {
public:
    /// Builds the root of `plan` in a short-lived helper (clone CLONE_NEWNS|CLONE_NEWNET|
    /// CLONE_NEWUTS|CLONE_NEWIPC|CLONE_FILES). The first root built in a process takes the
    /// namespaces probe's empty network namespace instead of a CLONE_NEWNET of its own
    /// (take_probed_network_namespace).
    /// @throws SpawnError naming the step that failed.
    static std::shared_ptr<const NamespaceTemplate> build(const std::string& plugin, const NamespacePlan& plan);

    [[nodiscard]] int mount_fd() const noexcept { return mount_namespace_.get(); }
    [[nodiscard]] int network_fd() const noexcept { return network_namespace_.get(); }
    /// The UTS namespace, hostname "airlock" (nothing in a plugin can change it: no CAP_SYS_ADMIN).
    [[nodiscard]] int uts_fd() const noexcept { return uts_namespace_.get(); }
    /// An IPC namespace for the plugin's processes to share when its filter refuses every
    /// System V IPC and message queue call (otherwise each launch makes its own).
    [[nodiscard]] int ipc_fd() const noexcept { return ipc_namespace_.get(); }
    /// What the root was built from: the plan's steps and the identity of each bind source.
    [[nodiscard]] const std::string& signature() const noexcept { return signature_; }

private:
    UniqueFd mount_namespace_;
    UniqueFd network_namespace_;
    UniqueFd uts_namespace_;
    UniqueFd ipc_namespace_;
    std::string signature_;
};

/// The current template of one Spawner, rebuilt when the plan or a bind source changed
/// (a system path that appeared, an executable replaced). Thread-safe.
class NamespaceTemplateCache {
public:
    /// The template for `plugin` as the file system is now. Each call re-asks the lstat,
    /// stat and statvfs calls the last plan was made from (PlanInputs); only when an answer
    /// differs is the root planned again, and rebuilt when the new plan differs.
    /// @throws SpawnError as NamespacePlan::prepare and NamespaceTemplate::build.
    std::shared_ptr<const NamespaceTemplate> current(const PluginConfig& plugin, unsigned long clone_flags);

private:
    std::mutex mutex_;
    std::shared_ptr<const NamespaceTemplate> template_;
    PlanInputs inputs_;  ///< what template_'s plan was made from
};

} // namespace airlock::host::detail
