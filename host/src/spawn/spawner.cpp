// Spawner: prepares once per config, launches one confined process per call.
#include <airlock/host/spawner.hpp>

#include "child_launch.hpp"
#include "confinement.hpp"
#include "cgroup_plan.hpp"
#include "namespace_plan.hpp"
#include "namespace_template.hpp"
#include "user_namespace.hpp"
#include "dynamic_user.hpp"
#include "leftover_sweep.hpp"
#include "script_launch.hpp"
#include "listener_receiver_thread.hpp"
#include "pid_init_image.hpp"
#include "spawner_internals.hpp"
#include "standby_thread.hpp"

#include <airlock/host/inherited_stdio.hpp>
#include <airlock/host/isolation_layers.hpp>
#include <airlock/host/launch_lstat_answers.hpp>
#include <airlock/host/no_follow_open.hpp>
#include <airlock/host/open_file_limit.hpp>

#include <airlock/host/violation_monitor.hpp>

#include <fcntl.h>
#include <linux/ioctl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <array>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <fstream>

namespace airlock::host {
namespace {

using detail::ChildFailure;
using detail::ChildPlan;
using detail::ChildStep;
using detail::DescriptorMove;
using detail::ResourceLimitSetting;

// How long the receiving thread waits for the child to name its seccomp listener, counted
// from before the clone (the child's whole setup comes first). A child that dies first ends
// the wait at once (end of stream); this only bounds a stray copy of the child's socket end.
constexpr int kListenerTimeoutMs = 30000;
// How long a released standby child may take to execute before it is killed and the start
// runs cold (it needs microseconds; only a stopped or starved child takes longer).
constexpr std::chrono::milliseconds kStandbyExecLimit{1000};
constexpr std::size_t kPidDigitsCapacity = 21;  // 20 digits + NUL
constexpr const char* kListenPidPrefix = "LISTEN_PID=";

// The calls that reach objects of an IPC namespace (System V IPC, POSIX message queues).
const std::array<const char*, 18> kIpcNamespaceSyscalls = {
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
    "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr"};

const std::array<const char*, 5> kReservedEnvironment = {
    "AIRLOCK_PLUGIN_NAME", "AIRLOCK_CONNECTION_FD", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"};

std::string system_message(int error_number) { return std::strerror(error_number); }

const char* resource_name(int resource) noexcept {
    switch (resource) {
    case RLIMIT_AS: return "RLIMIT_AS (memory)";
    case RLIMIT_CPU: return "RLIMIT_CPU (cpu)";
    case RLIMIT_NOFILE: return "RLIMIT_NOFILE (open_files)";
    case RLIMIT_NPROC: return "RLIMIT_NPROC (processes)";
    case RLIMIT_FSIZE: return "RLIMIT_FSIZE (file_size)";
    case RLIMIT_CORE: return "RLIMIT_CORE";
    case RLIMIT_RTPRIO: return "RLIMIT_RTPRIO";
    case RLIMIT_NICE: return "RLIMIT_NICE";
    case RLIMIT_MEMLOCK: return "RLIMIT_MEMLOCK";
    }
    return "a resource limit";
}

// Caps a requested limit at the host's hard limit: without CAP_SYS_RESOURCE the child
// could not raise it, and a limit above the hard one would not limit anything more.
rlim_t capped(std::uint64_t requested, const rlimit& current) {
    rlim_t value = static_cast<rlim_t>(requested);
    if (current.rlim_max != RLIM_INFINITY) value = std::min(value, current.rlim_max);
    return value;
}

void add_limit(std::vector<ResourceLimitSetting>& out, int resource, std::uint64_t soft, std::uint64_t hard) {
    rlimit current{};
    ::getrlimit(resource, &current);
    ResourceLimitSetting setting;
    setting.resource = resource;
    setting.value.rlim_cur = capped(soft, current);
    setting.value.rlim_max = capped(hard, current);
    out.push_back(setting);
}

// Whether the plugin may lock memory with @memlock's calls, which lock up to RLIMIT_MEMLOCK:
// its allowlist has one, or on_violation = "log" (and "learn") lets them run and be recorded.
bool allows_memory_locking(const SyscallPolicy& policy) {
    if (policy.on_violation == ViolationAction::Log) return true;
    for (const char* call : {"mlock", "mlock2", "mlockall"})
        if (policy.allowed.count(call) != 0) return true;
    return false;
}

std::vector<ResourceLimitSetting> resolve_limits(const Limits& limits, const SyscallPolicy& policy,
                                                 bool seccomp_applied) {
    std::vector<ResourceLimitSetting> out;
    if (limits.memory_bytes) add_limit(out, RLIMIT_AS, *limits.memory_bytes, *limits.memory_bytes);
    // SIGXCPU at the limit, SIGKILL one second later if the plugin ignores it.
    if (limits.cpu_seconds) add_limit(out, RLIMIT_CPU, *limits.cpu_seconds, *limits.cpu_seconds + 1);
    if (limits.open_files) add_limit(out, RLIMIT_NOFILE, *limits.open_files, *limits.open_files);
    // Without a configured limit: the one the host was started with, not the host's raised one.
    else if (const rlimit started = inherited_open_file_limit(); started.rlim_cur != current_open_file_soft_limit())
        add_limit(out, RLIMIT_NOFILE, started.rlim_cur, started.rlim_max);
    // RLIMIT_NPROC counts threads too, so NPROC=1 would forbid threads; "processes = 1"
    // (threads only) is the seccomp filter's job when there is one.
    if (limits.processes && !(*limits.processes == 1 && seccomp_applied)) {
        add_limit(out, RLIMIT_NPROC, *limits.processes, *limits.processes);
    }
    if (limits.file_size_bytes) add_limit(out, RLIMIT_FSIZE, *limits.file_size_bytes, *limits.file_size_bytes);
    // No core dumps: a core would copy granted data to wherever the host's core_pattern says.
    add_limit(out, RLIMIT_CORE, 0, 0);
    // No way back to a real-time policy or a negative nice value the child gave up
    // (child_inherited_state.hpp), whatever the host's own limits would allow.
    add_limit(out, RLIMIT_RTPRIO, 0, 0);
    add_limit(out, RLIMIT_NICE, 0, 0);
    // Locking memory needs no @memlock call: mmap(MAP_LOCKED), SysV SHM_LOCK and zero-copy
    // sends pin pages up to RLIMIT_MEMLOCK too. Only a plugin allowed @memlock keeps the host's.
    if (!allows_memory_locking(policy)) add_limit(out, RLIMIT_MEMLOCK, 0, 0);
    return out;
}

bool valid_fd_name(const std::string& name) {
    if (name.empty() || name.size() > 255) return false;
    return std::none_of(name.begin(), name.end(), [](char c) {
        return c == ':' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
}

UniqueFd open_or_throw(const std::string& plugin, const char* path, int flags) {
    UniqueFd fd(::open(path, flags));
    if (!fd) throw SpawnError("plugin '" + plugin + "': cannot open " + path + ": " + system_message(errno));
    return fd;
}

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

Pipe make_output_pipe(const std::string& plugin) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw SpawnError("plugin '" + plugin + "': cannot create a pipe: " + system_message(errno));
    }
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    // Only the host's end is non-blocking; the plugin gets an ordinary blocking pipe.
    ::fcntl(pipe.read_end.get(), F_SETFL, O_NONBLOCK);
    return pipe;
}

std::pair<UniqueFd, UniqueFd> make_socketpair(const std::string& plugin, const char* what) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
        throw SpawnError("plugin '" + plugin + "': cannot create the " + what + " socketpair: " +
                         system_message(errno));
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Builds a NULL-terminated char* array over strings that stay alive and unmoved.
std::vector<char*> pointer_array(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (auto& text : strings) pointers.push_back(text.data());
    pointers.push_back(nullptr);
    return pointers;
}

std::string describe_failure(const PluginConfig& plugin, const ChildFailure& report) {
    auto step = static_cast<ChildStep>(report.step);
    std::string message = "plugin '" + plugin.name + "': cannot start: ";
    if (step == ChildStep::Exec) {
        message += "executing " + plugin.executable;
    } else if (step == ChildStep::ResourceLimit) {
        message += std::string("setting ") + resource_name(report.detail);
    } else {
        message += std::string("the child could not ") + detail::child_step_description(step);
    }
    message += " failed: " + system_message(report.error);
    return message;
}

// The uid/gid to drop to when the host runs as root.
struct TargetUser {
    bool drop_privileges = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

TargetUser resolve_user(const PluginConfig& plugin) {
    if (::geteuid() != 0) return {};  // nothing to drop to: the plugin runs as the host's user
    const std::string& name = plugin.name;
    if (!plugin.user || plugin.user->empty()) {
        throw SpawnError("plugin '" + name + "': the host runs as root and no `user` is configured "
                         "to run the plugin as (set [sandbox] user, e.g. \"nobody\")");
    }
    if (plugin.user_id && plugin.group_id) {
        // Resolved when the config was loaded.
        if (*plugin.user_id == 0) {
            throw SpawnError("plugin '" + name + "': user '" + *plugin.user + "' is root; plugins never run as root");
        }
        return {true, static_cast<uid_t>(*plugin.user_id), static_cast<gid_t>(*plugin.group_id)};
    }
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    int error = ::getpwnam_r(plugin.user->c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
        throw SpawnError("plugin '" + name + "': user '" + *plugin.user + "' " +
                         (error != 0 ? "cannot be looked up: " + system_message(error) : "does not exist"));
    }
    if (found->pw_uid == 0) {
        throw SpawnError("plugin '" + name + "': user '" + *plugin.user +
                         "' is root; plugins never run as root");
    }
    return {true, found->pw_uid, found->pw_gid};
}

// The seccomp listener the child handed over, if the filter uses one.
UniqueFd receive_listener(const std::string& plugin, detail::PendingListener& receiver) {
    auto listener = receiver.take();
    if (!listener) {
        throw SpawnError("plugin '" + plugin + "': cannot receive the seccomp listener: " + listener.status().message());
    }
    return std::move(*listener);
}

// Whether every process of the plugin is refused every IPC-namespace call by its seccomp
// filter (a violation is never let through: not "log", not learn mode). Then its launches
// can share one IPC namespace, as they share the empty network namespace: there is nothing
// in it they could create, see or leave behind for the next start.
bool cannot_use_ipc_objects(const PluginConfig& plugin, bool seccomp_applied) {
    if (!seccomp_applied || plugin.syscalls.learn || plugin.syscalls.on_violation == ViolationAction::Log) return false;
    return std::none_of(kIpcNamespaceSyscalls.begin(), kIpcNamespaceSyscalls.end(),
                        [&](const char* name) { return plugin.syscalls.allowed.count(name) != 0; });
}

// PIDFD_GET_INFO (kernel 6.13; the headers here are older): the process's pids as the
// caller sees them, ESRCH once it has been reaped.
struct PidfdInfo {
    std::uint64_t mask = 0;
    std::uint64_t cgroup_id = 0;
    std::uint32_t pid = 0, tgid = 0, ppid = 0;
    std::uint32_t ids[8] = {};  // ruid ... fsgid
    std::uint32_t spare = 0;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

// A pidfd for `pid` if it is still a child of `parent` (the PID namespace's init), else
// none. The init may already have reaped it; the pid is only trusted while the pidfd shows
// the process still exists, so a reused pid is never mistaken for it.
UniqueFd open_child_pidfd(pid_t pid, pid_t parent) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return {};
    // One ioctl where the kernel has it (ESRCH when the process is gone)...
    PidfdInfo info;
    if (::ioctl(pidfd.get(), kPidfdGetInfo, &info) == 0) {
        return static_cast<pid_t>(info.ppid) == parent ? std::move(pidfd) : UniqueFd();
    }
    if (errno == ESRCH) return {};
    // ...else its status file.
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    bool child = false;
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("PPid:", 0) == 0) child = std::strtol(line.c_str() + 5, nullptr, 10) == parent;
    }
    if (!child || ::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0) return {};
    return pidfd;
}

// The host's /proc and its own pidfd, which every launch into a PID namespace hands to its
// child: opened once per process (again after a fork), like the init's memfd.
struct HostHandles {
    int proc = -1;
    int pidfd = -1;
};

HostHandles host_handles(const std::string& plugin) {
    static std::mutex mutex;
    static pid_t owner = 0;
    static UniqueFd proc, pidfd;
    std::lock_guard lock(mutex);
    if (owner != ::getpid()) {
        UniqueFd new_proc = open_or_throw(plugin, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        UniqueFd new_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
        if (!new_pidfd) throw SpawnError("plugin '" + plugin + "': cannot open the host's own pidfd: " + system_message(errno));
        proc = std::move(new_proc);
        pidfd = std::move(new_pidfd);
        owner = ::getpid();
    }
    return {proc.get(), pidfd.get()};
}

// What a launch into a PID namespace needs besides the child plan (child_launch.hpp).
struct PidNamespaceLaunch {
    UniqueFd status_read;   ///< the init reports the plugin's wait status here
    UniqueFd status_write;
    pid_t plugin_pid = 0;   ///< written by the plugin's child side

    void prepare(const std::string& plugin, detail::PidInitPlan& plan) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw SpawnError("plugin '" + plugin + "': cannot create the exit-status pipe: " + system_message(errno));
        }
        status_read.reset(fds[0]);
        status_write.reset(fds[1]);
        ::fcntl(status_read.get(), F_SETFL, O_NONBLOCK);
        const HostHandles host = host_handles(plugin);
        plan.image_fd = detail::pid_init_image_fd();
        plan.status_fd = status_write.get();
        plan.host_proc_fd = host.proc;
        plan.host_pidfd = host.pidfd;
        plan.plugin_pid_in_host = &plugin_pid;
        plan.clone = detail::direct_clone();
        plan.plugin_stack_top = detail::plugin_stack_top();
    }
};

} // namespace

