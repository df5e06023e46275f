#pragma once
// The journal fields of one supervisor log line (Supervisor::subscribe_logs gives the plugin's
// name and the line as printed). Lines keep their text as MESSAGE; the rest is recovered from
// the supervisor's fixed line formats:
//   "[host] plugin NAME (pid N): forbidden system call SYSCALL (NR): ..."   violation: warning
//   "[host] plugin NAME: state failed ..."                                  error
//   "[host] plugin NAME: did not stop within ..."                           warning
//   "[host] ..." any other host event                                       info
//   "[NAME] error: / warning: / debug: text" an SDK log record of that level  3 / 4 / 7
//   "[NAME] text" the plugin's own output, info log records                 info

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace airlock::host::systemd {

using JournalFields = std::vector<std::pair<std::string, std::string>>;

/// syslog priorities, as journald's PRIORITY= field takes them.
enum class Priority { Error = 3, Warning = 4, Info = 6, Debug = 7 };

/// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=airlock-host, AIRLOCK_PLUGIN, AIRLOCK_PID (the pid in
/// the line, else `pid` when > 0), and for a violation report SYSCALL and SYSCALL_NR.
JournalFields journal_fields_for_line(const std::string& plugin, const std::string& line, pid_t pid);

} // namespace airlock::host::systemd
