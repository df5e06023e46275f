// Probes which confinement layers the running kernel provides.
#include "airlock/host/isolation_layers.hpp"
#include "airlock/host/direct_clone.hpp"

#include "airlock/host/landlock_ruleset.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>
#include <utility>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace airlock::host {

namespace {

std::string errno_text(const char* call, int error) {
    return std::string(call) + ": " + strerrordesc_np(error) + " (" + strerrorname_np(error) + ")";
}

// SECCOMP_GET_ACTION_AVAIL answers without installing anything.
int seccomp_action_error(std::uint32_t action) {
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0) return 0;
    return errno;
}

LayerAvailability probe_seccomp() {
    // PR_GET_SECCOMP fails with EINVAL when the kernel lacks CONFIG_SECCOMP.
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) return {false, errno_text("prctl(PR_GET_SECCOMP)", errno)};
    for (auto [action, name] : {std::pair{SECCOMP_RET_KILL_PROCESS, "KILL_PROCESS"},
                                std::pair{SECCOMP_RET_ERRNO, "ERRNO"}}) {
        if (int error = seccomp_action_error(action))
            return {false, errno_text((std::string("seccomp(GET_ACTION_AVAIL ") + name + ")").c_str(), error)};
    }
    return {true, "filter mode with KILL_PROCESS and ERRNO"};
}

LayerAvailability probe_user_notification() {
    if (int error = seccomp_action_error(SECCOMP_RET_USER_NOTIF))
        return {false, errno_text("seccomp(GET_ACTION_AVAIL USER_NOTIF)", error)};
    seccomp_notif_sizes sizes{};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
        return {false, errno_text("seccomp(GET_NOTIF_SIZES)", errno)};
    return {true, "violations are observed by the host"};
}

LayerAvailability probe_no_new_privs() {
    int state = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (state < 0) return {false, errno_text("prctl(PR_GET_NO_NEW_PRIVS)", errno)};
    return {true, state ? "already set for the host" : "settable"};
}

// Whether a child can be started in new namespaces: the only reliable answer is to try
// (capabilities, user-namespace policy and LSMs all play a part). Done once per process.
// A host that is not root tries again inside a user namespace (user_namespace.hpp); root
// never does, so a root host's plugin never runs as root in a namespace of its own.
struct NamespaceProbe {
    LayerAvailability availability;
    bool in_user_namespace = false;
};

// In a new user namespace: what each launch's child does first (child_user_namespace.cpp),
// so a host whose child could not map its ids falls back or refuses at the probe already.
struct OwnIdMaps {
    char uid_map[32];
    char gid_map[32];
    const char* failed = nullptr;  // the file that could not be written
    int error = 0;
};

__attribute__((no_sanitize("address", "undefined", "thread"))) int write_own_file(const char* path, const char* text) {
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    std::size_t length = 0;
    while (text[length] != '\0') ++length;
    const long written = syscall(SYS_write, fd, text, length);
    int error = written < 0 ? errno : (written == static_cast<long>(length) ? 0 : EIO);
    syscall(SYS_close, fd);
    return error;
}

__attribute__((no_sanitize("address", "undefined", "thread"))) int map_own_ids_and_exit(void* argument) {
    auto* maps = static_cast<OwnIdMaps*>(argument);
    const char* files[3] = {"/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map"};
    const char* texts[3] = {"deny", maps->uid_map, maps->gid_map};
    for (int i = 0; i < 3 && maps->error == 0; ++i) {
        maps->error = write_own_file(files[i], texts[i]);
        if (maps->error != 0) maps->failed = files[i];
    }
    syscall(SYS_exit, 0);
    return 0;
}

// The probe's namespaces, kept for the first private root (take_probed_namespaces).
std::mutex probed_mutex;
ProbedNamespaces probed;
pid_t probed_by = 0;  // a forked process's copies name its parent's namespaces: not for it

