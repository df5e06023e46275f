#include "journal_forwarding.hpp"

#include <map>
#include <memory>

namespace airlock::host::systemd {

void forward_logs_to_journal(Supervisor& supervisor, JournalWriter& journal) {
    supervisor.set_output_fd(-1);
    // Each plugin's current pid, refreshed on its state lines (a new process always comes with
    // one), so that a plugin's output lines do not each take a status snapshot.
    auto pids = std::make_shared<std::map<std::string, pid_t>>();
    supervisor.subscribe_logs([&supervisor, &journal, pids](const std::string& plugin, const std::string& line) {
        if (line.starts_with("[host] plugin " + plugin + ": state ") || !pids->contains(plugin)) {
            for (const auto& status : supervisor.status()) (*pids)[status.name] = status.pid;
        }
        journal.send(journal_fields_for_line(plugin, line, (*pids)[plugin]));
    });
}

} // namespace airlock::host::systemd
