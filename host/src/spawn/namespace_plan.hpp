#pragma once
// The namespaces layer (internal to the spawner): the parent works out every path of the
// plugin's private root; a helper replays it with raw system calls (child_namespaces.cpp)
// into a kept mount namespace (namespace_template.hpp) that each launch joins.
// See docs/sandbox.md, "Namespaces".

#include <airlock/host/plugin_config.hpp>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstddef>
#include <map>
#include <string>
#include <utility>
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
    int uts_fd = -1;      ///< with template_fd: the UTS namespace (hostname "airlock") to join; -1: none
    int ipc_fd = -1;      ///< with template_fd: the IPC namespace to join; -1: none (or a fresh one by clone)
    /// With template_fd: take a private copy of the mount namespace (unshare CLONE_NEWNS)
    /// after joining it. Not needed when nothing the plugin runs can change a mount
    /// (docs/sandbox.md, "Namespaces").
    bool private_mount_copy = true;
    /// A host that is not root (clone_flags has CLONE_NEWUSER): the child writes these to
    /// its own /proc/self/{uid,gid}_map and builds the steps itself (user_namespace.hpp).
    const char* uid_map = nullptr;
    const char* gid_map = nullptr;
};

/// What a plan was made from: the answer to every lstat, stat and statvfs it asked the file
/// system, so a later launch can tell with those calls alone whether planning again would
/// give the same plan (no readlink, no ELF header read, no strings built).
class PlanInputs {
public:
    /// lstat/stat/statvfs of `path`, recorded. Same meaning as the system calls.
    int lstat(const std::string& path, struct stat* status);
    int stat(const std::string& path, struct stat* status);
    int statvfs(const std::string& path, struct statvfs* status);

    /// True when every recorded call still answers as it did (same error, or the same
    /// device, inode, type and ctime; for statvfs the same mount flags and file system).
    [[nodiscard]] bool unchanged() const;

    enum class Call { Lstat, Stat, Statvfs };
    /// One recorded answer: the errno, or what identifies the file (or file system).
    struct Answer {
        int error = 0;
        unsigned long long device = 0, inode = 0, mode = 0, flags = 0;
        long long ctime_sec = 0, ctime_nsec = 0;
        bool operator==(const Answer&) const = default;
    };

private:
    static Answer ask(Call call, const std::string& path);
    void record(Call call, const std::string& path, const Answer& answer);

    std::map<std::pair<Call, std::string>, Answer> answers_;
    bool consistent_ = true;  ///< false when one path answered differently during planning
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
    /// Every file-system question it asks goes through `inputs` (PlanInputs::unchanged).
    /// @throws SpawnError when the executable's interpreter cannot be read.
    static NamespacePlan prepare(const PluginConfig& plugin, unsigned long clone_flags, PlanInputs& inputs);

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