static bool standby_possible(const Spawner::Prepared& p);

/// The standby of one Spawner, shared with the reap hooks of its processes.
struct Spawner::StandbySlot {
    std::mutex mutex;
    const Prepared* owner = nullptr;  ///< null once the Spawner is gone
    std::unique_ptr<Standby> standby;
    std::weak_ptr<StandbySlot> self;
    void refill();
    ~StandbySlot();
};

struct Spawner::Prepared {
    PluginConfig plugin;
    detail::PreparedConfinement confinement;
    detail::CgroupPlan cgroups;
    /// The private root, built once and rebuilt when what it binds changed.
    std::unique_ptr<detail::NamespaceTemplateCache> namespace_root = std::make_unique<detail::NamespaceTemplateCache>();
    std::vector<ResourceLimitSetting> limits;
    /// Launches join the template's IPC namespace instead of creating one (cannot_use_ipc_objects).
    bool share_ipc_namespace = false;
    /// Launches join the template's mount namespace without a private copy: the plugin runs
    /// under Landlock (which refuses every mount, umount, pivot_root and move_mount) or
    /// without root's capabilities, and its init keeps only CAP_KILL, so nothing it runs can
    /// change a mount there.
    bool share_mount_namespace = false;
    bool drop_privileges = false;
    uid_t uid = 0;
    gid_t gid = 0;
    /// With `dynamic_user` (root host): the uid held for this plugin while the Spawner lives.
    std::optional<detail::DynamicUser> dynamic_user;
    /// Its launches' count, when they may leave something behind (forked processes without a
    /// PID namespace, IPC objects in the host's IPC namespace): swept after the last reap
    /// (leftover_sweep.hpp).
    std::shared_ptr<detail::UidProcesses> uid_processes;
    SpawnerUse use = SpawnerUse::Launches;
    /// Where the standby child waits (standby_possible); null when there is none.
    std::shared_ptr<StandbySlot> standby_slot;
    ~Prepared();
};

