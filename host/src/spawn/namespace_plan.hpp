#pragma once
// The namespaces layer (internal to the spawner): the parent works out every path of the
// plugin's private root; a helper replays it with raw system calls (child_namespaces.cpp)
// into a kept mount namespace (namespace_template.hpp) that each launch joins.
// See docs/sandbox.md, "Namespaces".

#include <airlock/host/plugin_config.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace airlock::host::detail {

/// One operation that builds the private root, on a path under the staging directory.
struct RootStep {
    enum class Kind { MakeDirectory, MakeFile, BindReadOnly, Symlink };
    Kind kind = Kind::MakeDirectory;
    const char* target = nullptr;  ///< staging path, e.g. "/mnt/usr"
    const char* source = nullptr;  ///< BindReadOnly: the host path; Symlink: the link's text
    unsigned long remount_flags = 0;  ///< BindReadOnly: MS_RDONLY|MS_NOSUID|MS_NODEV (+ MS_NOEXEC kept)
};

/// The child's view: plain data in parent memory (see child_launch.hpp).
struct NamespaceChildPlan {
    unsigned long clone_flags = 0;    ///< 0: the layer is off, nothing to do
    const char* staging = nullptr;    ///< where the tmpfs is mounted before pivot_root
    const RootStep* steps = nullptr;
    std::size_t step_count = 0;
    /// A launch: the mount namespace holding the finished root (namespace_template.hpp),
    /// joined instead of building the steps; -1 when the steps are to be built.
    int template_fd = -1;
    int network_fd = -1;  ///< with template_fd: the empty network namespace to join
    /// A host that is not root (clone_flags has CLONE_NEWUSER): the child writes these to
    /// its own /proc/self/{uid,gid}_map and builds the steps itself (user_namespace.hpp).
    const char* uid_map = nullptr;
    const char* gid_map = nullptr;
};

/// The private root of one plugin: every path string the child needs, owned here.
class NamespacePlan {
public:
    /// An inactive plan (the layer is off or unavailable).
    NamespacePlan() = default;
    NamespacePlan(const NamespacePlan&) = delete;
    NamespacePlan& operator=(const NamespacePlan&) = delete;
    NamespacePlan(NamespacePlan&&) noexcept = default;
    NamespacePlan& operator=(NamespacePlan&&) noexcept = default;

    /// The root for `plugin`: its system paths, executable and ELF interpreter, each
    /// bind-mounted read-only at its own path (symlinks on the way recreated as symlinks).
    /// @throws SpawnError when the executable's interpreter cannot be read.
    static NamespacePlan prepare(const PluginConfig& plugin, unsigned long clone_flags);

    [[nodiscard]] NamespaceChildPlan child() const noexcept;
    /// What a failed step (index from the helper's report) did, naming its host path.
    [[nodiscard]] std::string describe_step(std::size_t index) const;

private:
    unsigned long clone_flags_ = 0;
    std::string staging_;
    std::vector<std::string> targets_;  ///< staging-prefixed, parallel to steps_
    std::vector<std::string> sources_;
    std::vector<RootStep> steps_;       ///< pointers into targets_/sources_ (set last)
};

} // namespace airlock::host::detail
