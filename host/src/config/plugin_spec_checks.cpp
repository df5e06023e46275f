// PluginSpec::build(): every check of a plugin's settings, in the order of the schema, with
// the messages the TOML loader reports (it builds a PluginSpec from each [plugin.NAME]).
#include "airlock/host/plugin_spec.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "airlock/host/device_grant.hpp"
#include "airlock/host/syscall_sets.hpp"
#include "spec_checks.hpp"
#include "toml_reader.hpp"
#include "units.hpp"

namespace airlock::host {

using config_detail::in_quotes;
using config_detail::is_valid_name;
namespace fs = std::filesystem;

namespace {

// SCM_RIGHTS carries at most 253 descriptors per message (PLATFORM.md), and the grant
// table travels as one message.
constexpr std::size_t kMaxGrants = 253;
// 100 CPUs: beyond any machine this runs on, and small enough for cfs_quota_us.
constexpr std::uint32_t kMaxCpuQuotaPercent = 10000;

// A terminal, told without opening it: a pseudo-terminal on a devpts file system, or a
// device of the tty class. Left to the grant opener, which refuses it with the terminal's own
// message (device = true does not admit a terminal); a terminal missed here is still refused
// at load as a device, and at start as a terminal.
bool looks_like_terminal(const std::string& path, const struct stat& status) {
    constexpr decltype(statfs::f_type) kDevptsMagic = 0x1cd1;  // DEVPTS_SUPER_MAGIC
    if (struct statfs file_system{}; ::statfs(path.c_str(), &file_system) == 0 && file_system.f_type == kDevptsMagic)
        return true;
    std::error_code error;
    const fs::path subsystem = fs::read_symlink("/sys/dev/char/" + std::to_string(::major(status.st_rdev)) + ":" +
                                                    std::to_string(::minor(status.st_rdev)) + "/subsystem",
                                                error);
    return !error && subsystem.filename() == "tty";
}

bool is_reserved_variable(std::string_view name, PluginProtocol protocol) {
    if (name.starts_with("AIRLOCK_"))
        return true;
    // With protocol "none" the host passes grants the systemd way and sets these itself.
    return protocol == PluginProtocol::None &&
           (name == "LISTEN_FDS" || name == "LISTEN_FDNAMES" || name == "LISTEN_PID");
}

std::string known_groups() {
    std::string list;
    for (const auto& group : syscall_groups())
        list += (list.empty() ? "" : ", ") + group.name;
    return list;
}

} // namespace

// Nested in PluginSpec so that it reads the recorded values; one instance per build().
struct PluginSpec::Checks {
    const PluginSpec& spec;
    std::string context = "plugin " + in_quotes(spec.name_);
    std::string section = "[plugin." + spec.name_;

    // The location recorded for `key`, else for its nearest parent, else none.
    SourceLocation where(std::string key) const {
        while (true) {
            if (auto it = spec.locations_.find(key); it != spec.locations_.end()) return it->second;
            if (key.empty()) return {};
            const auto dot = key.rfind('.');
            key = dot == std::string::npos ? std::string() : key.substr(0, dot);
        }
    }
    [[noreturn]] void fail(const std::string& key, std::string message) const {
        throw ConfigError(where(key), std::move(message));
    }
    void reject_nul(const std::string& key, std::string_view text, std::string_view what,
                    const std::string& in) const {
        if (text.find('\0') != std::string_view::npos)
            fail(key, std::string(what) + " in " + in +
                          " contains a NUL character; strings passed to the kernel cannot contain NUL");
    }

    // --- sizes and durations ---
    std::uint64_t size(const std::string& key, const Value& value, std::string_view what, const std::string& in) const {
        try {
            return value.text ? config_detail::parse_size(*value.text) : config_detail::size_from_integer(value.number);
        } catch (const std::invalid_argument& problem) {
            fail(key, "invalid " + std::string(what) + " in " + in + ": " + problem.what());
        }
    }
    std::chrono::milliseconds duration(const std::string& key, const Value& value, std::string_view what,
                                       const std::string& in) const {
        try {
            return config_detail::parse_duration(*value.text);
        } catch (const std::invalid_argument& problem) {
            fail(key, "invalid " + std::string(what) + " in " + in + ": " + problem.what());
        }
    }