Spawner::Spawner(PluginConfig plugin, SpawnerUse use) : prepared_(std::make_unique<Prepared>()) {
    Prepared& p = *prepared_;
    p.plugin = std::move(plugin);
    const std::string& name = p.plugin.name;

    for (const char* reserved : kReservedEnvironment) {
        if (p.plugin.env.count(reserved) != 0) {
            throw SpawnError("plugin '" + name + "': env sets " + reserved +
                             ", which the host sets itself; remove it from the config");
        }
    }
    for (const auto& [key, value] : p.plugin.env) {
        if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos ||
            value.find('\0') != std::string::npos) {
            throw SpawnError("plugin '" + name + "': environment variable '" + key +
                             "' cannot be passed on (empty, or contains '=' or NUL)");
        }
    }
    if (p.plugin.protocol == PluginProtocol::None) {
        for (const auto& grant : p.plugin.grants) {
            if (!valid_fd_name(grant.name)) {
                throw SpawnError("plugin '" + name + "': grant name '" + grant.name +
                                 "' cannot be listed in LISTEN_FDNAMES (1-255 printable characters, no ':')");
            }
        }
    }

    p.confinement = detail::PreparedConfinement::prepare(p.plugin);
    for (IsolationLayer required : p.plugin.required_layers) {
        for (const auto& layer : p.confinement.layers()) {
            if (layer.layer == required && !layer.applied) {
                throw SpawnError("plugin '" + name + "': required isolation layer '" +
                                 std::string(isolation_layer_name(required)) + "' is unavailable: " + layer.reason);
            }
        }
    }
    if (p.plugin.namespaces == NamespacesMode::Require && p.confinement.namespace_flags() == 0) {
        throw SpawnError("plugin '" + name + "': namespaces = \"require\" but private namespaces are unavailable: " +
                         p.confinement.layers().back().reason);
    }
    // The PID namespace's init is made once per host; a host that cannot make it refuses here.
    if ((p.confinement.namespace_flags() & CLONE_NEWPID) != 0) {
        detail::pid_init_image_fd();
        host_handles(name);
    }
    p.cgroups = detail::CgroupPlan::prepare(p.plugin, use);
    p.limits = resolve_limits(p.plugin.limits, p.plugin.syscalls, p.confinement.seccomp_applied());
    TargetUser user{};
    if (p.plugin.dynamic_user && ::geteuid() == 0) {
        // A uid no other plugin (of any host) shares, so none of the per-user kernel limits is.
        p.dynamic_user = detail::DynamicUser::allocate(name, use != SpawnerUse::Describe);
        user = {true, p.dynamic_user->uid(), static_cast<gid_t>(p.dynamic_user->uid())};
        // Leftover processes need one that may fork (its filter refuses it with processes =
        // 1) and no PID namespace (whose end takes every process in it); leftover IPC objects
        // need the calls and no IPC namespace (one per launch when the calls are allowed).
        const std::optional<std::uint64_t>& processes = p.plugin.limits.processes;
        const bool threads_only = processes && *processes <= 1 && p.confinement.seccomp_applied();
        const bool may_fork = !threads_only && (p.confinement.namespace_flags() & CLONE_NEWPID) == 0;
        const bool shares_host_ipc = (p.confinement.namespace_flags() & CLONE_NEWIPC) == 0 &&
                                     !cannot_use_ipc_objects(p.plugin, p.confinement.seccomp_applied());
        if (may_fork || shares_host_ipc) {
            UniqueFd lock(::fcntl(p.dynamic_user->lock_fd(), F_DUPFD_CLOEXEC, 3));
            if (!lock) throw SpawnError("plugin '" + name + "': cannot duplicate its uid's lock: " + std::strerror(errno));
            p.uid_processes = std::make_shared<detail::UidProcesses>(p.dynamic_user->uid(), std::move(lock), may_fork,
                                                                     shares_host_ipc);
        }
    } else {
        user = resolve_user(p.plugin);
    }
    p.drop_privileges = user.drop_privileges;
    p.uid = user.uid;
    p.gid = user.gid;
    p.share_ipc_namespace = cannot_use_ipc_objects(p.plugin, p.confinement.seccomp_applied());
    p.share_mount_namespace = p.confinement.landlock_applied() || p.drop_privileges;
    p.use = use;
    if (standby_possible(p)) {
        p.standby_slot = std::make_shared<StandbySlot>();
        p.standby_slot->owner = &p;
        p.standby_slot->self = p.standby_slot;
    }
}


