#pragma once
/// @file spawner.hpp
/// Launches one confined plugin process (see docs/spawning.md).
///
/// A `Spawner` is made once per plugin configuration: it resolves the user, the limits and
/// the confinement (seccomp program, Landlock ruleset) up front and refuses to exist when a
/// required isolation layer is missing. `launch()` then starts a fresh process each time it
/// is called (a supervisor restarting a plugin calls it again), with a vfork-style clone so
/// the cost does not grow with the host's memory. All child-side work between clone and
/// exec is async-signal-safe raw system calls; a failure there comes back as a `SpawnError`
/// naming the step and the errno, never as a process that looks started.

#include <airlock/connection/unique_fd.hpp>
#include <airlock/host/grant_opener.hpp>
#include <airlock/host/plugin_config.hpp>

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace airlock::host {

namespace detail {
struct SpawnerInternals;
}

/// A plugin could not be started (or a `Spawner` could not be prepared). The message says
/// which plugin, which step and why, e.g. `plugin 'hello': cannot start: exec of
/// /usr/bin/x failed: Permission denied`.
class SpawnError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The descriptor number the connection socket has in a protocol "airlock" plugin.
inline constexpr int kConnectionFd = 3;
/// The first inherited grant in a protocol "none" plugin (systemd's SD_LISTEN_FDS_START).
inline constexpr int kFirstGrantFd = 3;

/// Whether one isolation layer will be applied to this plugin, and if not, why.
struct LayerStatus {
    IsolationLayer layer = IsolationLayer::NoNewPrivs;
    bool applied = false;
    std::string reason;  ///< why it is not applied (empty when applied)
};

/// How a plugin process ended.
struct PluginExit {
    bool signaled = false;     ///< killed by a signal (else exited normally)
    int exit_code = 0;         ///< valid when !signaled
    int signal = 0;            ///< valid when signaled
    bool core_dumped = false;
    /// The kernel's OOM killer ended it in its memory cgroup: it reached `limits.memory`.
    bool out_of_memory = false;
    /// How many thread or process creations its pids cgroup refused (`limits.tasks`).
    std::uint64_t tasks_refused = 0;

    /// The status a shell reports: the exit code, or 128 + signal.
    [[nodiscard]] int shell_status() const noexcept { return signaled ? 128 + signal : exit_code; }
    /// "exited with status 3", "killed by signal 9 (SIGKILL)" or "killed by signal 9
    /// (SIGKILL): out of memory (the memory cgroup's limit was reached)".
    [[nodiscard]] std::string describe() const;
    /// describe(), naming the limit of `limits` that ended the process the way a config
    /// writes it: "killed by signal 24 (SIGXCPU): exceeded cpu = 2s (RLIMIT_CPU)", "killed by
    /// signal 9 (SIGKILL): exceeded memory = 64MiB (memory cgroup OOM)".
    [[nodiscard]] std::string describe(const Limits& limits) const;
};

/// A byte count the way a config writes it: "64MiB", "1GiB", "1500 bytes".
std::string size_text(std::uint64_t bytes);

/// What belongs to one plugin process and is released once the process has been reaped
/// (its memory cgroup, which can only be removed when no process is left in it).
class ProcessResources {
public:
    virtual ~ProcessResources() = default;
    /// Called once, right after the process was reaped and before the destructor; may add
    /// what it observed to `exit` (e.g. `out_of_memory`).
    virtual void on_reaped(PluginExit& exit) noexcept = 0;
};

/// How a plugin's `limits.memory` is enforced on this host (see docs/sandbox.md, "Memory").
struct MemoryEnforcement {
    bool limited = false;  ///< `limits.memory` is set
    bool cgroup = false;   ///< each process also gets a memory cgroup with that limit
    std::string detail;    ///< the cgroup hierarchy used, or why there is none
    /// For `airlock-host check`, e.g. "enforced by RLIMIT_AS + memory cgroup (cgroup v1 ...)"
    /// or "enforced by RLIMIT_AS only (memfd/tmpfs pages not counted: ...)".
    [[nodiscard]] std::string describe() const;
};

/// How a plugin's `limits.tasks` (pids cgroup) or `limits.cpu_quota` (cpu cgroup) is
/// enforced on this host (see docs/sandbox.md, "Tasks" and "CPU").
struct CgroupEnforcement {
    bool limited = false;    ///< the limit is set
    bool cgroup = false;     ///< each process gets a cgroup of that controller with the limit
    std::string controller;  ///< "pids" or "cpu"
    std::string detail;      ///< the cgroup hierarchy used, or why there is none
    /// For `airlock-host check`, e.g. "enforced by the pids cgroup (cgroup v1 pids controller,
    /// beneath /sys/fs/cgroup/pids)" or "NOT enforced (pids_cgroup = \"off\")".
    [[nodiscard]] std::string describe() const;
};

/// A started process, owned through its pidfd (so it can never be confused with a reused
/// pid). Destroying a process that was not reaped yet kills it with SIGKILL and reaps it.
/// Its `ProcessResources`, if any, are released as soon as it has been reaped.
class PluginProcess {
public:
    PluginProcess() = default;
    /// `exit_status`: with a PID namespace, `pidfd` is its init's and the init writes the
    /// plugin's own wait status (4 bytes) here before it exits; the exit reported is that one
    /// (the init's own when nothing was written, e.g. it was SIGKILLed). `pid` is the plugin's.
    /// `plugin_pidfd`: the plugin's own pidfd below the init (invalid when unknown).
    PluginProcess(pid_t pid, UniqueFd pidfd, std::unique_ptr<ProcessResources> resources = nullptr,
                  UniqueFd exit_status = UniqueFd(), UniqueFd plugin_pidfd = UniqueFd()) noexcept
        : pid_(pid), pidfd_(std::move(pidfd)), exit_status_(std::move(exit_status)),
          plugin_pidfd_(std::move(plugin_pidfd)), resources_(std::move(resources)) {}
    PluginProcess(PluginProcess&&) noexcept = default;
    PluginProcess& operator=(PluginProcess&& other) noexcept;
    PluginProcess(const PluginProcess&) = delete;
    PluginProcess& operator=(const PluginProcess&) = delete;
    ~PluginProcess();

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// The pidfd; it becomes readable (POLLIN) when the process exits. -1 when empty.
    [[nodiscard]] int pidfd() const noexcept { return pidfd_.get(); }
    /// The plugin's own pidfd: pidfd() without a PID namespace, the one below the init with
    /// it (-1 when the plugin was gone before the host could open it). Under a PID namespace
    /// the init reaps the plugin, so pid() may name another process at any time: act on the
    /// plugin by pid only while this pidfd shows it alive.
    [[nodiscard]] int own_pidfd() const noexcept { return exit_status_ ? plugin_pidfd_.get() : pidfd_.get(); }
    /// The exit, once reaped.
    [[nodiscard]] const std::optional<PluginExit>& exit() const noexcept { return exit_; }

    /// Reaps the process if it has exited; never blocks.
    std::optional<PluginExit> try_wait();
    /// Blocks until the process exits and reaps it.
    PluginExit wait();
    /// Sends `signal_number` through the pidfd. Returns false once reaped or on error.
    /// With a PID namespace the init forwards it to the plugin; SIGKILL goes to the plugin
    /// itself and makes the init kill every other process of the namespace (so the plugin's
    /// own exit is still reported).
    bool send_signal(int signal_number) noexcept;

private:
    void kill_and_reap() noexcept;
    /// Records the exit and releases the resources.
    void reaped(PluginExit exit) noexcept;

    /// The exit from waitid's answer, or the plugin's status its PID namespace's init reported.
    PluginExit exit_of(const siginfo_t& info) noexcept;

    pid_t pid_ = -1;
    UniqueFd pidfd_;
    UniqueFd exit_status_;
    UniqueFd plugin_pidfd_;
    std::optional<PluginExit> exit_;
    std::unique_ptr<ProcessResources> resources_;
};

/// What `Spawner::launch` returns: the process and the host's ends of its descriptors.
struct SpawnedPlugin {
    std::string name;
    PluginProcess process;
    /// Host end of the `socketpair(AF_UNIX, SOCK_SEQPACKET)` connection (protocol "airlock";
    /// the plugin has the other end at fd 3). Invalid for protocol "none".
    UniqueFd connection;
    UniqueFd stdout_pipe;       ///< read end of the plugin's stdout, O_NONBLOCK
    UniqueFd stderr_pipe;       ///< read end of the plugin's stderr, O_NONBLOCK
    /// Write end of the plugin's stdin pipe, O_NONBLOCK, with LaunchOptions::stdin_pipe;
    /// otherwise invalid (the plugin's stdin is /dev/null or LaunchOptions::stdio[0]).
    UniqueFd stdin_pipe;
    /// Seccomp user-notification listener; invalid when the confinement uses no
    /// notifications. `make_violation_monitor()` (spawn_violations.hpp) wraps it.
    UniqueFd seccomp_listener;
    /// The launch's stdout or stderr is the caller's O_APPEND file (LaunchOptions::stdio), so
    /// its filter has the append-only hardening (inherited_stdio.hpp; make_violation_monitor
    /// uses that filter's policy).
    bool shares_append_only_output = false;
    /// Protocol "airlock": the opened grants, to be sent in the grant table message.
    /// Protocol "none": empty (the plugin inherited them from fd 3 on).
    std::vector<OpenedGrant> grants_to_send;
    /// The process's memory cgroup directory (removed once the process is reaped); empty
    /// when it has none (see `Spawner::memory_enforcement()`).
    std::string memory_cgroup;
    /// Its pids and cpu cgroup directories, the same way (the same directory as
    /// `memory_cgroup` where the controllers share a hierarchy).
    std::string pids_cgroup;
    std::string cpu_cgroup;
};

/// Per-launch choices that are not part of the configuration.
struct LaunchOptions {
    std::vector<std::string> extra_args;  ///< appended after the configured `args`
    /// The caller's descriptors the plugin gets as its stdin, stdout and stderr (shared, as
    /// a shell passes them; `airlock-host exec`), -1 each for the default: /dev/null as
    /// stdin, a pipe to the host (SpawnedPlugin::stdout_pipe/stderr_pipe) as stdout/stderr.
    /// The spawner duplicates them; the caller keeps its own.
    int stdio[3] = {-1, -1, -1};
    /// With stdio[0] == -1: a pipe as stdin instead of /dev/null, whose write end is
    /// SpawnedPlugin::stdin_pipe (the host pumps a terminal through it).
    bool stdin_pipe = false;
};

/// How a Spawner will be used, so that it prepares what that use needs and no more.
enum class SpawnerUse {
    /// Any number of launches (the supervisor, the blocking client): one cgroup set is made
    /// ahead when prepared, and the next one right after each reap, with a standby child
    /// for the next start where one can be made (docs/spawning.md, "Standby child").
    Launches,
    /// As Launches, without the standby child: every start is cold (the supervisor's choice
    /// for a plugin with `restart = "no"`, which would seldom use one).
    LaunchesWithoutStandby,
    /// One launch (`airlock-host exec`): its cgroup set is made when prepared (that is the
    /// probe) and none ahead after its reap. A further launch makes its own.
    OneLaunch,
    /// No launch (`airlock-host check`): layers and limits are probed without creating,
    /// changing or sweeping any cgroup; launch() refuses when a cgroup is planned.
    Describe,
};

/// Prepares and launches one configured plugin. See the file comment.
class Spawner {
public:
    /// Resolves everything that does not change between launches.
    /// @throws SpawnError when a required layer is unavailable (naming the layer and why),
    ///         when `memory_cgroup = "require"` and no memory cgroup can be made (and why),
    ///         when the host is root and the plugin's `user` is missing, unknown or root,
    ///         or when an environment variable or grant name cannot be passed on.
    explicit Spawner(PluginConfig plugin, SpawnerUse use = SpawnerUse::Launches);
    Spawner(Spawner&&) noexcept;
    Spawner& operator=(Spawner&&) noexcept;
    ~Spawner();

    /// Opens the grants, starts the process and returns once it has executed the plugin
    /// (or throws). Safe to call from several threads at once.
    /// @throws SpawnError (a missing executable, a failed child step) or GrantError.
    [[nodiscard]] SpawnedPlugin launch(const LaunchOptions& options = {}) const;

    [[nodiscard]] const PluginConfig& plugin() const noexcept;
    /// Which isolation layers this plugin gets on this kernel and build.
    [[nodiscard]] const std::vector<LayerStatus>& layers() const noexcept;
    /// Whether `limits.memory` is also enforced by a memory cgroup, and if not, why.
    [[nodiscard]] const MemoryEnforcement& memory_enforcement() const noexcept;
    /// Whether `limits.tasks` is enforced by a pids cgroup, and if not, why.
    [[nodiscard]] const CgroupEnforcement& tasks_enforcement() const noexcept;
    /// Whether `limits.cpu_quota` is enforced by a cpu cgroup, and if not, why.
    [[nodiscard]] const CgroupEnforcement& cpu_enforcement() const noexcept;

    struct Prepared;
    struct Standby;
    struct StandbySlot;

private:
    friend struct detail::SpawnerInternals;
    std::unique_ptr<Prepared> prepared_;
};

} // namespace airlock::host