void close_probed(ProbedNamespaces& namespaces) noexcept {
    for (int* fd : {&namespaces.mount, &namespaces.network, &namespaces.uts, &namespaces.ipc}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
}

// CLONE_FILES: the descriptors land in the host's table; one that cannot be opened stays -1
// (the private root then makes that namespace itself). Raw system calls only (see above).
__attribute__((no_sanitize("address", "undefined", "thread"))) int keep_namespaces_and_exit(void* argument) {
    auto* kept = static_cast<ProbedNamespaces*>(argument);
    const char* const paths[] = {"/proc/self/ns/mnt", "/proc/self/ns/net", "/proc/self/ns/uts", "/proc/self/ns/ipc"};
    int* const fds[] = {&kept->mount, &kept->network, &kept->uts, &kept->ipc};
    for (int i = 0; i < 4; ++i) {
        const long opened = syscall(SYS_openat, AT_FDCWD, paths[i], O_RDONLY | O_CLOEXEC);
        *fds[i] = opened < 0 ? -1 : static_cast<int>(opened);
    }
    syscall(SYS_exit, 0);
    return 0;
}

int clone_error(unsigned long flags, int (*child)(void*), void* argument) {
    alignas(16) static char stack[16 * 1024];
    // CLONE_VM|CLONE_VFORK: no copy of this process; the child exits at once.
    pid_t pid = detail::direct_clone()(child, stack + sizeof stack,
                                       static_cast<int>(CLONE_VM | CLONE_VFORK | flags) | SIGCHLD, argument);
    if (pid < 0) return errno;
    int status = 0;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
    }
    return 0;
}

// The capability a root host's launch needs beyond creating namespaces: joining the kept
// template's mount namespace (setns) takes CAP_SYS_CHROOT as well as CAP_SYS_ADMIN, and a
// host whose capabilities were bounded (a systemd unit's CapabilityBoundingSet=) may have the
// one without the other. Empty when the effective set has both.
std::string missing_join_capability() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &header, data) != 0) return errno_text("capget", errno);
    const auto effective = [&](int capability) { return (data[capability / 32].effective >> (capability % 32)) & 1u; };
    if (!effective(CAP_SYS_ADMIN)) return "the host lacks CAP_SYS_ADMIN";
    if (!effective(CAP_SYS_CHROOT)) return "the host lacks CAP_SYS_CHROOT, which joining a mount namespace (setns) needs";
    return {};
}

const NamespaceProbe& probe_namespaces() {
    static const NamespaceProbe result = [] {
        const char* layers = "mount (tmpfs root), network (no interfaces), uts, ipc, pid (airlock-pid-init as pid 1)";
        // The child keeps its namespaces open: made once, and used (not thrown away). Nor
        // does the host wait, as the child exits, for its copy of the mount table to go.
        ProbedNamespaces kept;
        const int error = clone_error(kNamespaceCloneFlags | CLONE_FILES, keep_namespaces_and_exit, &kept);
        if (error == 0) {
            if (const std::string missing = missing_join_capability(); !missing.empty()) {
                close_probed(kept);
                return NamespaceProbe{{false, missing}, false};
            }
            std::lock_guard lock(probed_mutex);
            probed = kept;
            probed_by = ::getpid();
            return NamespaceProbe{{true, layers}, false};
        }
        std::string detail = errno_text("clone(CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID)", error);
        if (geteuid() == 0) return NamespaceProbe{{false, detail}, false};
        // The launch child writes its own /proc/self/uid_map; a non-dumpable process's /proc
        // files belong to root (a host that changed its uid without executing since).
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) {
            return NamespaceProbe{{false, detail + "; the host is not root and not dumpable, so it cannot map its "
                                                   "uid in a user namespace (prctl PR_SET_DUMPABLE)"},
                                  false};
        }
        OwnIdMaps maps;
        std::snprintf(maps.uid_map, sizeof maps.uid_map, "%u %u 1\n", geteuid(), geteuid());
        std::snprintf(maps.gid_map, sizeof maps.gid_map, "%u %u 1\n", getegid(), getegid());
        const int user_error = clone_error(kNamespaceCloneFlags | CLONE_NEWUSER, map_own_ids_and_exit, &maps);
        if (user_error == 0 && maps.error != 0) {
            return NamespaceProbe{{false, detail + "; in a user namespace: " +
                                              errno_text((std::string("writing ") + maps.failed).c_str(), maps.error)},
                                  false};
        }
        if (user_error == 0) {
            return NamespaceProbe{{true, std::string(layers) + "; in a user namespace, the host's uid mapped to itself"},
                                  true};
        }
        detail = errno_text("clone(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID)",
                            user_error) +
                 "; the host is not root and cannot create a user namespace (user.max_user_namespaces, "
                 "or a policy that forbids them)";
        return NamespaceProbe{{false, detail}, false};
    }();
    return result;
}

} // namespace

