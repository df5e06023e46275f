// PluginSpec's setters: they only record what the caller said; build()
// (plugin_spec_checks.cpp) validates it all at once.
#include "airlock/host/plugin_spec.hpp"

#include <unistd.h>

#include "sections.hpp"

namespace airlock::host {
namespace {

std::string duration_text(std::chrono::milliseconds duration) {
    return std::to_string(duration.count()) + "ms";
}

} // namespace

PluginSpec::PluginSpec(std::string name) : name_(std::move(name)) {}

PluginSpec& PluginSpec::exec(std::string path) { exec_ = std::move(path); return *this; }
PluginSpec& PluginSpec::base_directory(std::string directory) { base_directory_ = std::move(directory); return *this; }
PluginSpec& PluginSpec::args(std::vector<std::string> arguments) { args_ = std::move(arguments); return *this; }
PluginSpec& PluginSpec::arg(std::string argument) { args_.push_back(std::move(argument)); return *this; }
PluginSpec& PluginSpec::env(std::string name, std::string value) {
    env_.emplace_back(std::move(name), std::move(value));
    return *this;
}
PluginSpec& PluginSpec::protocol(PluginProtocol protocol) { protocol_ = protocol; return *this; }
PluginSpec& PluginSpec::stdio(StdioMode mode) { stdio_ = mode; return *this; }

PluginSpec& PluginSpec::grant(GrantConfig grant) {
    Value size{std::nullopt, static_cast<std::int64_t>(grant.size)};
    grants_.push_back({std::move(grant), std::move(size)});
    return *this;
}

PluginSpec& PluginSpec::grant_dir(std::string name, std::string path, GrantAccess access) {
    GrantConfig config;
    config.name = std::move(name);
    config.kind = GrantKind::Directory;
    config.path = std::move(path);
    config.access = access;
    return grant(std::move(config));
}

PluginSpec& PluginSpec::grant_file(std::string name, std::string path, GrantAccess access, bool create) {
    GrantConfig config;
    config.name = std::move(name);
    config.kind = GrantKind::File;
    config.path = std::move(path);
    config.access = access;
    config.create = create;
    return grant(std::move(config));
}

PluginSpec& PluginSpec::grant_connect(std::string name, std::string socket_path, bool datagram) {
    GrantConfig config;
    config.name = std::move(name);
    config.kind = GrantKind::Connect;
    config.path = std::move(socket_path);
    config.datagram = datagram;
    return grant(std::move(config));
}

PluginSpec& PluginSpec::grant_memfd(std::string name, std::string_view size) {
    GrantConfig config;
    config.name = std::move(name);
    config.kind = GrantKind::Memfd;
    grants_.push_back({std::move(config), Value{std::string(size), 0}});
    return *this;
}

PluginSpec& PluginSpec::grant_memfd(std::string name, std::int64_t bytes) {
    GrantConfig config;
    config.name = std::move(name);
    config.kind = GrantKind::Memfd;
    grants_.push_back({std::move(config), Value{std::nullopt, bytes}});
    return *this;
}

PluginSpec& PluginSpec::memory(std::string_view size) { limits_["memory"] = {std::string(size), 0}; return *this; }
PluginSpec& PluginSpec::memory(std::int64_t bytes) { limits_["memory"] = {std::nullopt, bytes}; return *this; }
PluginSpec& PluginSpec::cpu(std::string_view duration) { limits_["cpu"] = {std::string(duration), 0}; return *this; }
PluginSpec& PluginSpec::cpu(std::chrono::milliseconds duration) { return cpu(duration_text(duration)); }
PluginSpec& PluginSpec::open_files(std::int64_t count) { limits_["open_files"] = {std::nullopt, count}; return *this; }
PluginSpec& PluginSpec::processes(std::int64_t count) { limits_["processes"] = {std::nullopt, count}; return *this; }
PluginSpec& PluginSpec::file_size(std::string_view size) { limits_["file_size"] = {std::string(size), 0}; return *this; }
PluginSpec& PluginSpec::file_size(std::int64_t bytes) { limits_["file_size"] = {std::nullopt, bytes}; return *this; }
PluginSpec& PluginSpec::tasks(std::int64_t count) { limits_["tasks"] = {std::nullopt, count}; return *this; }
PluginSpec& PluginSpec::cpu_quota(std::string_view percent) { limits_["cpu_quota"] = {std::string(percent), 0}; return *this; }
PluginSpec& PluginSpec::cpu_quota_percent(std::int64_t percent) { return cpu_quota(std::to_string(percent) + "%"); }
PluginSpec& PluginSpec::wall(std::string_view duration) { limits_["wall"] = {std::string(duration), 0}; return *this; }
PluginSpec& PluginSpec::wall(std::chrono::milliseconds duration) { return wall(duration_text(duration)); }

PluginSpec& PluginSpec::syscall_profile(std::string profile) { profile_ = std::move(profile); return *this; }
PluginSpec& PluginSpec::allow(std::vector<std::string> names) {
    allow_.insert(allow_.end(), names.begin(), names.end());
    return *this;
}
PluginSpec& PluginSpec::deny(std::vector<std::string> names) {
    deny_.insert(deny_.end(), names.begin(), names.end());
    return *this;
}
PluginSpec& PluginSpec::on_violation(ViolationAction action) { on_violation_ = action; learn_ = false; return *this; }
PluginSpec& PluginSpec::learn() { on_violation_ = ViolationAction::Log; learn_ = true; return *this; }

PluginSpec& PluginSpec::system_paths(std::vector<std::string> paths) { system_paths_ = std::move(paths); return *this; }
PluginSpec& PluginSpec::user(std::string name) { user_ = std::move(name); return *this; }
PluginSpec& PluginSpec::require(std::set<IsolationLayer> layers) { require_ = std::move(layers); return *this; }
PluginSpec& PluginSpec::memory_cgroup(MemoryCgroupMode mode) { memory_cgroup_ = mode; return *this; }
PluginSpec& PluginSpec::namespaces(NamespacesMode mode) { namespaces_ = mode; return *this; }
PluginSpec& PluginSpec::dynamic_user(bool on) { dynamic_user_ = on; return *this; }
PluginSpec& PluginSpec::pids_cgroup(CgroupMode mode) { pids_cgroup_ = mode; return *this; }
PluginSpec& PluginSpec::cpu_cgroup(CgroupMode mode) { cpu_cgroup_ = mode; return *this; }

PluginSpec& PluginSpec::restart(RestartPolicy policy) { restart_ = policy; return *this; }
PluginSpec& PluginSpec::start_limit_burst(std::int64_t starts) { start_limit_burst_ = starts; return *this; }

#define AIRLOCK_DURATION_SETTER(key)                                                               \
    PluginSpec& PluginSpec::key(std::string_view duration) {                                       \
        supervision_[#key] = {std::string(duration), 0};                                           \
        return *this;                                                                              \
    }                                                                                              \
    PluginSpec& PluginSpec::key(std::chrono::milliseconds duration) { return key(duration_text(duration)); }
AIRLOCK_DURATION_SETTER(restart_delay)
AIRLOCK_DURATION_SETTER(restart_max_delay)
AIRLOCK_DURATION_SETTER(start_limit_interval)
AIRLOCK_DURATION_SETTER(ready_timeout)
AIRLOCK_DURATION_SETTER(call_timeout)
AIRLOCK_DURATION_SETTER(stop_timeout)
AIRLOCK_DURATION_SETTER(host_cpu_budget)
#undef AIRLOCK_DURATION_SETTER

// A size given as text ("4MiB") or as bytes, kept by its TOML key like the durations.
#define AIRLOCK_SIZE_SETTER(key)                                                                  \
    PluginSpec& PluginSpec::key(std::string_view size) {                                           \
        supervision_[#key] = {std::string(size), 0};                                               \
        return *this;                                                                              \
    }                                                                                              \
    PluginSpec& PluginSpec::key(std::int64_t bytes) {                                              \
        supervision_[#key] = {std::nullopt, bytes};                                                \
        return *this;                                                                              \
    }
AIRLOCK_SIZE_SETTER(max_message_size)
AIRLOCK_SIZE_SETTER(host_log_budget)
#undef AIRLOCK_SIZE_SETTER

PluginSpec& PluginSpec::locate(std::string key, SourceLocation where) {
    locations_[std::move(key)] = std::move(where);
    return *this;
}

HostConfig build_host_config(const std::vector<PluginSpec>& plugins) {
    HostConfig config;
    config.control_users = {static_cast<std::uint32_t>(geteuid())};
    for (const PluginSpec& spec : plugins) {
        PluginConfig plugin = spec.build();
        const std::string name = plugin.name;
        const SourceLocation where = plugin.where;
        if (!config.plugins.emplace(name, std::move(plugin)).second)
            throw ConfigError(where, "plugin \"" + name + "\" is given twice; plugin names must be unique");
    }
    config_detail::check_paths_inside_writable_grants(config);
    return config;
}

} // namespace airlock::host
