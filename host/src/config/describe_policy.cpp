// Human-readable effective policy of one plugin, printed by `airlock-host check`.
#include <sstream>

#include "airlock/host/config_loader.hpp"
#include "airlock/host/isolation_layers.hpp"
#include "sections.hpp"
#include "units.hpp"

namespace airlock::host {
namespace {

using config_detail::format_duration;
using config_detail::format_size;

std::string_view name_of(PluginProtocol protocol) {
    return protocol == PluginProtocol::Airlock ? "airlock" : "none";
}

std::string_view name_of(ViolationAction action) {
    switch (action) {
    case ViolationAction::Kill: return "kill";
    case ViolationAction::Errno: return "errno";
    case ViolationAction::Log: return "log";
    }
    return "?";
}

std::string_view name_of(NamespacesMode mode) {
    switch (mode) {
    case NamespacesMode::Auto: return "auto (private mount/net/uts/ipc namespaces when the host can create them)";
    case NamespacesMode::Require: return "require (the plugin does not start without private namespaces)";
    case NamespacesMode::Off: return "off (the host's namespaces)";
    }
    return "?";
}

std::string_view name_of(MemoryCgroupMode mode) {
    switch (mode) {
    case MemoryCgroupMode::Auto: return "auto (a memory cgroup when the host can create one, else RLIMIT_AS only)";
    case MemoryCgroupMode::Require: return "require (the plugin does not start without a memory cgroup)";
    case MemoryCgroupMode::Off: return "off (RLIMIT_AS only)";
    }
    return "?";
}

std::string_view cgroup_mode_text(CgroupMode mode) {
    switch (mode) {
    case CgroupMode::Auto: return "auto (enforced when the host can create the cgroup)";
    case CgroupMode::Require: return "require (the plugin does not start without the cgroup)";
    case CgroupMode::Off: return "off (not enforced)";
    }
    return "?";
}

std::string_view name_of(RestartPolicy restart) {
    switch (restart) {
    case RestartPolicy::No: return "no";
    case RestartPolicy::OnFailure: return "on-failure";
    case RestartPolicy::Always: return "always";
    }
    return "?";
}

template <typename Range, typename Format>
std::string joined(const Range& items, Format format, std::string_view separator = ", ") {
    std::string result;
    for (const auto& item : items) {
        if (!result.empty())
            result += separator;
        result += format(item);
    }
    return result.empty() ? "(none)" : result;
}

void describe_limits(std::ostream& out, const Limits& limits) {
    auto line = [&](std::string_view key, const std::optional<std::uint64_t>& value, auto format) {
        out << "    " << key << ": " << (value ? format(*value) : std::string("inherited from the host"))
            << "\n";
    };
    const auto count = [](std::uint64_t v) { return std::to_string(v); };
    out << "  limits:\n";
    line("memory", limits.memory_bytes, [](std::uint64_t v) { return format_size(v); });
    line("cpu", limits.cpu_seconds, [](std::uint64_t v) { return std::to_string(v) + "s"; });
    line("open_files", limits.open_files, count);
    line("processes", limits.processes, [](std::uint64_t v) {
        return std::to_string(v) + (v == 1 ? " (threads only, no child processes)" : "");
    });
    line("file_size", limits.file_size_bytes, [](std::uint64_t v) { return format_size(v); });
    line("tasks", limits.tasks, [](std::uint64_t v) { return std::to_string(v) + " (threads and processes)"; });
    out << "    cpu_quota: "
        << (limits.cpu_quota_percent ? std::to_string(*limits.cpu_quota_percent) + "% of one CPU" : "none") << "\n";
    out << "    wall: " << (limits.wall ? format_duration(*limits.wall) : std::string("none")) << "\n";
}

void describe_grants(std::ostream& out, const std::vector<GrantConfig>& grants) {
    out << "  grants:" << (grants.empty() ? " (none)" : "") << "\n";
    for (const auto& grant : grants) {
        out << "    " << grant.name << ": " << grant_kind_name(grant.kind) << " ";
        if (grant.kind == GrantKind::Memfd)
            out << format_size(grant.size) << " shared memory";
        else
            out << grant.path;
        if (grant.kind == GrantKind::File || grant.kind == GrantKind::Directory)
            out << " (" << grant_access_name(grant.access) << (grant.create ? ", created if missing" : "") << ")";
        if (grant.datagram) out << " [datagram: can reach any datagram socket on the machine]";
        if (grant.inside_writable) out << " [inside a plugin-writable directory: the plugin there picks the file]";
        if (grant.by_path) out << " [also by path inside the sandbox]";
        out << "\n";
        if (grant.device)
            out << "    warning: grant " << grant.name << " hands the plugin a device: every ioctl of it is allowed, "
                << "and ioctl requests are no longer limited on any descriptor\n";
    }
}

void describe_syscalls(std::ostream& out, const SyscallPolicy& policy, const std::string& exec_list) {
    out << "  syscalls: profile " << policy.profile << ", on violation "
        << (policy.learn ? std::string_view("learn") : name_of(policy.on_violation)) << ", "
        << policy.allowed.size() << " allowed\n";
    // Wrapped to stay readable in a terminal.
    std::string line = "    ";
    for (const auto& name : policy.allowed) {
        if (line.size() + name.size() + 1 > 96) {
            out << line << "\n";
            line = "    ";
        }
        line += name + " ";
    }
    if (line.size() > 4)
        out << line << "\n";
    if (!policy.denied.empty())
        out << "    explicitly denied: " << joined(policy.denied, [](const std::string& s) { return s; })
            << "\n";
    if (policy.exec_after_launch)
        out << "    execve allowed: the plugin may exec any file it can read and Landlock lets it execute: "
            << exec_list << "\n";
    // Allowed calls that reach beyond the grants because Landlock does not check them.
    for (const char* name : {"inotify_add_watch", "getxattr", "lgetxattr", "listxattr", "llistxattr"})
        if (policy.allowed.count(name))
            out << "    warning: " << name << " is allowed; Landlock does not check it, so it works on "
                << "paths outside the grants too\n";
    // A machine-wide counter no uid or cgroup bounds (docs/sandbox.md, "Not covered").
    if (policy.allowed.count("io_setup"))
        out << "    warning: io_setup is allowed; AIO contexts are counted machine-wide (fs.aio-max-nr), so the "
            << "plugin can take them all and make io_setup fail for every process on the machine\n";
}

} // namespace

std::string describe_policy(const PluginConfig& plugin) {
    std::ostringstream out;
    out << "plugin " << plugin.name << "\n";
    out << "  exec: " << plugin.executable;
    for (const auto& arg : plugin.args)
        out << " " << arg;
    out << "\n";
    out << "  protocol: " << name_of(plugin.protocol) << "\n";
    out << "  env: " << joined(plugin.env, [](const auto& kv) { return kv.first + "=" + kv.second; })
        << " (plus AIRLOCK_* set by the host)\n";
    out << "  user when the host runs as root: ";
    if (plugin.dynamic_user)
        out << "dynamic (a uid and gid of its own, allocated at start; per-user kernel limits not shared)\n";
    else if (plugin.user) {
        out << *plugin.user << " (uid " << plugin.user_id.value_or(0) << ", gid "
            << plugin.group_id.value_or(0) << ")\n";
        // Same uid, dumpable: the kernel lets any process of that uid ptrace the plugin.
        if (plugin.user_id.value_or(0) != 0)
            out << "    warning: every other process of uid " << *plugin.user_id << " on this machine can ptrace "
                << "the plugin and take its descriptors (pidfd_getfd), the grants the host opened included; "
                << "dynamic_user = true gives it a uid of its own\n";
    }
    else
        out << "(none configured)\n";
    for (const std::string& warning : config_detail::plugin_user_access_warnings(plugin))
        out << "    warning: " << warning << "\n";
    out << "  required layers: "
        << joined(plugin.required_layers, [](IsolationLayer l) { return std::string(isolation_layer_name(l)); }) << "\n";
    out << "  memory_cgroup: " << name_of(plugin.memory_cgroup)
        << (plugin.limits.memory_bytes ? "" : "; unused, no memory limit") << "\n";
    out << "  namespaces: " << name_of(plugin.namespaces) << "\n";
    out << "  pids_cgroup: " << cgroup_mode_text(plugin.pids_cgroup) << (plugin.limits.tasks ? "" : "; unused, no tasks limit")
        << "\n";
    out << "  cpu_cgroup: " << cgroup_mode_text(plugin.cpu_cgroup)
        << (plugin.limits.cpu_quota_percent ? "" : "; unused, no cpu_quota") << "\n";
    out << "  system paths (read-only): "
        << joined(plugin.system_paths, [](const std::string& s) { return s; }) << "\n";
    describe_limits(out, plugin.limits);
    describe_grants(out, plugin.grants);
    // What Landlock lets execute once execve is allowed: the system paths and the executable.
    std::string exec_list;
    for (const auto& path : plugin.system_paths) exec_list += path + " (beneath), ";
    exec_list += plugin.executable;
    describe_syscalls(out, plugin.syscalls, exec_list);
    const auto& s = plugin.supervision;
    out << "  supervision: restart " << name_of(s.restart) << " (delay " << format_duration(s.restart_delay)
        << " up to " << format_duration(s.restart_max_delay) << ", at most " << s.start_limit_burst
        << " starts in " << format_duration(s.start_limit_interval) << "), ready_timeout "
        << format_duration(s.ready_timeout) << ", call_timeout " << format_duration(s.call_timeout)
        << ", stop_timeout " << format_duration(s.stop_timeout) << "\n";
    return out.str();
}

} // namespace airlock::host
