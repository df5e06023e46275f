#pragma once
// The child side of the namespaces layer in a user namespace (internal to the spawner; raw
// system calls only, see child_launch.hpp and user_namespace.hpp).

#include "child_namespaces.hpp"

namespace airlock::host::detail {

/// Where entering failed: the id maps, or building the root (NamespaceFailure).
struct UserNamespaceFailure {
    enum class Stage { None, DenySetgroups, UidMap, GidMap, PrivateRoot };
    Stage stage = Stage::None;
    int error = 0;
    NamespaceFailure root;  ///< PrivateRoot: which step of the root
};

/// In a launch's child cloned with CLONE_NEWUSER (and the other namespace flags): denies
/// setgroups, writes plan.uid_map and plan.gid_map to its own /proc/self files (allowed
/// without privilege for a single line mapping the creator's own id), then builds and
/// enters the private root of plan.steps (child_enter_private_root). Until its exec the
/// child holds every capability in the new user namespace, and no other.
UserNamespaceFailure child_enter_user_namespace(const NamespaceChildPlan& plan) noexcept;

} // namespace airlock::host::detail
