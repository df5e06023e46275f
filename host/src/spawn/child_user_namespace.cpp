// The child side of the namespaces layer in a user namespace: raw system calls only.
#include "child_user_namespace.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {
namespace {

std::size_t text_length(const char* text) {
    std::size_t length = 0;
    while (text[length] != '\0') ++length;
    return length;
}

// The host's /proc is still the child's at this point (the root is built afterwards), and
// "self" there names the child as the host sees it.
int write_own_file(const char* path, const char* text) {
    long fd = ::syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const std::size_t length = text_length(text);
    // Each of these files takes its whole content in one write.
    long written = ::syscall(SYS_write, fd, text, length);
    int error = written < 0 ? errno : (static_cast<std::size_t>(written) != length ? EIO : 0);
    ::syscall(SYS_close, fd);
    return error;
}

} // namespace

UserNamespaceFailure child_enter_user_namespace(const NamespaceChildPlan& plan) noexcept {
    using Stage = UserNamespaceFailure::Stage;
    // An unprivileged gid_map needs setgroups denied first: otherwise the plugin could drop
    // a supplementary group that a file denies access to.
    if (int error = write_own_file("/proc/self/setgroups", "deny")) return {Stage::DenySetgroups, error, {}};
    if (int error = write_own_file("/proc/self/uid_map", plan.uid_map)) return {Stage::UidMap, error, {}};
    if (int error = write_own_file("/proc/self/gid_map", plan.gid_map)) return {Stage::GidMap, error, {}};
    NamespaceFailure root = child_enter_private_root(plan);
    if (root.stage != NamespaceFailure::Stage::None) return {Stage::PrivateRoot, root.error, root};
    return {};
}

} // namespace airlock::host::detail