Spawner::Spawner(Spawner&&) noexcept = default;
Spawner& Spawner::operator=(Spawner&&) noexcept = default;
Spawner::~Spawner() = default;

const PluginConfig& Spawner::plugin() const noexcept { return prepared_->plugin; }
const std::vector<LayerStatus>& Spawner::layers() const noexcept { return prepared_->confinement.layers(); }
const MemoryEnforcement& Spawner::memory_enforcement() const noexcept { return prepared_->cgroups.memory(); }
const CgroupEnforcement& Spawner::tasks_enforcement() const noexcept { return prepared_->cgroups.tasks(); }
const CgroupEnforcement& Spawner::cpu_enforcement() const noexcept { return prepared_->cgroups.cpu(); }

const detail::PreparedConfinement& detail::SpawnerInternals::confinement(const Spawner& spawner) noexcept {
    return spawner.prepared_->confinement;
}

namespace {

// What every start checks afresh, cold or from a standby child (issue 9: the executable and
// its trust, the grants, the namespace root's inputs, the Landlock ruleset's paths).
struct StartChecks {
    UniqueFd exe;
    struct stat exe_identity {};
    std::optional<detail::ScriptInterpreter> script;
    std::vector<OpenedGrant> grants;
    std::shared_ptr<const detail::NamespaceTemplate> root;
    detail::NamespacePlan own_root;  // a host that is not root: the child builds it (user_namespace.hpp)
    std::shared_ptr<const UniqueFd> landlock_ruleset;
};

// Everything a child plan points into, on the heap so that it stays put while a standby
// child waits in the host's memory.
struct LaunchState {
    StartChecks checks;
    UniqueFd dev_null;
    Pipe in, out, err;
    bool append_only_output = false;
    UniqueFd handoff_host, handoff_child;
    UniqueFd connection_host, connection_child;
    std::unique_ptr<detail::LaunchCgroup> cgroups;
    std::unique_ptr<detail::UidHold> uid_hold;  ///< with Prepared::uid_processes
    std::string memory_cgroup_path, pids_cgroup_path, cpu_cgroup_path;
    std::vector<DescriptorMove> moves;
    std::vector<int> scratch;
    std::vector<std::string> arguments, environment;
    std::vector<char*> argv, envp;
    ChildFailure failure;
    ChildPlan plan;
    PidNamespaceLaunch pid_namespace;

    // Close the parent's copies of the child's ends so end-of-stream can be seen.
    void close_child_ends(bool airlock_protocol) {
        pid_namespace.status_write.reset();
        handoff_child.reset();
        in.read_end.reset();
        out.write_end.reset();
        err.write_end.reset();
        connection_child.reset();
        if (!airlock_protocol) checks.grants.clear();
    }

