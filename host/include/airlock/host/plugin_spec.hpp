#pragma once
/// @file plugin_spec.hpp
/// A plugin described in C++: the typed builder the TOML config is read into.
///
/// A `PluginSpec` records what to run and what the plugin may do, one setter per config key
/// (docs/configuration.md). `build()` validates everything — names, paths, sizes, durations,
/// syscall names, users — and returns the resolved PluginConfig, or throws ConfigError with
/// the same message the TOML loader gives for the same value: the loader reads each
/// `[plugin.NAME]` table into a PluginSpec and builds it, so the checks exist once.
///
/// An embedding application needs no TOML at all:
/// @code
/// airlock::host::PluginSpec hello("hello");
/// hello.exec("/usr/lib/airlock/hello")
///     .memory("256MiB").open_files(32).processes(1)
///     .grant_dir("out", "/srv/out", airlock::host::GrantAccess::ReadWrite)
///     .restart(airlock::host::RestartPolicy::No);
/// airlock::host::Supervisor supervisor(io, {hello});
/// @endcode
///
/// Setters only record (the last call for a key wins; `arg`, `env`, `allow`, `deny` and the
/// grants add); nothing touches the file system before build(). Keys left unset take the
/// TOML defaults, including the built-in [sandbox] defaults (system paths, `nobody`, all
/// layers required, cgroups and namespaces `auto`).

#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_config.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

class PluginSpec {
public:
    /// A plugin called `name` (letters, digits, '_' and '-'; checked by build()).
    explicit PluginSpec(std::string name);

    const std::string& name() const noexcept { return name_; }

    // --- what to run: [plugin.NAME] ---
    /// `exec`: the executable, absolute or relative to base_directory().
    PluginSpec& exec(std::string path);
    /// Where a relative `exec` starts from (the TOML loader: the config file's directory);
    /// default: the current directory at build().
    PluginSpec& base_directory(std::string directory);
    /// `args`: replaces the arguments; arg() appends one.
    PluginSpec& args(std::vector<std::string> arguments);
    PluginSpec& arg(std::string argument);
    /// `env`: one variable of the plugin's (otherwise empty) environment.
    PluginSpec& env(std::string name, std::string value);
    /// `protocol`: Airlock (default) or None (any program, grants the systemd way).
    PluginSpec& protocol(PluginProtocol protocol);
    /// `stdio` (airlock-host exec only).
    PluginSpec& stdio(StdioMode mode);

    // --- [plugin.NAME.grants], in the order added ---
    /// Any grant, with every option (`by_path`, `inside_writable`, `datagram`, `device`, ...).
    /// `path` as written (absolute; normalized by build()); `where` is ignored.
    PluginSpec& grant(GrantConfig grant);
    /// `{ dir = path, access = ... }`: Read or ReadWrite.
    PluginSpec& grant_dir(std::string name, std::string path, GrantAccess access = GrantAccess::Read);
    /// `{ file = path, access = ..., create = ... }`.
    PluginSpec& grant_file(std::string name, std::string path, GrantAccess access = GrantAccess::Read,
                           bool create = false);
    /// `{ connect = socket_path }`: a connected UNIX stream (or, with datagram, datagram) socket.
    PluginSpec& grant_connect(std::string name, std::string socket_path, bool datagram = false);
    /// `{ memfd = size }`: size "64KiB"-style, or bytes.
    PluginSpec& grant_memfd(std::string name, std::string_view size);
    PluginSpec& grant_memfd(std::string name, std::int64_t bytes);

    // --- [plugin.NAME.limits]: sizes as "256MiB" or bytes, durations as "10s" or a chrono value ---
    PluginSpec& memory(std::string_view size);
    PluginSpec& memory(std::int64_t bytes);
    PluginSpec& cpu(std::string_view duration);  ///< whole seconds (RLIMIT_CPU)
    PluginSpec& cpu(std::chrono::milliseconds duration);
    PluginSpec& open_files(std::int64_t count);
    PluginSpec& processes(std::int64_t count);
    PluginSpec& file_size(std::string_view size);
    PluginSpec& file_size(std::int64_t bytes);
    PluginSpec& tasks(std::int64_t count);
    PluginSpec& cpu_quota(std::string_view percent);  ///< "50%" = half a CPU
    PluginSpec& cpu_quota_percent(std::int64_t percent);
    PluginSpec& wall(std::string_view duration);
    PluginSpec& wall(std::chrono::milliseconds duration);

    // --- [plugin.NAME.syscalls] ---
    PluginSpec& syscall_profile(std::string profile);
    /// `allow` / `deny`: system call names and @groups, added to the list.
    PluginSpec& allow(std::vector<std::string> names);
    PluginSpec& deny(std::vector<std::string> names);
    /// `on_violation`; `learn` is Log plus recording (airlock-host exec --learn).
    PluginSpec& on_violation(ViolationAction action);
    PluginSpec& learn();

    // --- [plugin.NAME.sandbox] ---
    PluginSpec& system_paths(std::vector<std::string> paths);
    PluginSpec& user(std::string name);
    PluginSpec& require(std::set<IsolationLayer> layers);
    PluginSpec& memory_cgroup(MemoryCgroupMode mode);
    PluginSpec& namespaces(NamespacesMode mode);
    PluginSpec& pids_cgroup(CgroupMode mode);
    PluginSpec& cpu_cgroup(CgroupMode mode);
    /// `dynamic_user`: a uid of its own instead of `user` when the host runs as root.
    PluginSpec& dynamic_user(bool on);

