#include "config_compare.hpp"

#include <tuple>

namespace airlock::host::detail {
namespace {

auto key(const Limits& l) { return std::tie(l.memory_bytes, l.cpu_seconds, l.open_files, l.processes, l.file_size_bytes, l.tasks,
                                                  l.cpu_quota_percent, l.wall); }
auto key(const SyscallPolicy& p) { return std::tie(p.profile, p.allowed, p.denied, p.on_violation, p.exec_after_launch); }
auto key(const GrantConfig& g) {
    return std::tie(g.name, g.kind, g.path, g.access, g.create, g.size, g.inside_writable, g.datagram, g.device, g.by_path);
}
auto key(const SupervisionConfig& s) {
    return std::tie(s.restart, s.restart_delay, s.restart_max_delay, s.start_limit_burst, s.start_limit_interval,
                    s.ready_timeout, s.call_timeout, s.stop_timeout, s.host_cpu_budget, s.max_message_size,
                    s.host_log_budget);
}

bool same_grants(const std::vector<GrantConfig>& a, const std::vector<GrantConfig>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (key(a[i]) != key(b[i])) return false;
    }
    return true;
}

} // namespace

bool same_plugin_config(const PluginConfig& a, const PluginConfig& b) {
    return a.name == b.name && a.executable == b.executable && a.args == b.args && a.env == b.env &&
           a.protocol == b.protocol && key(a.limits) == key(b.limits) && key(a.syscalls) == key(b.syscalls) &&
           same_grants(a.grants, b.grants) && a.system_paths == b.system_paths && a.user == b.user &&
           a.user_id == b.user_id && a.group_id == b.group_id && a.dynamic_user == b.dynamic_user &&
           a.required_layers == b.required_layers &&
           a.memory_cgroup == b.memory_cgroup && a.pids_cgroup == b.pids_cgroup &&
           a.cpu_cgroup == b.cpu_cgroup && key(a.supervision) == key(b.supervision);
}

} // namespace airlock::host::detail