    // --- [plugin.NAME] ---
    std::string executable() const {
        if (!spec.exec_)
            fail("", context + " has no exec; set exec to the plugin's executable, absolute or relative to the "
                               "config file's directory");
        const std::string& exec = *spec.exec_;
        if (exec.empty()) fail("exec", "exec of " + context + " is empty; set it to the plugin's executable");
        reject_nul("exec", exec, "\"exec\"", context);
        fs::path path(exec);
        const bool relative = path.is_relative();
        if (relative) path = fs::path(spec.base_directory_.value_or(fs::current_path().string())) / path;
        path = path.lexically_normal();
        const std::string shown = in_quotes(path.string()) +
                                  (relative ? " (exec " + in_quotes(exec) + " relative to the config file's directory)" : "");
        std::error_code error;
        const auto status = fs::status(path, error);
        if (!fs::exists(status))
            fail("exec", "executable " + shown + " of " + context +
                             " does not exist; exec must name an existing executable file, "
                             "absolute or relative to the config file's directory");
        if (!fs::is_regular_file(status))
            fail("exec", "executable " + shown + " of " + context + " is not a regular file; exec must name an executable file");
        if (access(path.c_str(), X_OK) != 0)
            fail("exec", "executable " + shown + " of " + context + " is not executable; chmod +x it or name an executable file");
        return path.string();
    }

    std::map<std::string, std::string> environment() const {
        std::map<std::string, std::string> env;
        const std::string table = "env of " + context;
        for (const auto& [name, value] : spec.env_) {
            const std::string key = "env." + name;
            if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos)
                fail(key, "invalid environment variable name " + in_quotes(name) + " in " + table +
                              "; names must be non-empty and contain no '=' or NUL");
            if (is_reserved_variable(name, spec.protocol_))
                fail(key, "environment variable " + in_quotes(name) + " in " + table +
                              " is reserved; AIRLOCK_* (and LISTEN_* with protocol \"none\") are set by the host");
            reject_nul(key, value, in_quotes(name), table);
            env[name] = value;
        }
        return env;
    }

    // --- [plugin.NAME.limits] ---
    Limits limits() const {
        const std::string in = section + ".limits]";
        Limits limits;
        auto find = [&](std::string_view key) -> const Value* {
            auto it = spec.limits_.find(key);
            return it == spec.limits_.end() ? nullptr : &it->second;
        };
        auto count = [&](std::string_view key, std::string_view meaning) -> std::uint64_t {
            const std::int64_t value = find(key)->number;
            if (value < 1)
                fail("limits." + std::string(key), "invalid " + std::string(key) + " limit " + std::to_string(value) +
                                                       " in " + in + "; it must be at least 1 (" + std::string(meaning) + ")");
            return static_cast<std::uint64_t>(value);
        };
        if (const Value* memory = find("memory")) limits.memory_bytes = size("limits.memory", *memory, "memory limit", in);
        if (const Value* cpu = find("cpu")) {
            const auto seconds = duration("limits.cpu", *cpu, "cpu limit", in);
            if (seconds.count() % 1000 != 0)
                fail("limits.cpu", "invalid cpu limit " + in_quotes(*cpu->text) + " in " + in +
                                       ": RLIMIT_CPU counts whole seconds; write a whole number of seconds, minutes "
                                       "or hours, e.g. \"10s\"");
            limits.cpu_seconds = static_cast<std::uint64_t>(seconds.count() / 1000);
        }
        if (find("open_files")) limits.open_files = count("open_files", "the highest descriptor count");
        if (find("processes")) limits.processes = count("processes", "1 allows threads but no child processes");
        if (const Value* file_size = find("file_size"))
            limits.file_size_bytes = size("limits.file_size", *file_size, "file_size limit", in);
        if (find("tasks")) limits.tasks = count("tasks", "threads and processes together");
        if (const Value* quota = find("cpu_quota")) limits.cpu_quota_percent = cpu_quota(*quota->text, in);
        if (const Value* wall = find("wall")) limits.wall = duration("limits.wall", *wall, "wall-clock limit", in);
        if (!limits.tasks) limits.tasks = kDefaultTasksLimit;
        return limits;
    }