    // The process, owning its cgroups from here (removed once it has been reaped). With a
    // PID namespace the pidfd is its init's and the pid the plugin's own (as the host sees it).
    PluginProcess make_process(detail::LaunchedChild& child, std::unique_ptr<ProcessResources> resources) {
        const pid_t plugin_pid = pid_namespace.plugin_pid > 0 ? pid_namespace.plugin_pid : child.pid;
        UniqueFd plugin_pidfd =
            pid_namespace.plugin_pid > 0 ? open_child_pidfd(pid_namespace.plugin_pid, child.pid) : UniqueFd();
        return PluginProcess(plugin_pid, std::move(child.pidfd), std::move(resources), std::move(pid_namespace.status_read),
                             std::move(plugin_pidfd));
    }

    // What the process owns from its launch on: its cgroups, inside its place in the uid's
    // count (the cgroups go first after the reap).
    std::unique_ptr<ProcessResources> take_resources() {
        if (!uid_hold) return std::move(cgroups);
        uid_hold->wrap(std::move(cgroups));
        return std::move(uid_hold);
    }

    SpawnedPlugin spawned(const PluginConfig& plugin, PluginProcess process, UniqueFd listener) {
        SpawnedPlugin result;
        result.name = plugin.name;
        result.process = std::move(process);
        result.connection = std::move(connection_host);
        result.stdout_pipe = std::move(out.read_end);
        result.stderr_pipe = std::move(err.read_end);
        result.stdin_pipe = std::move(in.write_end);
        result.seccomp_listener = std::move(listener);
        result.shares_append_only_output = append_only_output;
        result.memory_cgroup = memory_cgroup_path;
        result.pids_cgroup = pids_cgroup_path;
        result.cpu_cgroup = cpu_cgroup_path;
        if (plugin.protocol == PluginProtocol::Airlock) result.grants_to_send = std::move(checks.grants);
        return result;
    }
};

bool default_options(const LaunchOptions& options) {
    return options.extra_args.empty() && options.stdio[0] < 0 && options.stdio[1] < 0 && options.stdio[2] < 0 &&
           !options.stdin_pipe;
}

} // namespace

/// A standby child: confined, parked before its execveat, released by the next launch
/// whose checks find what it was prepared with (docs/spawning.md, "Standby child").
struct Spawner::Standby {
    pid_t owner = 0;  ///< the process that made it; a fork()ed copy leaves it alone
    std::unique_ptr<detail::StandbyStacks> stacks;  ///< outlives the process below
    std::unique_ptr<LaunchState> state;             ///< likewise
    UniqueFd listener;
    std::shared_ptr<std::atomic<bool>> refill_after_reap;  ///< set at release
    std::unique_ptr<PluginProcess> process;  ///< destroyed first: killed and reaped
    ~Standby() {
        if (owner != ::getpid()) {  // not this process's child: never signal, wait or unmap
            (void)process.release();
            (void)state.release();
            (void)stacks.release();
            (void)listener.release();
        }
        process.reset();
    }
};

Spawner::StandbySlot::~StandbySlot() = default;

Spawner::Prepared::~Prepared() {
    if (!standby_slot) return;
    std::lock_guard lock(standby_slot->mutex);
    standby_slot->owner = nullptr;
    standby_slot->standby.reset();  // killed and reaped; its cgroups removed
}

namespace {

// Wraps a launched process's resources; after its reap, prepares the Spawner's next standby
// (as the cgroup spare is made then), once the process was released from a standby or
// launched cold.
class RefillAfterReap : public ProcessResources {
public:
    RefillAfterReap(std::unique_ptr<ProcessResources> inner, std::weak_ptr<Spawner::StandbySlot> slot,
                    std::shared_ptr<std::atomic<bool>> armed)
        : inner_(std::move(inner)), slot_(std::move(slot)), armed_(std::move(armed)) {}
    void on_reaped(PluginExit& exit) noexcept override {
        if (inner_) inner_->on_reaped(exit);
        inner_.reset();
        if (!armed_->load()) return;
        if (auto slot = slot_.lock()) slot->refill();
    }

private:
    std::unique_ptr<ProcessResources> inner_;
    std::weak_ptr<Spawner::StandbySlot> slot_;
    std::shared_ptr<std::atomic<bool>> armed_;
};

} // namespace

// The checks every start makes: the executable, its trust, the grants, the root, Landlock.
static StartChecks check_start(const Spawner::Prepared& p, bool open_the_grants);
static std::unique_ptr<LaunchState> plan_launch(const Spawner::Prepared& p, const LaunchOptions& options,
                                                StartChecks checks);

static std::unique_ptr<Spawner::Standby> prepare_standby(const Spawner::Prepared& p,
                                                         const std::shared_ptr<Spawner::StandbySlot>& slot) {
    using Standby = Spawner::Standby;
    auto standby = std::make_unique<Standby>();
    standby->owner = ::getpid();
    standby->stacks = std::make_unique<detail::StandbyStacks>();
    // Without the grants: a protocol "airlock" plugin gets them after its hello, from the
    // launch's own checks (opening them here would make a `create` file or connect a socket
    // for a start that may never come).
    StartChecks checks = check_start(p, false);
    if (checks.script) return nullptr;  // a #! script always starts cold
    standby->state = plan_launch(p, LaunchOptions{}, std::move(checks));
    LaunchState& s = *standby->state;
    s.plan.wait_for_release = true;
    if ((s.plan.namespaces.clone_flags & CLONE_NEWPID) != 0) s.plan.pid_init.plugin_stack_top = standby->stacks->plugin_stack_top();
    standby->refill_after_reap = std::make_shared<std::atomic<bool>>(false);
    detail::LaunchedChild child;
    detail::run_on_standby_thread([&] { child = detail::launch_standby_child(s.plan, *standby->stacks); });
    Result<UniqueFd> listener = UniqueFd();
    try {
        // From here the child runs in `s` and the stacks: whatever fails must end it, and
        // wait until its PID namespace is empty, before they are freed.
        if (s.cgroups) s.cgroups->close_join_fds();  // the child has its own copies
        // The child hands its listener over before it parks (having written its pid first);
        // taken here, not by the receiving thread, as this thread does not sleep in a vfork.
        listener = receive_seccomp_listener(s.handoff_host.get(), kListenerTimeoutMs);
        standby->process = std::make_unique<PluginProcess>(
            s.make_process(child, std::make_unique<RefillAfterReap>(s.take_resources(), slot, standby->refill_after_reap)));
    } catch (...) {
        if (child.pidfd) {  // not yet owned by a PluginProcess (whose destructor would do this)
            ::syscall(SYS_pidfd_send_signal, child.pidfd.get(), SIGKILL, nullptr, 0);
            siginfo_t info{};
            while (::waitid(P_PIDFD, static_cast<id_t>(child.pidfd.get()), &info, WEXITED) != 0 && errno == EINTR) {
            }
        }
        throw;
    }
    s.close_child_ends(true);
    if (!listener || s.failure.step != 0 || standby->stacks->exec_done()) return nullptr;  // discarded
    standby->listener = std::move(*listener);
    return standby;
}

