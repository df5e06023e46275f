#pragma once
// JournalWriter: log records straight to systemd-journald, with structured fields, through its
// native protocol (one datagram per record on a UNIX datagram socket; see systemd's
// "Native Journal Protocol" document).
//
// Why not sd_journal_send(): libsystemd sends only to the fixed /run/systemd/journal/socket,
// so tests could not receive the records without replacing the system's journald. The
// protocol is small and stable; this class speaks it to the socket named by
// AIRLOCK_JOURNAL_SOCKET, by default /run/systemd/journal/socket.
//
// Sending never blocks the event loop: the socket is non-blocking, and a record the socket
// will not take now (journald behind, or gone) is dropped and counted.

#include "journal_fields.hpp"

#include <airlock/connection/unique_fd.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace airlock::host::systemd {

/// The native protocol's datagram for `fields`: "KEY=value\n" per field, or, for a value
/// holding a newline, "KEY\n" + its length (64-bit little endian) + value + "\n".
std::string journal_datagram(const JournalFields& fields);

class JournalWriter {
public:
    /// A writer when the host's standard output or error is connected to the journal:
    /// JOURNAL_STREAM ("DEVICE:INODE", set by systemd) names that descriptor's device and
    /// inode. nullptr otherwise (logs then stay on standard output).
    static std::unique_ptr<JournalWriter> open_if_journal_stream();
    /// A writer to the socket at `socket_path`.
    explicit JournalWriter(std::string socket_path);

    /// Sends one record. False when it was dropped (counted in dropped()).
    bool send(const JournalFields& fields);
    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }
    [[nodiscard]] const std::string& socket_path() const { return socket_path_; }

private:
    std::string socket_path_;
    airlock::UniqueFd socket_;
    std::uint64_t dropped_ = 0;
};

} // namespace airlock::host::systemd
