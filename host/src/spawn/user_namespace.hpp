#pragma once
// The namespaces layer for a host that is not root (internal to the spawner): each launch's
// child is cloned with CLONE_NEWUSER as well, maps the host's uid and gid to themselves in
// it and builds the plugin's private root itself (child_user_namespace.hpp).
// See docs/sandbox.md, "In a user namespace".
//
// Why not the root path's kept template: joining a mount namespace needs CAP_SYS_ADMIN in
// the user namespace that owns it, and the PID, UTS and IPC namespaces can only be made at
// clone time by a process that already holds CAP_SYS_ADMIN in its own; a child cloned with
// a fresh user namespace holds it there but not in the template's, so reusing the template
// would take a second clone per launch (docs/spawning.md has both costs).

#include "child_launch.hpp"
#include "namespace_plan.hpp"

#include <string>

namespace airlock::host::detail {

/// The one-line id maps of the host's effective uid and gid ("1000 1000 1\n"): the plugin
/// runs as the host's own ids inside, as outside. Not root inside (that would keep every
/// capability across the plugin's exec); a non-zero uid loses them all at exec.
struct UserNamespaceMaps {
    std::string uid_map;
    std::string gid_map;
};

/// The maps of this process's effective ids (computed once; the host never changes them).
const UserNamespaceMaps& host_identity_maps();

/// The child's view of `plan` for a launch that builds its root in a user namespace: the
/// steps to build, plus the maps (pointers into `maps`, which must outlive the launch).
NamespaceChildPlan user_namespace_child_plan(const NamespacePlan& plan, const UserNamespaceMaps& maps) noexcept;

/// For a child that failed ChildStep::BuildPrivateRoot: what it could not do, e.g.
/// " (could not bind-mount /opt/lib read-only into its private root)"; "" for other failures.
std::string describe_root_failure(const NamespacePlan& plan, const ChildFailure& failure);

} // namespace airlock::host::detail
