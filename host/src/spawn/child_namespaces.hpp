#pragma once
// The child side of the namespaces layer (internal to the spawner; raw system calls only).

#include "namespace_plan.hpp"

#include <sched.h>

namespace airlock::host::detail {

/// Where building the private root failed; error 0 = it did not.
struct NamespaceFailure {
    enum class Stage { None, MakePrivate, MountRoot, RootStep, PivotRoot, DetachOldRoot, ReadOnlyRoot, Hostname };
    Stage stage = Stage::None;
    int error = 0;
    int step = 0;  ///< RootStep: the index into plan.steps
};

/// In the template helper, cloned with CLONE_NEWNS: makes every mount private, builds the tmpfs
/// root from plan.steps at plan.staging, pivots into it, detaches the host's root and
/// makes the new root read-only; sets the hostname if plan.clone_flags has CLONE_NEWUTS.
NamespaceFailure child_enter_private_root(const NamespaceChildPlan& plan) noexcept;

/// Where joining a finished root failed; 0 = it did not.
enum class JoinFailure { None, JoinNetwork, JoinUts, JoinIpc, Join, Copy, Hostname };

/// In a launch's child: joins the network namespace of plan.network_fd, the UTS and IPC
/// namespaces of plan.uts_fd and plan.ipc_fd (when not -1) and the mount namespace of
/// plan.template_fd (which also moves its root and working directory there), takes a
/// private copy of it when plan.private_mount_copy, and sets the hostname when the launch
/// made a new UTS namespace. `*error` gets the errno.
JoinFailure child_join_private_root(const NamespaceChildPlan& plan, int* error) noexcept;

} // namespace airlock::host::detail
