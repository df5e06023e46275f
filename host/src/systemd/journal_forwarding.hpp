#pragma once
// Sends every supervisor log line to the journal as a structured record (journal_fields.hpp)
// instead of standard output.

#include "journal_writer.hpp"

#include <airlock/host/supervisor.hpp>

namespace airlock::host::systemd {

/// From now on, `supervisor`'s log lines go to `journal` (which must outlive it) and no
/// longer to its output descriptor (the journal would otherwise get them twice).
void forward_logs_to_journal(Supervisor& supervisor, JournalWriter& journal);

} // namespace airlock::host::systemd
