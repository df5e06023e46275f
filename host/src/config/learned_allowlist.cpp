// learned_allow_line: what a learn run recorded, as the allow line a user pastes.
#include <airlock/host/syscall_sets.hpp>

namespace airlock::host {

std::string learned_allow_line(const std::set<std::string>& used, const std::set<std::string>& allowed) {
    std::set<std::string> remaining = used;
    std::vector<std::string> entries;
    for (const SyscallGroup& group : syscall_groups()) {
        std::set<std::string> missing;
        for (const std::string& member : expand_syscall_names({group.name}))
            if (native_syscall_number(member) && !allowed.count(member)) missing.insert(member);
        if (missing.size() < 2) continue;
        bool all_used = true;
        for (const std::string& name : missing) all_used = all_used && remaining.count(name) != 0;
        if (!all_used) continue;
        entries.push_back(group.name);
        for (const std::string& name : missing) remaining.erase(name);
    }
    entries.insert(entries.end(), remaining.begin(), remaining.end());
    std::string line = "allow = [";
    for (std::size_t i = 0; i < entries.size(); ++i) line += (i ? ", \"" : "\"") + entries[i] + "\"";
    return line + "]";
}

} // namespace airlock::host
