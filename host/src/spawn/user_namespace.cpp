// See user_namespace.hpp.
#include "user_namespace.hpp"

#include "child_namespaces.hpp"

#include <unistd.h>

namespace airlock::host::detail {

const UserNamespaceMaps& host_identity_maps() {
    static const UserNamespaceMaps maps = [] {
        const std::string uid = std::to_string(::geteuid());
        const std::string gid = std::to_string(::getegid());
        return UserNamespaceMaps{uid + ' ' + uid + " 1\n", gid + ' ' + gid + " 1\n"};
    }();
    return maps;
}

NamespaceChildPlan user_namespace_child_plan(const NamespacePlan& plan, const UserNamespaceMaps& maps) noexcept {
    NamespaceChildPlan child = plan.child();
    child.uid_map = maps.uid_map.c_str();
    child.gid_map = maps.gid_map.c_str();
    return child;
}

std::string describe_root_failure(const NamespacePlan& plan, const ChildFailure& failure) {
    if (static_cast<ChildStep>(failure.step) != ChildStep::BuildPrivateRoot) return "";
    if (failure.detail >= 0) return " (could not " + plan.describe_step(static_cast<std::size_t>(failure.detail)) + ")";
    switch (static_cast<NamespaceFailure::Stage>(-1 - failure.detail)) {
    case NamespaceFailure::Stage::MakePrivate: return " (could not make its mounts private)";
    case NamespaceFailure::Stage::MountRoot: return " (could not mount the tmpfs of its private root)";
    case NamespaceFailure::Stage::PivotRoot: return " (could not pivot_root into its private root)";
    case NamespaceFailure::Stage::DetachOldRoot: return " (could not detach the host's root)";
    case NamespaceFailure::Stage::ReadOnlyRoot: return " (could not make its private root read-only)";
    case NamespaceFailure::Stage::Hostname: return " (could not set its hostname)";
    case NamespaceFailure::Stage::None:
    case NamespaceFailure::Stage::RootStep: break;
    }
    return "";
}

} // namespace airlock::host::detail