void Spawner::StandbySlot::refill() {
    std::lock_guard lock(mutex);
    if (owner == nullptr || standby) return;
    try {
        standby = prepare_standby(*owner, self.lock());
    } catch (...) {
        standby.reset();  // the next launch starts cold and reports what failed
    }
}

static StartChecks check_start(const Spawner::Prepared& p, bool open_the_grants) {
    const PluginConfig& plugin = p.plugin;
    StartChecks checks;
    // The checks below (the executable's trust walk, the Landlock ruleset's paths, the
    // namespace root's inputs) ask each path's lstat once between them; ended after them.
    std::optional<LaunchLstatAnswers> shared_lstat_answers(std::in_place);

    // The executable is opened here, so a missing one is an error before anything starts;
    // never through a link, so a plugin cannot swap in another program for a restart.
    int exe_error = 0;
    auto opened_exe = open_no_follow(plugin.executable, O_PATH, 0, ExpectedType::RegularFile,
                                     "the executable is never reached through a link", &exe_error);
    if (!opened_exe) {
        throw SpawnError("plugin '" + plugin.name + "': cannot start: executable " +
                         (exe_error != 0 ? plugin.executable + ": " + system_message(exe_error)
                                         : opened_exe.status().message()));
    }
    checks.exe = std::move(opened_exe->fd);
    if (::fstat(checks.exe.get(), &checks.exe_identity) != 0)
        throw SpawnError("plugin '" + plugin.name + "': cannot start: executable " + plugin.executable + ": " +
                         system_message(errno));
    // Another local user who could replace it (or a directory on its way) could run their own
    // program with this plugin's grants; the system paths likewise, for its libraries (with
    // Landlock, its ruleset checks them: landlock_ruleset.hpp).
    if (Status trusted = check_only_host_can_change(plugin.executable); !trusted.ok())
        throw SpawnError("plugin '" + plugin.name + "': cannot start: executable " + trusted.message());
    if (!p.confinement.landlock_applied()) {
        for (const std::string& system_path : plugin.system_paths) {
            Status trusted = check_only_host_can_change(system_path);
            if (!trusted.ok() && trusted.code() != StatusCode::NotFound)
                throw SpawnError("plugin '" + plugin.name + "': cannot start: system path " + trusted.message());
        }
    }
    // A #! script: its interpreter is executed on the script's path (script_launch.hpp).
    checks.script = detail::script_interpreter(plugin.executable, plugin.name, writable_directories_of(plugin));

    try {
        // In a private root made as root, a directory grant must not lead back to the host's
        // tree (a host in a user namespace cannot detach mounts: docs/sandbox.md, round 9).
        const unsigned long namespaces = p.confinement.namespace_flags();
        const bool detach = namespaces != 0 && (namespaces & CLONE_NEWUSER) == 0;
        if (open_the_grants) checks.grants = open_grants(plugin.grants, writable_directories_of(plugin), detach);
    } catch (const GrantError& error) {
        throw GrantError("plugin '" + plugin.name + "': " + error.what());
    }
    // A grant with `create` may just have made its file: the checks after it ask afresh.
    if (open_the_grants && std::any_of(plugin.grants.begin(), plugin.grants.end(), [](const GrantConfig& grant) { return grant.create; })) {
        shared_lstat_answers.reset();
        shared_lstat_answers.emplace();
    }

    // Checked per launch, as the Landlock ruleset is: when a system path appeared or a bound
    // file was replaced, the root is planned and built anew.
    if ((p.confinement.namespace_flags() & CLONE_NEWUSER) != 0) {
        detail::PlanInputs inputs;  // planned per launch: nothing is kept to compare with
        checks.own_root = detail::NamespacePlan::prepare(plugin, p.confinement.namespace_flags(), inputs);
    } else if (p.confinement.namespace_flags() != 0) {
        checks.root = p.namespace_root->current(plugin, p.confinement.namespace_flags());
    }
    checks.landlock_ruleset = p.confinement.landlock_ruleset(plugin);
    return checks;  // every path check is done
}

