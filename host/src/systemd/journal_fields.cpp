#include "journal_fields.hpp"

#include <regex>

namespace airlock::host::systemd {

JournalFields journal_fields_for_line(const std::string& plugin, const std::string& line, pid_t pid) {
    static const std::regex violation(R"(^\[host\] plugin \S+ \(pid ([0-9]+)\): forbidden system call (\S+) \(([0-9]+)\))");
    const std::string event_prefix = "[host] plugin " + plugin + ": ";
    Priority priority = Priority::Info;
    std::string syscall, syscall_nr;
    std::smatch match;
    if (std::regex_search(line, match, violation)) {
        priority = Priority::Warning;
        pid = static_cast<pid_t>(std::stol(match[1]));
        syscall = match[2];
        syscall_nr = match[3];
    } else if (line.starts_with(event_prefix + "state failed")) {
        priority = Priority::Error;
    } else if (line.starts_with(event_prefix + "did not stop within")) {
        priority = Priority::Warning;
    } else if (const std::string output_prefix = "[" + plugin + "] "; line.starts_with(output_prefix)) {
        // The SDK's log records other than info carry their level: "[NAME] warning: text".
        const std::string_view text = std::string_view(line).substr(output_prefix.size());
        if (text.starts_with("error: ")) priority = Priority::Error;
        else if (text.starts_with("warning: ")) priority = Priority::Warning;
        else if (text.starts_with("debug: ")) priority = Priority::Debug;
    }
    JournalFields fields{{"MESSAGE", line},
                         {"PRIORITY", std::to_string(static_cast<int>(priority))},
                         {"SYSLOG_IDENTIFIER", "airlock-host"},
                         {"AIRLOCK_PLUGIN", plugin}};
    if (pid > 0) fields.emplace_back("AIRLOCK_PID", std::to_string(pid));
    if (!syscall.empty()) {
        fields.emplace_back("SYSCALL", syscall);
        fields.emplace_back("SYSCALL_NR", syscall_nr);
    }
    return fields;
}

} // namespace airlock::host::systemd
