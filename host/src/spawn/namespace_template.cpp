// See namespace_template.hpp.
#include "namespace_template.hpp"

#include "child_namespaces.hpp"

#include <airlock/host/direct_clone.hpp>
#include <airlock/host/isolation_layers.hpp>
#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace airlock::host::detail {
namespace {

constexpr std::size_t kHelperStackSize = 64 * 1024;

// Shared with the helper (CLONE_VM): what it needs and what it reports.
struct HelperShared {
    NamespaceChildPlan plan;
    int mount_namespace_fd = -1;
    int network_namespace_fd = -1;
    int uts_namespace_fd = -1;
    int ipc_namespace_fd = -1;
    bool join_mount = false;  // mount_namespace_fd is given (the probe's): build the root there
    bool join_uts = false;    // uts_namespace_fd is given: set its hostname there
    int open_error = 0;
    int join_error = 0;
    NamespaceFailure failure;
};

// Raw system calls only: it runs in the host's memory while the host waits in vfork, so no
// sanitizer instrumentation either (see direct_clone.hpp).
__attribute__((no_sanitize("address", "undefined", "thread"))) int build_root_in_helper(void* argument) {
    auto* shared = static_cast<HelperShared*>(argument);
    // Given namespaces are joined instead of made by the clone (not sharing CLONE_FS, the
    // helper may join a mount namespace).
    const std::pair<bool, int> joins[] = {{shared->join_mount, shared->mount_namespace_fd},
                                          {shared->join_uts, shared->uts_namespace_fd}};
    for (const auto& [join, fd] : joins) {
        if (join && ::syscall(SYS_setns, fd, 0) != 0) {
            shared->join_error = errno;
            ::syscall(SYS_exit, 1);
        }
    }
    // CLONE_FILES: these descriptors land in the host's table. Opened before the pivot,
    // while /proc is still visible.
    const char* const paths[] = {"/proc/self/ns/mnt", "/proc/self/ns/net", "/proc/self/ns/uts", "/proc/self/ns/ipc"};
    int* const fds[] = {&shared->mount_namespace_fd, &shared->network_namespace_fd, &shared->uts_namespace_fd,
                        &shared->ipc_namespace_fd};
    for (int i = 0; i < 4; ++i) {
        if (*fds[i] >= 0) continue;  // given (the probe's)
        long fd = ::syscall(SYS_openat, AT_FDCWD, paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            shared->open_error = errno;
            ::syscall(SYS_exit, 1);
        }
        *fds[i] = static_cast<int>(fd);
    }
    shared->failure = child_enter_private_root(shared->plan);
    ::syscall(SYS_exit, 0);
    return 0;
}

std::string describe_stage(NamespaceFailure::Stage stage) {
    switch (stage) {
    case NamespaceFailure::Stage::MakePrivate: return "make its mounts private";
    case NamespaceFailure::Stage::MountRoot: return "mount the tmpfs of its private root";
    case NamespaceFailure::Stage::PivotRoot: return "pivot_root into its private root";
    case NamespaceFailure::Stage::DetachOldRoot: return "detach the host's root";
    case NamespaceFailure::Stage::ReadOnlyRoot: return "make its private root read-only";
    case NamespaceFailure::Stage::Hostname: return "set its hostname";
    case NamespaceFailure::Stage::None:
    case NamespaceFailure::Stage::RootStep: break;
    }
    return "build its private root";
}

std::string signature_of(const NamespacePlan& plan) {
    std::string signature;
    const NamespaceChildPlan child = plan.child();
    for (std::size_t i = 0; i < child.step_count; ++i) {
        const RootStep& step = child.steps[i];
        signature += std::to_string(static_cast<int>(step.kind)) + ' ' + step.target + ' ' + step.source + ' ' +
                     std::to_string(step.remount_flags);
        if (step.kind == RootStep::Kind::BindReadOnly) {
            struct stat status {};
            if (::stat(step.source, &status) == 0) {
                signature += ' ' + std::to_string(status.st_dev) + ':' + std::to_string(status.st_ino) + ':' +
                             std::to_string(status.st_ctim.tv_sec) + '.' + std::to_string(status.st_ctim.tv_nsec);
            }
        }
        signature += '\n';
    }
    return signature;
}

} // namespace