    // --- supervision: restart policy and timeouts ---
    PluginSpec& restart(RestartPolicy policy);
    PluginSpec& restart_delay(std::string_view duration);
    PluginSpec& restart_delay(std::chrono::milliseconds duration);
    PluginSpec& restart_max_delay(std::string_view duration);
    PluginSpec& restart_max_delay(std::chrono::milliseconds duration);
    PluginSpec& start_limit_burst(std::int64_t starts);
    PluginSpec& start_limit_interval(std::string_view duration);
    PluginSpec& start_limit_interval(std::chrono::milliseconds duration);
    PluginSpec& ready_timeout(std::string_view duration);
    PluginSpec& ready_timeout(std::chrono::milliseconds duration);
    PluginSpec& call_timeout(std::string_view duration);
    PluginSpec& call_timeout(std::chrono::milliseconds duration);
    PluginSpec& stop_timeout(std::string_view duration);
    PluginSpec& stop_timeout(std::chrono::milliseconds duration);
    /// CPU time of the host's event loop the plugin may cost per second (1ms to 1000ms;
    /// docs/supervisor.md, "Budgets of host work").
    PluginSpec& host_cpu_budget(std::string_view duration);
    PluginSpec& host_cpu_budget(std::chrono::milliseconds duration);
    /// Largest message body on the plugin's connection, either way (64KiB to 64MiB, default
    /// 4MiB; docs/supervisor.md, "What a plugin can make the host hold").
    PluginSpec& max_message_size(std::string_view size);
    PluginSpec& max_message_size(std::int64_t bytes);
    /// Bytes per second of output lines and log records the supervisor writes for the plugin
    /// before its output waits (4KiB to 64MiB, default 64KiB; docs/supervisor.md, "What a
    /// plugin can make the host write").
    PluginSpec& host_log_budget(std::string_view size);
    PluginSpec& host_log_budget(std::int64_t bytes);

    /// Where a setting was written, for the location of error messages (the TOML loader
    /// sets these; an embedding application has no need to). `key` is the setting's path
    /// below [plugin.NAME]: "" (the plugin itself), "name", "exec", "env.VAR", "limits.memory",
    /// "syscalls.allow.N" (N-th entry), "grants.G", "grants.G.name", "grants.G.create",
    /// "sandbox.user", "sandbox.system_paths.N", "restart_delay", ... An error about a key
    /// with no location takes its parent's; with none at all, ConfigError has no location.
    PluginSpec& locate(std::string key, SourceLocation where);

    /// Validates every setting, in the order of docs/configuration.md's schema, and returns
    /// the resolved plugin (paths absolute, syscall names resolved, sizes in bytes, the
    /// user's ids looked up, defaults filled in). Checks the file system now: the executable,
    /// grant paths and system paths must exist as they will be opened.
    /// @throws ConfigError naming the setting and what is allowed (the loader's messages).
    PluginConfig build() const;

private:
    // A size, duration or percentage: as written ("256MiB", "10s", "50%"), or a number
    // (bytes, milliseconds, percent) when text is unset.
    struct Value {
        std::optional<std::string> text;
        std::int64_t number = 0;
    };
    struct Grant {
        GrantConfig config;
        Value size;  // memfd grants
    };
    struct Checks;  // build()'s validation (plugin_spec_checks.cpp)

    std::string name_;
    std::optional<std::string> exec_;
    std::optional<std::string> base_directory_;
    std::vector<std::string> args_;
    std::vector<std::pair<std::string, std::string>> env_;
    PluginProtocol protocol_ = PluginProtocol::Airlock;
    StdioMode stdio_ = StdioMode::Inherit;
    std::vector<Grant> grants_;
    std::map<std::string, Value, std::less<>> limits_;      // by TOML key
    std::optional<std::string> profile_;
    std::vector<std::string> allow_;
    std::vector<std::string> deny_;
    ViolationAction on_violation_ = ViolationAction::Kill;
    bool learn_ = false;
    std::optional<std::vector<std::string>> system_paths_;
    std::optional<std::string> user_;
    std::optional<std::set<IsolationLayer>> require_;
    std::optional<MemoryCgroupMode> memory_cgroup_;
    std::optional<NamespacesMode> namespaces_;
    std::optional<CgroupMode> pids_cgroup_;
    std::optional<CgroupMode> cpu_cgroup_;
    std::optional<bool> dynamic_user_;
    RestartPolicy restart_ = RestartPolicy::OnFailure;
    std::map<std::string, Value, std::less<>> supervision_;  // durations and sizes by TOML key
    std::optional<std::int64_t> start_limit_burst_;
    std::map<std::string, SourceLocation, std::less<>> locations_;
};

/// Builds every spec and checks them together as one config: plugin names unique, no path
/// inside another plugin's writable dir grant (unless `inside_writable`). The result has no
/// control socket; control_users is the calling process's uid.
/// @throws ConfigError for the first problem.
HostConfig build_host_config(const std::vector<PluginSpec>& plugins);

} // namespace airlock::host