    // "50%": CPU time per wall time in percent of one CPU ("150%" = one and a half CPUs).
    std::uint32_t cpu_quota(const std::string& value, const std::string& in) const {
        std::uint32_t percent = 0;
        bool valid = value.size() >= 2 && value.size() <= 6 && value.back() == '%';
        for (std::size_t i = 0; valid && i + 1 < value.size(); ++i) {
            valid = value[i] >= '0' && value[i] <= '9';
            percent = percent * 10 + static_cast<std::uint32_t>(value[i] - '0');
        }
        if (!valid || percent < 1 || percent > kMaxCpuQuotaPercent)
            fail("limits.cpu_quota", "invalid cpu_quota " + in_quotes(value) + " in " + in +
                                         "; write a whole percentage of one CPU from \"1%\" to \"" +
                                         std::to_string(kMaxCpuQuotaPercent) + "%\", e.g. \"50%\" (half a CPU)");
        return percent;
    }

    // --- [plugin.NAME.syscalls] ---
    void check_entries(std::string_view list_key, const std::vector<std::string>& entries) const {
        const std::string in = section + ".syscalls]";
        const std::string at = " in " + std::string(list_key) + " of " + in;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const std::string& entry = entries[i];
            const std::string key = "syscalls." + std::string(list_key) + "." + std::to_string(i + 1);
            const bool is_group = entry.starts_with('@');
            if (is_group && find_syscall_group(entry) == nullptr)
                fail(key, "unknown syscall group " + in_quotes(entry) + at + "; known groups: " + known_groups());
            if (!is_group && !is_known_syscall(entry))
                fail(key, "unknown system call " + in_quotes(entry) + at +
                              "; use a system call name as in syscalls(2), e.g. \"openat\", or an @group");
            if (list_key != "allow") continue;
            for (const auto& name : expand_syscall_names({entry})) {
                const auto reason = always_denied_reason(name);
                if (!reason.empty())
                    fail(key, name + " is never allowed in a plugin: " + std::string(reason) +
                                  (is_group ? " (it is in " + entry + ")" : "") + "; remove it from allow of " + in);
            }
        }
    }

    SyscallPolicy syscalls() const {
        SyscallPolicy policy;
        if (spec.profile_) {
            if (find_syscall_profile(*spec.profile_) == nullptr) {
                std::string known;
                for (const auto& p : syscall_profiles()) known += (known.empty() ? "" : ", ") + in_quotes(p.name);
                fail("syscalls.profile", "unknown syscall profile " + in_quotes(*spec.profile_) + " in " + section +
                                             ".syscalls]; known profiles: " + known);
            }
            policy.profile = *spec.profile_;
        }
        check_entries("allow", spec.allow_);
        check_entries("deny", spec.deny_);
        policy.on_violation = spec.on_violation_;
        policy.learn = spec.learn_;
        // Every entry was checked above, so resolution cannot fail here.
        policy.allowed = resolve_allowlist(policy.profile, spec.allow_, spec.deny_);
        policy.denied = expand_syscall_names(spec.deny_);
        policy.exec_after_launch = std::any_of(spec.allow_.begin(), spec.allow_.end(), [&](const std::string& name) {
            return (name == "execve" || name == "execveat") && policy.allowed.count(name) != 0;
        });
        return policy;
    }

    // --- [plugin.NAME.grants] ---
    std::vector<GrantConfig> grants() const {
        if (spec.grants_.size() > kMaxGrants)
            fail("grants." + spec.grants_[kMaxGrants].config.name + ".name",
                 "too many grants in " + section + ".grants]; at most " + std::to_string(kMaxGrants) +
                     " (descriptors per message)");
        std::vector<GrantConfig> grants;
        for (const Grant& grant : spec.grants_) {
            if (std::any_of(grants.begin(), grants.end(), [&](const GrantConfig& g) { return g.name == grant.config.name; }))
                fail("grants." + grant.config.name + ".name",
                     "grant " + in_quotes(grant.config.name) + " is given twice in " + context +
                         "; grant names must be unique");
            grants.push_back(checked_grant(grant));
        }
        return grants;
    }

    // An option set on a grant whose kind does not take it.
    void reject_options_of_other_kinds(const GrantConfig& grant, const std::string& key, const std::string& in) const {
        const bool takes_access = grant.kind == GrantKind::Directory || grant.kind == GrantKind::File;
        const std::pair<std::string_view, bool> options[] = {
            {"access", !takes_access && grant.access != GrantAccess::Read},
            {"create", grant.create},
            {"inside_writable", grant.inside_writable},
            {"datagram", grant.datagram},
            {"device", grant.device},
            {"by_path", grant.by_path},
        };
        const auto takes = config_detail::grant_keys(grant.kind);
        for (const auto& [option, set] : options)
            if (set && std::find(takes.begin(), takes.end(), option) == takes.end())
                fail(key + "." + std::string(option), config_detail::key_does_not_apply(option, grant.kind, in));
        if (grant.kind != GrantKind::Memfd && grant.size != 0)
            fail(key, config_detail::key_does_not_apply("memfd", grant.kind, in));
    }

    // An absolute, lexically normalized path.
    std::string absolute_path(const GrantConfig& grant, const std::string& key, const std::string& in) const {
        const std::string_view kind = grant_kind_name(grant.kind);
        reject_nul(key, grant.path, in_quotes(kind), in);
        const fs::path path(grant.path);
        if (!path.is_absolute())
            fail(key, std::string(kind) + " path " + in_quotes(grant.path) + " of " + in +
                          " is not absolute; grant paths must be absolute (start with \"/\")");
        std::string normal = path.lexically_normal().string();
        if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
        return normal;
    }

    GrantConfig checked_grant(const Grant& recorded) const {
        GrantConfig grant = recorded.config;
        const std::string key = "grants." + grant.name;
        const std::string in = "grant " + in_quotes(grant.name);
        if (!is_valid_name(grant.name))
            fail(key + ".name", "invalid grant name " + in_quotes(grant.name) +
                                    "; grant names may contain only letters, digits, '_' and '-'");
        reject_options_of_other_kinds(grant, key, in);
        grant.where = where(key);
        const std::string path_key = key + "." + grant_kind_name(grant.kind);
        std::error_code error;
        switch (grant.kind) {
        case GrantKind::Directory: {
            grant.path = absolute_path(grant, path_key, in);
            if (grant.access != GrantAccess::Read && grant.access != GrantAccess::ReadWrite)
                fail(key + ".access", config_detail::unknown_access(grant_access_name(grant.access), grant.kind, in));
            const auto status = fs::status(grant.path, error);
            if (!fs::exists(status))
                fail(path_key, "directory " + in_quotes(grant.path) + " of " + in +
                                   " does not exist; a dir grant needs an existing directory");
            if (!fs::is_directory(status))
                fail(path_key, in_quotes(grant.path) + " of " + in + " is not a directory; use file = \"...\" to grant a single file");
            break;
        }
        case GrantKind::File: {
            grant.path = absolute_path(grant, path_key, in);
            if (grant.create && grant.access == GrantAccess::Read)
                fail(key + ".create", "create = true in " + in +
                                          " needs access \"write\", \"append\" or \"read-write\"; a read grant cannot "
                                          "create a file");
            const auto status = fs::status(grant.path, error);
            if (fs::is_directory(status))
                fail(path_key, in_quotes(grant.path) + " of " + in + " is a directory; use dir = \"...\" to grant a directory");
            // Early, on the path; the grant opener checks the opened descriptor at every start.
            if (struct stat device{}; !grant.device && ::stat(grant.path.c_str(), &device) == 0) {
                const std::string why = device_grant_refusal(grant.path, device);
                if (!why.empty() && !(S_ISCHR(device.st_mode) && looks_like_terminal(grant.path, device)))
                    fail(path_key, in + ": " + why);
            }
            if (fs::exists(status)) break;
            if (!grant.create)
                fail(path_key, "file " + in_quotes(grant.path) + " of " + in +
                                   " does not exist; create it first, or set create = true with write, append or "
                                   "read-write access");
            const fs::path parent = fs::path(grant.path).parent_path();
            if (!fs::is_directory(parent, error))
                fail(path_key, "cannot create " + in_quotes(grant.path) + " for " + in + ": directory " +
                                   in_quotes(parent.string()) + " does not exist; create = true creates only the file");
            break;
        }
        case GrantKind::Connect: {
            grant.path = absolute_path(grant, path_key, in);
            grant.access = GrantAccess::ReadWrite;
            // The socket's server may start after the config is checked; only a wrong kind of
            // file is certain to fail.
            const auto status = fs::status(grant.path, error);
            if (fs::exists(status) && !fs::is_socket(status))
                fail(path_key, in_quotes(grant.path) + " of " + in +
                                   " is not a UNIX socket; connect must name a listening UNIX-domain socket");
            break;
        }
        case GrantKind::Memfd:
            grant.path.clear();
            grant.size = size(path_key, recorded.size, "memfd size", in);
            grant.access = GrantAccess::ReadWrite;
            break;
        }
        // Landlock has no append-only right: by path the file could be overwritten.
        if (grant.by_path && grant.access == GrantAccess::Append)
            fail(key + ".by_path", "by_path = true in " + in +
                                       " cannot keep a file append-only (Landlock has no append right); an append "
                                       "grant is a descriptor only");
        return grant;
    }

    // --- [plugin.NAME.sandbox], over the built-in defaults ---
    void sandbox(PluginConfig& config) const {
        const std::string in = section + ".sandbox]";
        if (spec.system_paths_) {
            config.system_paths.clear();
            for (std::size_t i = 0; i < spec.system_paths_->size(); ++i)
                config.system_paths.push_back(config_detail::checked_system_path(
                    (*spec.system_paths_)[i], in, where("sandbox.system_paths." + std::to_string(i + 1))));
        } else {
            // What the dynamic loader reads on Debian; /lib64 does not exist on every architecture.
            for (const char* path : {"/usr", "/lib", "/lib64", "/etc/ld.so.cache"}) {
                std::error_code error;
                if (fs::exists(path, error)) config.system_paths.emplace_back(path);
            }
        }
        if (spec.user_) {
            const auto ids = config_detail::checked_user(*spec.user_, in, where("sandbox.user"));
            config.user = *spec.user_;
            config.user_id = ids.uid;
            config.group_id = ids.gid;
        } else if (const auto ids = config_detail::lookup_user("nobody")) {
            config.user = "nobody";
            config.user_id = ids->uid;
            config.group_id = ids->gid;
        }
        // Fail closed by default: a config must say `require = []` to run without a layer.
        config.required_layers = spec.require_.value_or(std::set<IsolationLayer>{
            IsolationLayer::Seccomp, IsolationLayer::Landlock, IsolationLayer::NoNewPrivs});
        config.memory_cgroup = spec.memory_cgroup_.value_or(MemoryCgroupMode::Auto);
        config.namespaces = spec.namespaces_.value_or(NamespacesMode::Auto);
        // Unless the config chose: a uid of its own, except for a config that names its `user`.
        config.dynamic_user = spec.dynamic_user_.value_or(!spec.user_);
        config.pids_cgroup = spec.pids_cgroup_.value_or(CgroupMode::Auto);
        config.cpu_cgroup = spec.cpu_cgroup_.value_or(CgroupMode::Auto);
    }

    // --- restart policy and timeouts ---
    SupervisionConfig supervision() const {
        SupervisionConfig supervision;
        supervision.restart = spec.restart_;
        auto set = [&](std::string_view key, std::chrono::milliseconds& out) {
            if (auto it = spec.supervision_.find(key); it != spec.supervision_.end())
                out = duration(std::string(key), it->second, key, context);
        };
        set("restart_delay", supervision.restart_delay);
        set("restart_max_delay", supervision.restart_max_delay);
        set("start_limit_interval", supervision.start_limit_interval);
        set("ready_timeout", supervision.ready_timeout);
        set("call_timeout", supervision.call_timeout);
        set("stop_timeout", supervision.stop_timeout);
        set("host_cpu_budget", supervision.host_cpu_budget);
        if (supervision.host_cpu_budget.count() < 1 || supervision.host_cpu_budget.count() > 1000)
            fail("host_cpu_budget",
                 "host_cpu_budget in " + context + " is out of range; allowed: 1ms to 1000ms (per second)");
        // A size key, if set, within [least, most]; `allowed` is the range as the error says it.
        auto size_in_range = [&](const char* key, std::size_t& out, std::uint64_t least, std::uint64_t most,
                                 const std::string& allowed) {
            auto it = spec.supervision_.find(key);
            if (it == spec.supervision_.end()) return;
            const std::uint64_t bytes = size(key, it->second, key, context);
            if (bytes < least || bytes > most)
                fail(key, std::string(key) + " in " + context + " is out of range; allowed: " + allowed);
            out = static_cast<std::size_t>(bytes);
        };
        size_in_range("max_message_size", supervision.max_message_size, std::uint64_t{64} << 10,
                      std::uint64_t{64} << 20, "64KiB to 64MiB");
        size_in_range("host_log_budget", supervision.host_log_budget, std::uint64_t{4} << 10, std::uint64_t{64} << 20,
                      "4KiB to 64MiB (per second)");
        if (const auto burst = spec.start_limit_burst_) {
            if (*burst < 1 || *burst > 1'000'000)
                fail("start_limit_burst", "start_limit_burst " + std::to_string(*burst) + " in " + context +
                                              " is out of range; allowed: 1 to 1000000 starts");
            supervision.start_limit_burst = static_cast<std::uint32_t>(*burst);
        }
        if (supervision.restart_max_delay < supervision.restart_delay)
            fail(spec.supervision_.count("restart_max_delay") != 0 ? "restart_max_delay" : "restart_delay",
                 "restart_max_delay is shorter than restart_delay in " + context +
                     "; the backoff ceiling must be at least the first delay");
        return supervision;
    }
};