// With CLONE_NEWPID the launch child becomes pid 1 of the plugin's PID namespace and executes
// airlock-pid-init, which forwards signals and reports the plugin's exit (docs/sandbox.md,
// "PID namespace").
const unsigned long kNamespaceCloneFlags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;

namespace {

// The kept namespaces, unless this process is a fork of the one that probed (its parent may
// build its private root in them, so the copies are closed here instead).
ProbedNamespaces& probed_here() noexcept {
    if (probed_by != ::getpid()) close_probed(probed);
    return probed;
}

} // namespace

int take_probed_network_namespace() noexcept {
    std::lock_guard lock(probed_mutex);
    return std::exchange(probed_here().network, -1);
}

ProbedNamespaces take_probed_namespaces() noexcept {
    std::lock_guard lock(probed_mutex);
    return std::exchange(probed_here(), ProbedNamespaces{});
}

void release_probed_namespaces() noexcept {
    ProbedNamespaces unused = take_probed_namespaces();
    close_probed(unused);
}

const LayerAvailability& IsolationLayers::of(IsolationLayer layer) const noexcept {
    switch (layer) {
    case IsolationLayer::Seccomp: return seccomp;
    case IsolationLayer::Landlock: return landlock;
    case IsolationLayer::NoNewPrivs: return no_new_privs;
    case IsolationLayer::Namespaces: return namespaces;
    }
    return seccomp;
}

IsolationLayers probe_isolation_layers() {
    IsolationLayers layers;
    layers.seccomp = probe_seccomp();
    layers.seccomp_user_notification =
        layers.seccomp.available ? probe_user_notification() : LayerAvailability{false, "seccomp is unavailable"};
    if (auto abi = landlock_abi_version()) {
        layers.landlock_abi = *abi;
        std::string detail = "ABI " + std::to_string(*abi);
        if (*abi < 4) detail += " (no TCP restriction: ABI 4 needed)";
        if (*abi < 6) detail += " (no abstract UNIX socket / signal scoping: ABI 6 needed)";
        layers.landlock = {true, detail};
    } else {
        layers.landlock = {false, abi.status().message()};
    }
    layers.no_new_privs = probe_no_new_privs();
    layers.namespaces = probe_namespaces().availability;
    layers.namespaces_in_user_namespace = probe_namespaces().in_user_namespace;
    return layers;
}

std::string_view isolation_layer_name(IsolationLayer layer) noexcept {
    switch (layer) {
    case IsolationLayer::Seccomp: return "seccomp";
    case IsolationLayer::Landlock: return "landlock";
    case IsolationLayer::NoNewPrivs: return "no-new-privs";
    case IsolationLayer::Namespaces: return "namespaces";
    }
    return "unknown";
}

Status check_required_layers(const IsolationLayers& layers, const std::set<IsolationLayer>& required) {
    std::string message;
    for (IsolationLayer layer : required) {
        const auto& availability = layers.of(layer);
        if (availability.available) continue;
        if (!message.empty()) message += "; ";
        message += "required isolation layer ";
        message += isolation_layer_name(layer);
        message += " is unavailable: " + availability.detail;
    }
    if (message.empty()) return {};
    return Status(StatusCode::Unsupported, message);
}

std::string describe_isolation_layers(const IsolationLayers& layers) {
    auto line = [](std::string_view name, const LayerAvailability& a) {
        return std::string(name) + ": " + (a.available ? "available" : "UNAVAILABLE") + " (" + a.detail + ")\n";
    };
    return line("seccomp", layers.seccomp) + line("seccomp user notification", layers.seccomp_user_notification) +
           line("landlock", layers.landlock) + line("no-new-privs", layers.no_new_privs) +
           line("namespaces", layers.namespaces);
}

} // namespace airlock::host
