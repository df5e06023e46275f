#pragma once
/// @file stream_relay.hpp
/// Copies a byte stream from one descriptor to another without loss and without change.
///
/// `airlock-host exec` pumps a terminal through a pipe this way (the plugin never gets the
/// caller's terminal, see docs/sandbox-a-command.md). The relay reads only while its buffer
/// has room, so a slow reader slows the writer down (backpressure) instead of losing data;
/// memory stays bounded by the buffer. It owns neither descriptor and does one read or one
/// write per readiness event, so a blocking descriptor shared with the caller (a terminal)
/// never stalls it for longer than that one call.

#include <cstddef>
#include <string>

namespace airlock::host {

class StreamRelay {
public:
    /// Relays from `from` to `to` (either may be blocking; poll them with the events below).
    StreamRelay(int from, int to, std::size_t capacity = 64 * 1024);

    [[nodiscard]] int from() const noexcept { return from_; }
    [[nodiscard]] int to() const noexcept { return to_; }
    /// POLLIN while the source is open and the buffer has room, else 0.
    [[nodiscard]] short read_events() const noexcept;
    /// POLLOUT while bytes wait to be written, else 0.
    [[nodiscard]] short write_events() const noexcept;

    /// One read from the source (call when it polled readable or hung up).
    void on_readable();
    /// One write to the destination (call when it polled writable or failed).
    void on_writable();
    /// Stops reading; what is buffered is still written.
    void stop_reading() noexcept { source_open_ = false; }

    /// The source ended (end of stream, error or stop_reading) and everything read was
    /// written, or the destination failed (what was left is discarded).
    [[nodiscard]] bool finished() const noexcept { return destination_failed_ || (!source_open_ && buffer_.empty()); }
    /// The destination refused a write (e.g. EPIPE: its reader went away).
    [[nodiscard]] bool destination_failed() const noexcept { return destination_failed_; }

private:
    int from_;
    int to_;
    std::size_t capacity_;
    std::string buffer_;  ///< read, not yet written (at most capacity_)
    bool source_open_ = true;
    bool destination_failed_ = false;
};

} // namespace airlock::host