PluginConfig PluginSpec::build() const {
    const Checks checks{*this};
    if (!is_valid_name(name_))
        checks.fail("name", "invalid plugin name " + in_quotes(name_) +
                                "; plugin names may contain only letters, digits, '_' and '-'");
    PluginConfig config;
    config.name = name_;
    config.where = checks.where("");
    config.executable = checks.executable();
    for (std::size_t i = 0; i < args_.size(); ++i)
        checks.reject_nul("args." + std::to_string(i + 1), args_[i], "\"args\"", checks.context);
    config.args = args_;
    config.protocol = protocol_;
    config.env = checks.environment();
    config.limits = checks.limits();
    config.syscalls = checks.syscalls();
    config.grants = checks.grants();
    checks.sandbox(config);
    config.supervision = checks.supervision();
    config.stdio = stdio_;
    return config;
}

namespace config_detail {

std::string checked_system_path(const std::string& path, const std::string& context, const SourceLocation& where) {
    const fs::path fs_path(path);
    if (!fs_path.is_absolute())
        throw ConfigError(where, "system path " + in_quotes(path) + " in " + context +
                                     " is not absolute; system_paths must be absolute paths such as \"/usr\"");
    std::error_code error;
    if (!fs::exists(fs_path, error))
        throw ConfigError(where, "system path " + in_quotes(path) + " in " + context +
                                     " does not exist; list only existing directories and files the dynamic loader "
                                     "needs");
    return fs_path.lexically_normal().string();
}

UserIds checked_user(const std::string& name, const std::string& context, const SourceLocation& where) {
    const auto ids = lookup_user(name);
    if (!ids)
        throw ConfigError(where, "unknown user " + in_quotes(name) + " in " + context +
                                     "; user must name an existing account (see getent passwd)");
    return *ids;
}

std::vector<std::string_view> grant_keys(GrantKind kind) {
    switch (kind) {
    case GrantKind::Directory: return {"dir", "access", "inside_writable", "by_path"};
    case GrantKind::File: return {"file", "access", "create", "inside_writable", "device", "by_path"};
    case GrantKind::Connect: return {"connect", "inside_writable", "datagram"};
    case GrantKind::Memfd: return {"memfd"};
    }
    return {};
}

std::string key_does_not_apply(std::string_view key, GrantKind kind, const std::string& grant_context) {
    std::string takes;
    for (const auto name : grant_keys(kind)) takes += (takes.empty() ? "" : ", ") + std::string(name);
    const std::string kind_key = grant_kind_name(kind);
    return "key " + in_quotes(key) + " does not apply to a " + kind_key + " grant (" + grant_context + "); a " +
           kind_key + " grant takes: " + takes;
}

std::string_view allowed_access(GrantKind kind) {
    return kind == GrantKind::Directory ? "\"read\", \"read-write\"" : "\"read\", \"write\", \"append\", \"read-write\"";
}

std::string unknown_access(std::string_view value, GrantKind kind, const std::string& grant_context) {
    return "unknown access " + in_quotes(value) + " for " + (kind == GrantKind::Directory ? "dir " : "file ") +
           grant_context + "; allowed: " + std::string(allowed_access(kind));
}

} // namespace config_detail
} // namespace airlock::host
