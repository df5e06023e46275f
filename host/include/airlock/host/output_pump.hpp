#pragma once
/// @file output_pump.hpp
/// Reads a plugin's stdout/stderr pipes into bounded, prefixed lines.
///
/// Memory is bounded whatever the plugin writes: a line longer than `max_line_bytes` is cut
/// (with a marker), at most `max_pending_lines` wait for the consumer (further lines are
/// dropped and counted), and the history ring keeps the last `recent_lines` lines.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace airlock::host {

/// Which of the plugin's output streams a line came from.
enum class OutputStream { Stdout, Stderr };

/// One line of plugin output, without its newline.
struct OutputLine {
    OutputStream stream = OutputStream::Stdout;
    std::string text;        ///< control characters (except tab) replaced by '?'
    bool truncated = false;  ///< the line was longer than the limit; the rest was discarded
};

/// Bounds of an `OutputPump`.
struct OutputPumpLimits {
    std::size_t max_line_bytes = 4096;      ///< longer lines are cut
    std::size_t max_pending_lines = 1024;   ///< lines waiting for `take_pending()`
    std::size_t recent_lines = 256;         ///< history ring (for `airlockctl logs`)
    std::size_t read_budget_bytes = 256 * 1024;  ///< most bytes one `pump()` call reads
};

/// What one `pump()` call saw.
struct PumpResult {
    std::size_t bytes_read = 0;
    bool end_of_stream = false;  ///< the write end is closed (plugin exited or closed it)
};

/// Splits one plugin's output into lines. Not thread-safe; one per plugin.
class OutputPump {
public:
    /// The text marking a cut line, appended to its kept part.
    static constexpr const char* kTruncatedMarker = " [... line truncated]";

    explicit OutputPump(std::string plugin_name, OutputPumpLimits limits = {});

    /// Reads what is available from the non-blocking `fd` (at most `read_budget_bytes`,
    /// so one busy plugin cannot starve others in a shared loop) and splits it into lines.
    /// At end of stream a final unterminated line is flushed.
    /// @throws std::system_error on a read error other than EAGAIN/EINTR.
    PumpResult pump(int fd, OutputStream stream);

    /// Feeds bytes as if read from `stream` (what `pump` does after each read).
    void feed(OutputStream stream, const char* data, std::size_t size);
    /// Emits a pending unterminated line of `stream`, if any.
    void flush(OutputStream stream);

    /// Moves the lines waiting for the consumer out (oldest first).
    std::vector<OutputLine> take_pending();
    /// The most recent lines, oldest first (bounded by `recent_lines`).
    [[nodiscard]] const std::deque<OutputLine>& recent() const noexcept { return recent_; }
    /// Lines dropped because the consumer did not take them in time.
    [[nodiscard]] std::uint64_t dropped_lines() const noexcept { return dropped_lines_; }
    /// Lines that were cut at `max_line_bytes`.
    [[nodiscard]] std::uint64_t truncated_lines() const noexcept { return truncated_lines_; }

    /// "[name] text", the form printed by the host.
    [[nodiscard]] std::string format(const OutputLine& line) const;
    [[nodiscard]] const std::string& plugin_name() const noexcept { return plugin_name_; }

private:
    struct PartialLine {
        std::string text;
        bool discarding = false;  ///< past the limit: skip until the next newline
    };
    PartialLine& partial(OutputStream stream) noexcept;
    void emit(OutputStream stream, std::string text, bool truncated);

    std::string plugin_name_;
    OutputPumpLimits limits_;
    PartialLine stdout_partial_;
    PartialLine stderr_partial_;
    std::deque<OutputLine> pending_;
    std::deque<OutputLine> recent_;
    std::uint64_t dropped_lines_ = 0;
    std::uint64_t truncated_lines_ = 0;
};

} // namespace airlock::host
