// The child side of the namespaces layer: raw system calls only (see child_launch.hpp).
#include "child_namespaces.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {
namespace {

// Small: it only holds directories, empty mount points and symlinks.
constexpr const char* kRootOptions = "mode=0755,size=64k,nr_inodes=1024";
constexpr const char kHostname[] = "airlock";

int mount_call(const char* source, const char* target, const char* type, unsigned long flags, const void* data) {
    return ::syscall(SYS_mount, source, target, type, flags, data) == 0 ? 0 : errno;
}

// "/proc/self/fd/N" for a descriptor, written into `path` (at least 32 bytes).
void descriptor_path(long fd, char* path) {
    const char prefix[] = "/proc/self/fd/";
    std::size_t length = 0;
    for (; prefix[length] != '\0'; ++length) path[length] = prefix[length];
    char digits[24];
    std::size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + fd % 10);
        fd /= 10;
    } while (fd > 0);
    while (count > 0) path[length++] = digits[--count];
    path[length] = '\0';
}

// Binds `source` on `target` as the planned path names it now, never through a link: the
// plan resolved every link on the way (and recreates it in the root), so a link here was put
// there since, by whoever can write a directory on the way; mount(2) would follow it.
int bind_without_links(const char* source, const char* target) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;  // no O_NOFOLLOW: with it O_PATH would open a trailing link itself
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, AT_FDCWD, source, &how, sizeof how);
    if (fd < 0) return errno;
    char opened[32];
    descriptor_path(fd, opened);
    // The magic link names exactly the file opened above.
    const int error = mount_call(opened, target, nullptr, MS_BIND, nullptr);
    ::syscall(SYS_close, fd);
    return error;
}

int run_step(const RootStep& step) {
    switch (step.kind) {
    case RootStep::Kind::MakeDirectory:
        if (::syscall(SYS_mkdir, step.target, 0755) != 0 && errno != EEXIST) return errno;
        return 0;
    case RootStep::Kind::MakeFile: {
        long fd = ::syscall(SYS_openat, AT_FDCWD, step.target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0) return errno;
        ::syscall(SYS_close, fd);
        return 0;
    }
    case RootStep::Kind::BindReadOnly:
        // Bind first, then remount: the read-only flag of a bind is set by the remount.
        if (int error = bind_without_links(step.source, step.target)) return error;
        return mount_call(nullptr, step.target, nullptr, step.remount_flags, nullptr);
    case RootStep::Kind::Symlink:
        return ::syscall(SYS_symlink, step.source, step.target) == 0 ? 0 : errno;
    }
    return EINVAL;
}

} // namespace

NamespaceFailure child_enter_private_root(const NamespaceChildPlan& plan) noexcept {
    // Nothing mounted from here on may propagate back to the host's namespace.
    if (int error = mount_call(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)) {
        return {NamespaceFailure::Stage::MakePrivate, error, 0};
    }
    if (int error = mount_call("airlock-root", plan.staging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, kRootOptions)) {
        return {NamespaceFailure::Stage::MountRoot, error, 0};
    }
    for (std::size_t i = 0; i < plan.step_count; ++i) {
        if (int error = run_step(plan.steps[i])) return {NamespaceFailure::Stage::RootStep, error, static_cast<int>(i)};
    }
    // pivot_root(".", "."): the old root ends up stacked on the new one and is detached
    // at once, so no path leads back to the host's file system.
    if (::syscall(SYS_chdir, plan.staging) != 0) return {NamespaceFailure::Stage::PivotRoot, errno, 0};
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return {NamespaceFailure::Stage::PivotRoot, errno, 0};
    if (::syscall(SYS_umount2, ".", MNT_DETACH) != 0) return {NamespaceFailure::Stage::DetachOldRoot, errno, 0};
    if (::syscall(SYS_chdir, "/") != 0) return {NamespaceFailure::Stage::PivotRoot, errno, 0};
    if (int error = mount_call(nullptr, "/", nullptr,
                               MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr)) {
        return {NamespaceFailure::Stage::ReadOnlyRoot, error, 0};
    }
    // The host's name is none of the plugin's business either.
    if ((plan.clone_flags & CLONE_NEWUTS) != 0 && ::syscall(SYS_sethostname, kHostname, sizeof kHostname - 1) != 0) {
        return {NamespaceFailure::Stage::Hostname, errno, 0};
    }
    return {};
}

JoinFailure child_join_private_root(const NamespaceChildPlan& plan, int* error) noexcept {
    if (::syscall(SYS_setns, plan.network_fd, CLONE_NEWNET) != 0) {
        *error = errno;
        return JoinFailure::JoinNetwork;
    }
    // The template's UTS namespace already has the hostname; its IPC namespace is joined only
    // when the plugin's filter refuses every System V IPC and message queue call.
    if (plan.uts_fd >= 0 && ::syscall(SYS_setns, plan.uts_fd, CLONE_NEWUTS) != 0) {
        *error = errno;
        return JoinFailure::JoinUts;
    }
    if (plan.ipc_fd >= 0 && ::syscall(SYS_setns, plan.ipc_fd, CLONE_NEWIPC) != 0) {
        *error = errno;
        return JoinFailure::JoinIpc;
    }
    if (::syscall(SYS_setns, plan.template_fd, CLONE_NEWNS) != 0) {
        *error = errno;
        return JoinFailure::Join;
    }
    // Its own copy (a few mounts, none of the host's) only when it could change a mount.
    if (plan.private_mount_copy && ::syscall(SYS_unshare, CLONE_NEWNS) != 0) {
        *error = errno;
        return JoinFailure::Copy;
    }
    if ((plan.clone_flags & CLONE_NEWUTS) != 0 && ::syscall(SYS_sethostname, kHostname, sizeof kHostname - 1) != 0) {
        *error = errno;
        return JoinFailure::Hostname;
    }
    return JoinFailure::None;
}

} // namespace airlock::host::detail