std::shared_ptr<const NamespaceTemplate> NamespaceTemplate::build(const std::string& plugin, const NamespacePlan& plan) {
    HelperShared shared;
    shared.plan = plan.child();
    // The UTS namespace gets the hostname here, once; launches join it.
    shared.plan.clone_flags = CLONE_NEWNS | CLONE_NEWUTS;
    // The namespaces probe's, when this is the first root built: the helper then makes none
    // of them (CLONE_NEWNET alone costs about 0.3 ms, docs/spawning.md), and the probe's copy
    // of the host's mount table becomes this root's instead of being torn down.
    const ProbedNamespaces probed = take_probed_namespaces();
    shared.mount_namespace_fd = probed.mount;
    shared.network_namespace_fd = probed.network;
    shared.uts_namespace_fd = probed.uts;
    shared.ipc_namespace_fd = probed.ipc;
    shared.join_mount = probed.mount >= 0;
    shared.join_uts = probed.uts >= 0;
    const auto unless_given = [](int fd, unsigned long flag) { return fd >= 0 ? 0 : flag; };
    const unsigned long new_namespaces =
        unless_given(probed.mount, CLONE_NEWNS) | unless_given(probed.network, CLONE_NEWNET) |
        unless_given(probed.uts, CLONE_NEWUTS) | unless_given(probed.ipc, CLONE_NEWIPC);
    std::vector<char> stack(kHelperStackSize);
    int status = 0;
    pid_t pid = -1;
    int clone_error = 0;
    {
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        pid = direct_clone()(build_root_in_helper, stack.data() + stack.size(),
                      static_cast<int>(CLONE_VM | CLONE_VFORK | CLONE_FILES | new_namespaces) | SIGCHLD,
                      &shared);
        clone_error = errno;
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    if (pid < 0) {
        ProbedNamespaces given = probed;
        for (int fd : {given.mount, given.network, given.uts, given.ipc}) {
            if (fd >= 0) ::close(fd);
        }
        throw SpawnError("plugin '" + plugin + "': cannot create the mount namespace of its private root: " +
                         std::strerror(clone_error));
    }
    while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
    }
    UniqueFd mount_namespace(shared.mount_namespace_fd);
    UniqueFd network_namespace(shared.network_namespace_fd);
    UniqueFd uts_namespace(shared.uts_namespace_fd);
    UniqueFd ipc_namespace(shared.ipc_namespace_fd);
    if (shared.join_error != 0) {
        throw SpawnError("plugin '" + plugin + "': cannot join the namespaces probe's namespaces for its private root: " +
                         std::strerror(shared.join_error));
    }
    if (shared.open_error != 0) {
        throw SpawnError("plugin '" + plugin + "': cannot open the mount namespace of its private root: " +
                         std::strerror(shared.open_error));
    }
    if (shared.failure.stage != NamespaceFailure::Stage::None) {
        std::string what = shared.failure.stage == NamespaceFailure::Stage::RootStep
                               ? plan.describe_step(static_cast<std::size_t>(shared.failure.step))
                               : describe_stage(shared.failure.stage);
        throw SpawnError("plugin '" + plugin + "': cannot start: could not " + what +
                         " (namespaces): " + std::strerror(shared.failure.error));
    }
    auto built = std::make_shared<NamespaceTemplate>();
    built->mount_namespace_ = std::move(mount_namespace);
    built->network_namespace_ = std::move(network_namespace);
    built->uts_namespace_ = std::move(uts_namespace);
    built->ipc_namespace_ = std::move(ipc_namespace);
    built->signature_ = signature_of(plan);
    return built;
}

std::shared_ptr<const NamespaceTemplate> NamespaceTemplateCache::current(const PluginConfig& plugin,
                                                                         unsigned long clone_flags) {
    std::lock_guard lock(mutex_);
    if (template_ && inputs_.unchanged()) return template_;
    PlanInputs inputs;
    const NamespacePlan plan = NamespacePlan::prepare(plugin, clone_flags, inputs);
    const std::string signature = signature_of(plan);
    if (!template_ || template_->signature() != signature) template_ = NamespaceTemplate::build(plugin.name, plan);
    inputs_ = std::move(inputs);
    return template_;
}

} // namespace airlock::host::detail