static std::unique_ptr<LaunchState> plan_launch(const Spawner::Prepared& p, const LaunchOptions& options,
                                                StartChecks checks) {
    const PluginConfig& plugin = p.plugin;
    const bool airlock_protocol = plugin.protocol == PluginProtocol::Airlock;
    auto state = std::make_unique<LaunchState>();
    LaunchState& s = *state;
    s.checks = std::move(checks);
    const std::shared_ptr<const detail::NamespaceTemplate>& root = s.checks.root;

    // stdio: the caller's descriptors where given, else /dev/null (or a pipe) and pipes.
    if (const std::string why = stdio_refusal(options.stdio); !why.empty())
        throw SpawnError("plugin '" + plugin.name + "': cannot start: " + why);
    if (options.stdio[0] < 0 && options.stdin_pipe) {
        s.in = make_output_pipe(plugin.name);
        ::fcntl(s.in.read_end.get(), F_SETFL, 0);  // the plugin reads a blocking pipe
        ::fcntl(s.in.write_end.get(), F_SETFL, O_NONBLOCK);
    } else if (options.stdio[0] < 0) {
        s.dev_null = open_or_throw(plugin.name, "/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (options.stdio[1] < 0) s.out = make_output_pipe(plugin.name);
    if (options.stdio[2] < 0) s.err = make_output_pipe(plugin.name);
    // A caller's `>> file` shared as stdout or stderr is an append grant in all but name: the
    // launch gets the append-only hardening, whoever embeds the spawner (inherited_stdio.hpp).
    const int shared_outputs[] = {options.stdio[1], options.stdio[2]};
    s.append_only_output = shares_append_only_output(shared_outputs);
    const detail::ChildConfinement confinement =
        s.append_only_output ? p.confinement.child_sharing_append_only_output(plugin) : p.confinement.child();
    if (confinement.seccomp_listener) {
        // A standby child (which needs a listener: standby_possible) also waits for its
        // release on this socket.
        std::tie(s.handoff_host, s.handoff_child) = make_socketpair(plugin.name, "listener hand-off");
        if (Status prepared = prepare_listener_handoff(s.handoff_host.get()); !prepared.ok())
            throw SpawnError("plugin '" + plugin.name + "': " + prepared.message());
    }
    if (airlock_protocol) std::tie(s.connection_host, s.connection_child) = make_socketpair(plugin.name, "connection");
    // A fresh cgroup per process: limits are per process, and removing it is only possible
    // (and only safe) once that process is gone.
    s.cgroups = p.cgroups.create_for_launch(plugin);
    // Counted before the clone: no sweep after another process's reap may end this one.
    if (p.uid_processes) s.uid_hold = std::make_unique<detail::UidHold>(p.uid_processes);
    if (s.cgroups) {
        s.memory_cgroup_path = s.cgroups->path("memory");
        s.pids_cgroup_path = s.cgroups->path("pids");
        s.cpu_cgroup_path = s.cgroups->path("cpu");
    }

    // Descriptor layout: 0-2 stdio, then the connection (airlock) or the grants (none).
    const int stdin_source = options.stdio[0] >= 0 ? options.stdio[0] : s.in.read_end ? s.in.read_end.get() : s.dev_null.get();
    s.moves = {{stdin_source, 0},
               {options.stdio[1] >= 0 ? options.stdio[1] : s.out.write_end.get(), 1},
               {options.stdio[2] >= 0 ? options.stdio[2] : s.err.write_end.get(), 2}};
    if (airlock_protocol) {
        s.moves.push_back({s.connection_child.get(), kConnectionFd});
    } else {
        for (const auto& grant : s.checks.grants) s.moves.push_back({grant.fd.get(), static_cast<int>(s.moves.size())});
    }
    s.scratch.assign(s.moves.size(), -1);

    if (s.checks.script) {
        s.arguments.push_back(s.checks.script->path);
        if (s.checks.script->argument) s.arguments.push_back(*s.checks.script->argument);
    }
    s.arguments.push_back(plugin.executable);
    s.arguments.insert(s.arguments.end(), plugin.args.begin(), plugin.args.end());
    s.arguments.insert(s.arguments.end(), options.extra_args.begin(), options.extra_args.end());

    for (const auto& [key, value] : plugin.env) s.environment.push_back(key + "=" + value);
    s.environment.push_back("AIRLOCK_PLUGIN_NAME=" + plugin.name);
    std::size_t listen_pid_index = 0;
    if (airlock_protocol) {
        s.environment.push_back("AIRLOCK_CONNECTION_FD=" + std::to_string(kConnectionFd));
    } else if (!s.checks.grants.empty()) {
        std::string names;
        for (const auto& grant : s.checks.grants) names += (names.empty() ? "" : ":") + grant.name;
        s.environment.push_back("LISTEN_FDS=" + std::to_string(s.checks.grants.size()));
        s.environment.push_back("LISTEN_FDNAMES=" + names);
        // The pid is only known in the child, which writes it into this reserved room.
        listen_pid_index = s.environment.size();
        s.environment.push_back(std::string(kListenPidPrefix) + std::string(kPidDigitsCapacity, '\0'));
    }
    s.argv = pointer_array(s.arguments);
    s.envp = pointer_array(s.environment);

    ChildPlan& plan = s.plan;
    plan.argv = s.argv.data();
    plan.envp = s.envp.data();
    if (listen_pid_index != 0) plan.listen_pid_digits = s.environment[listen_pid_index].data() + std::strlen(kListenPidPrefix);
    plan.exe_fd = s.checks.script ? s.checks.script->fd.get() : s.checks.exe.get();
    plan.listener_handoff_fd = s.handoff_child.get();
    if (s.cgroups) {
        plan.cgroup_join_fds = s.cgroups->join_fds().data();
        plan.cgroup_join_count = s.cgroups->join_fds().size();
    }
    plan.failure = &s.failure;
    plan.moves = s.moves.data();
    plan.move_count = s.moves.size();
    plan.scratch = s.scratch.data();
    plan.limits = p.limits.data();
    plan.limit_count = p.limits.size();
    plan.drop_privileges = p.drop_privileges;
    plan.uid = p.uid;
    plan.gid = p.gid;
    plan.parent_pid = ::getpid();
    if (root) {
        // Mount, network, UTS (and mostly IPC) namespaces are joined, not created: only the
        // PID namespace (and IPC for a plugin that may use it) comes with clone.
        plan.namespaces.clone_flags = p.confinement.namespace_flags() &
                                      ~static_cast<unsigned long>(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC);
        if (!p.share_ipc_namespace) plan.namespaces.clone_flags |= p.confinement.namespace_flags() & CLONE_NEWIPC;
        plan.namespaces.template_fd = root->mount_fd();
        plan.namespaces.network_fd = root->network_fd();
        plan.namespaces.uts_fd = root->uts_fd();
        plan.namespaces.ipc_fd = p.share_ipc_namespace ? root->ipc_fd() : -1;
        plan.namespaces.private_mount_copy = !p.share_mount_namespace;
    }
    if ((p.confinement.namespace_flags() & CLONE_NEWUSER) != 0) {
        plan.namespaces = detail::user_namespace_child_plan(s.checks.own_root, detail::host_identity_maps());
    }
    plan.confinement = confinement;
    plan.confinement.landlock_ruleset_fd = s.checks.landlock_ruleset ? s.checks.landlock_ruleset->get() : -1;
    if ((plan.namespaces.clone_flags & CLONE_NEWPID) != 0) s.pid_namespace.prepare(plugin.name, plan.pid_init);
    return state;
}

// Whether a standby child may be prepared for this Spawner: a root host (no user namespace
// built per launch), protocol "airlock" (its grants are sent after the hello, so opened at
// launch), a seccomp filter with its listener hand-off (the socket the child waits on).
static bool standby_possible(const Spawner::Prepared& p) {
    return p.use == SpawnerUse::Launches && p.plugin.protocol == PluginProtocol::Airlock &&
           (p.confinement.namespace_flags() & CLONE_NEWUSER) == 0 && p.confinement.child().seccomp_program != nullptr &&
           p.confinement.child().seccomp_listener;
}

// The same start as the one `standby` was prepared for: same executable, no script, same
// namespace root and Landlock ruleset, and the child still waits.
static bool standby_matches(const LaunchState& prepared, const StartChecks& now, const detail::StandbyStacks& stacks) {
    const struct stat& a = prepared.checks.exe_identity;
    const struct stat& b = now.exe_identity;
    return !now.script && !prepared.checks.script && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
           a.st_mode == b.st_mode && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec &&
           prepared.checks.root == now.root && prepared.checks.landlock_ruleset == now.landlock_ruleset &&
           !stacks.exec_done();
}

SpawnedPlugin Spawner::launch(const LaunchOptions& options) const {
    const Prepared& p = *prepared_;
    const PluginConfig& plugin = p.plugin;
    const bool airlock_protocol = plugin.protocol == PluginProtocol::Airlock;
    std::unique_ptr<Standby> standby;
    if (p.standby_slot && default_options(options)) {
        std::lock_guard lock(p.standby_slot->mutex);
        standby = std::move(p.standby_slot->standby);
    }
    // A start the checks refuse discards the standby with it (it goes out of scope).
    StartChecks checks = check_start(p, true);
    if (standby && standby_matches(*standby->state, checks, *standby->stacks)) {
        LaunchState& s = *standby->state;
        const char release = detail::kReleaseByte;
        if (::send(s.handoff_host.get(), &release, 1, MSG_NOSIGNAL) != 1) {
            // gone: discarded below
        } else if (!standby->stacks->wait_exec_done_for(kStandbyExecLimit)) {
            // Not executed when it should have at once: stopped (SIGSTOP from another process
            // of the plugin's user, or a debugger's stop) or starved. The launching thread
            // (the supervisor's loop) must not wait on it: killed (its pid 1's vfork wait is
            // killable, and with it the namespace goes), then this start runs cold.
            (void)standby->process->send_signal(SIGKILL);
            standby->stacks->wait_exec_done();
        } else {
            if (s.failure.step != 0) {
                PluginProcess process = std::move(*standby->process);
                process.wait();
                throw SpawnError(describe_failure(plugin, s.failure));
            }
            // Grants of protocol "airlock" are opened by this start's checks and sent after
            // the hello (moved only now: a cold start below needs them).
            s.checks.grants = std::move(checks.grants);
            standby->refill_after_reap->store(true);
            return s.spawned(plugin, std::move(*standby->process), std::move(standby->listener));
        }
    }
    standby.reset();  // prepared for something that changed (or gone): discarded

    std::unique_ptr<LaunchState> state = plan_launch(p, options, std::move(checks));
    LaunchState& s = *state;
    // The child waits for the host to take its listener before it executes, while this thread
    // sleeps in the vfork: another thread takes it (one kept per launching thread).
    std::optional<detail::PendingListener> listener_receiver;
    if (s.handoff_host) listener_receiver.emplace(s.handoff_host.get(), kListenerTimeoutMs);
    detail::LaunchedChild child = detail::launch_child(s.plan);
    if (s.cgroups) s.cgroups->close_join_fds();
    std::unique_ptr<ProcessResources> resources = s.take_resources();
    // A launch with the caller's own stdio or arguments would never take a standby: none is
    // made after its reap.
    if (p.standby_slot && s.failure.step == 0 && default_options(options)) {
        resources = std::make_unique<RefillAfterReap>(std::move(resources), p.standby_slot,
                                                      std::make_shared<std::atomic<bool>>(true));
    }
    PluginProcess process = s.make_process(child, std::move(resources));
    s.close_child_ends(airlock_protocol);

    if (s.failure.step != 0) {
        process.wait();  // it exited with 126 right after recording the failure
        throw SpawnError(describe_failure(plugin, s.failure) + detail::describe_root_failure(s.checks.own_root, s.failure));
    }
    UniqueFd listener;
    if (listener_receiver) listener = receive_listener(plugin.name, *listener_receiver);
    return s.spawned(plugin, std::move(process), std::move(listener));
}

} // namespace airlock::host
