#pragma once
/// @file plugin_config.hpp
/// The validated, fully resolved description of what a plugin may do.
///
/// `config/` parsing (config_loader.hpp) produces these structures from TOML; the sandbox
/// and the spawner consume them. Everything here is already checked: paths are absolute,
/// syscall names are resolved, sizes are in bytes, so the sandbox never re-validates.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <airlock/protocol/plugin_protocol.hpp>

namespace airlock::host {

/// Where a setting came from, so later errors (e.g. a grant path that vanished) can name it.
struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

/// How the plugin is started and talked to.
enum class PluginProtocol {
    Airlock,  ///< SDK handshake over the connection; grants sent as one typed message.
    None,     ///< Any program; grants inherited from fd 3 on, named in LISTEN_FDS/LISTEN_FDNAMES.
};

/// What `airlock-host exec` does with the plugin's stdin, stdout and stderr (`stdio` in
/// [plugin.NAME]); `airlock-host run` always logs.
enum class StdioMode {
    Inherit,  ///< the caller's descriptors, unchanged (a terminal is pumped through a pipe)
    Log,      ///< stdin /dev/null; output as bounded "[name] line" lines (`exec --prefix`)
};

/// What the seccomp filter does on a forbidden system call.
enum class ViolationAction { Kill, Errno, Log };

/// Isolation layers a config can require (fail closed when unavailable).
enum class IsolationLayer { Seccomp, Landlock, NoNewPrivs, Namespaces };

/// Whether `limits.memory` is also enforced by a memory cgroup per plugin process, which
/// counts what RLIMIT_AS does not: pages written into a memfd or tmpfs file, pipe buffers
/// (`memory_cgroup` in [sandbox]; docs/sandbox.md, "Memory").
enum class MemoryCgroupMode {
    Auto,     ///< use one when the host can create it (root, a memory controller); else RLIMIT_AS only
    Require,  ///< refuse to start the plugin when no memory cgroup can be created
    Off,      ///< never; RLIMIT_AS only
};

/// Whether the plugin runs in its own mount, network, UTS and IPC namespaces: a root
/// holding only its system paths and executable, no network interfaces
/// (`namespaces` in [sandbox]; docs/sandbox.md, "Namespaces").
enum class NamespacesMode {
    Auto,     ///< use them when the host can create them (root); else run without
    Require,  ///< refuse to start the plugin when they cannot be created
    Off,      ///< never; the host's namespaces, as before
};
/// The same three choices for the other per-plugin cgroup controllers: `pids_cgroup`
/// (enforces `limits.tasks`) and `cpu_cgroup` (enforces `limits.cpu_quota`).
using CgroupMode = MemoryCgroupMode;

/// `limits.tasks` when the config does not set it.
inline constexpr std::uint64_t kDefaultTasksLimit = 64;

/// Resource limits; unset means "inherit the host's".
struct Limits {
    std::optional<std::uint64_t> memory_bytes;    ///< RLIMIT_AS, and the memory cgroup's limit
    std::optional<std::uint64_t> cpu_seconds;     ///< RLIMIT_CPU
    std::optional<std::uint64_t> open_files;      ///< RLIMIT_NOFILE
    std::optional<std::uint64_t> processes;       ///< 1 = threads only, no fork
    std::optional<std::uint64_t> file_size_bytes; ///< RLIMIT_FSIZE
    /// Threads + processes together, enforced by the pids cgroup (`pids.max`); the loader
    /// sets kDefaultTasksLimit when the config does not.
    std::optional<std::uint64_t> tasks;
    /// CPU time per wall time in percent of one CPU (`"50%"`), enforced by the cpu cgroup.
    std::optional<std::uint32_t> cpu_quota_percent;
    /// Wall-clock lifetime of one process (`exec` and `run`): then stop request, SIGKILL
    /// after `stop_timeout`.
    std::optional<std::chrono::milliseconds> wall;
};

/// The syscall policy after resolving profiles and @groups into plain syscall names.
struct SyscallPolicy {
    std::string profile = "default";           ///< the base allowlist's name
    std::set<std::string> allowed;             ///< final allowlist (profile + allow - deny)
    std::set<std::string> denied;              ///< names explicitly denied by the config
    ViolationAction on_violation = ViolationAction::Kill;
    /// `allow` names execve or execveat itself (a group or profile is not enough): the
    /// plugin may exec again after the launch (a wrapper), any file it can read that
    /// Landlock lets it execute (then its system paths too).
    bool exec_after_launch = false;
    /// `on_violation = "learn"` (or `airlock-host exec --learn`): `on_violation` is Log, and
    /// `exec` records every violation and prints the allow line that covers them. Refused by
    /// `run`; sandbox denials, the always-denied set and Landlock stay in force.
    bool learn = false;
};

/// What a grant hands over and with which access: the wire protocol's enums, the one
/// definition the config, the sandbox, the spawner and the plugin SDK share (names:
/// protocol::grant_kind_name, protocol::grant_access_name).
using GrantKind = protocol::GrantKind;
using GrantAccess = protocol::GrantAccess;

/// One capability handed to the plugin as a pre-opened descriptor.
struct GrantConfig {
    std::string name;            ///< the name the plugin looks it up by
    GrantKind kind = GrantKind::File;
    std::string path;            ///< absolute path (file, dir, connect); empty for memfd
    GrantAccess access = GrantAccess::Read;
    bool create = false;         ///< file grants: create the file if missing
    std::uint64_t size = 0;      ///< memfd grants: size in bytes
    SourceLocation where;
    /// Allows the path to lie inside (or equal) a writable dir grant of some plugin of the
    /// config, where a plugin could replace it; it is still never opened through a link.
    bool inside_writable = false;
    /// connect grants: allows a datagram socket (one that can reach any datagram socket on
    /// the machine with sendto); without it a datagram listener is refused at start.
    bool datagram = false;
    /// file grants: allows a character or block device other than /dev/null, zero, full,
    /// random and urandom (its descriptor carries every ioctl of the driver); without it such
    /// a device is refused at load and at start. A terminal is refused even so.
    bool device = false;
    /// dir and file grants: also reachable by their path inside the sandbox (a Landlock
    /// rule with the grant's access; bound at the same path into the private root of the
    /// namespaces layer), for programs that take paths, not descriptors. Never for append.
    bool by_path = false;
};

/// What the supervisor does when a plugin exits (semantics of systemd's `Restart=`).
enum class RestartPolicy {
    No,         ///< never restart
    OnFailure,  ///< restart after a non-zero exit, a signal, a violation or a timeout
    Always,     ///< restart after any exit that the supervisor did not ask for
};

/// Lifecycle settings read from plain `[plugin.NAME]` keys; used by the supervisor
/// (`airlock-host run`), ignored by `airlock-host exec`.
struct SupervisionConfig {
    RestartPolicy restart = RestartPolicy::OnFailure;          ///< key `restart`
    std::chrono::milliseconds restart_delay{100};              ///< first backoff delay, doubled per restart
    std::chrono::milliseconds restart_max_delay{30'000};       ///< backoff ceiling
    std::uint32_t start_limit_burst = 5;                       ///< this many starts within ...
    std::chrono::milliseconds start_limit_interval{10'000};    ///< ... this interval -> state `failed`
    std::chrono::milliseconds ready_timeout{5'000};            ///< spawn to handshake done
    std::chrono::milliseconds call_timeout{30'000};            ///< default per-call timeout
    std::chrono::milliseconds stop_timeout{5'000};             ///< stop request -> SIGTERM -> SIGKILL step
    /// Host CPU time per second the event loop may spend on the plugin's traffic before its
    /// output and violation notifications wait (key `host_cpu_budget`, docs/supervisor.md).
    std::chrono::milliseconds host_cpu_budget{20};
    /// Largest message body the host takes from (or sends to) the plugin's connection (key
    /// `max_message_size`): what one unfinished message of the plugin can make the host hold
    /// (docs/supervisor.md, "What a plugin can make the host hold"). Also under `exec`.
    std::size_t max_message_size = std::size_t{4} << 20;
    /// Bytes per second of the plugin's output lines and log records the supervisor may write
    /// for it before its output and messages wait (key `host_log_budget`, docs/supervisor.md,
    /// "What a plugin can make the host write"); ten seconds' worth may be saved up.
    std::size_t host_log_budget = std::size_t{64} << 10;
};

/// One plugin, with host-wide [sandbox] defaults already merged in.
struct PluginConfig {
    std::string name;
    std::string executable;                    ///< absolute path to an existing executable
    std::vector<std::string> args;
    std::map<std::string, std::string> env;    ///< the whole environment (AIRLOCK_* added at spawn)
    PluginProtocol protocol = PluginProtocol::Airlock;
    Limits limits;
    SyscallPolicy syscalls;
    std::vector<GrantConfig> grants;           ///< in config order
    std::vector<std::string> system_paths;     ///< read-only for the dynamic loader
    std::optional<std::string> user;           ///< user to drop to when the host runs as root
    std::optional<std::uint32_t> user_id;      ///< `user` resolved at load time (getpwnam), so the
    std::optional<std::uint32_t> group_id;     ///< child never looks up users between fork and exec
    /// `dynamic_user`: a root host runs the plugin as a uid (and gid) of its own, allocated
    /// when its Spawner is made, instead of `user` (docs/sandbox.md, "Per-user kernel limits").
    bool dynamic_user = false;
    std::set<IsolationLayer> required_layers;  ///< refuse to start if any is missing
    MemoryCgroupMode memory_cgroup = MemoryCgroupMode::Auto;  ///< only used with limits.memory
    NamespacesMode namespaces = NamespacesMode::Auto;          ///< private namespaces (docs/sandbox.md)
    CgroupMode pids_cgroup = CgroupMode::Auto;  ///< only used with limits.tasks
    CgroupMode cpu_cgroup = CgroupMode::Auto;   ///< only used with limits.cpu_quota
    SupervisionConfig supervision;             ///< restart policy and timeouts (supervisor only)
    StdioMode stdio = StdioMode::Inherit;      ///< `exec` only; `run` always logs
    SourceLocation where;
    /// Paths of the write/read-write dir grants of every plugin in the same config (set by
    /// the loader): hard-linked file grants and system paths inside them are refused.
    std::vector<std::string> config_writable_directories;
    /// Not a TOML key: every launch's filter gets the append-only hardening of an append
    /// grant. Not needed for an inherited `>> file`: Spawner::launch hardens each launch whose
    /// LaunchOptions::stdio shares an O_APPEND stdout or stderr file (inherited_stdio.hpp).
    bool shares_append_only_output = false;
};

/// A whole config file.
struct HostConfig {
    std::string path;
    std::map<std::string, PluginConfig> plugins;
    /// `[host] control`: absolute path of the supervisor's control socket; unset = no control socket.
    std::optional<std::string> control_path;
    /// `[host] control_users`: uids allowed on the control socket (names resolved at load time).
    /// Defaults to the uid of the process that loaded the config (the host itself).
    std::vector<std::uint32_t> control_users;
    /// `[host] control_group`: gid given to the control socket file; members of the group
    /// (primary or supplementary, as the kernel reports the peer) may use it too.
    std::optional<std::uint32_t> control_group;
    /// `[host] control_mode`: permission bits of the control socket file (no bits for others).
    std::uint32_t control_mode = 0660;
};

} // namespace airlock::host
