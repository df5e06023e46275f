// OutputPump: bounded line splitting of plugin output.
#include <airlock/host/output_pump.hpp>
#include <airlock/connection/printable_text.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace airlock::host {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

} // namespace

OutputPump::OutputPump(std::string plugin_name, OutputPumpLimits limits)
    : plugin_name_(std::move(plugin_name)), limits_(limits) {}

OutputPump::PartialLine& OutputPump::partial(OutputStream stream) noexcept {
    return stream == OutputStream::Stdout ? stdout_partial_ : stderr_partial_;
}

PumpResult OutputPump::pump(int fd, OutputStream stream) {
    PumpResult result;
    std::array<char, kReadChunk> buffer;
    while (result.bytes_read < limits_.read_budget_bytes) {
        ssize_t size = ::read(fd, buffer.data(), buffer.size());
        if (size > 0) {
            result.bytes_read += static_cast<std::size_t>(size);
            feed(stream, buffer.data(), static_cast<std::size_t>(size));
            continue;
        }
        if (size == 0) {
            result.end_of_stream = true;
            flush(stream);
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        throw std::system_error(errno, std::generic_category(),
                                "reading output of plugin '" + plugin_name_ + "'");
    }
    return result;
}

void OutputPump::feed(OutputStream stream, const char* data, std::size_t size) {
    PartialLine& line = partial(stream);
    const char* end = data + size;
    while (data < end) {
        const char* newline = static_cast<const char*>(std::memchr(data, '\n', static_cast<std::size_t>(end - data)));
        const char* segment_end = newline != nullptr ? newline : end;
        if (!line.discarding) {
            std::size_t room = limits_.max_line_bytes - line.text.size();
            std::size_t take = std::min(room, static_cast<std::size_t>(segment_end - data));
            line.text.append(data, take);
            if (static_cast<std::size_t>(segment_end - data) > take) {
                // Too long: emit the kept part now and skip the rest up to the newline.
                emit(stream, std::move(line.text), true);
                line.text.clear();
                line.discarding = true;
            }
        }
        if (newline == nullptr) break;
        if (!line.discarding) emit(stream, std::move(line.text), false);
        line.text.clear();
        line.discarding = false;
        data = newline + 1;
    }
}

void OutputPump::flush(OutputStream stream) {
    PartialLine& line = partial(stream);
    if (!line.discarding && !line.text.empty()) emit(stream, std::move(line.text), false);
    line.text.clear();
    line.discarding = false;
}

void OutputPump::emit(OutputStream stream, std::string text, bool truncated) {
    // A plugin must not be able to drive the host's terminal (escape sequences, \r tricks,
    // C1 controls such as U+009B CSI) or split the host's log lines.
    make_printable(text);
    if (truncated) {
        text += kTruncatedMarker;
        ++truncated_lines_;
    }
    OutputLine line{stream, std::move(text), truncated};
    if (limits_.recent_lines > 0) {
        if (recent_.size() == limits_.recent_lines) recent_.pop_front();
        recent_.push_back(line);
    }
    if (pending_.size() >= limits_.max_pending_lines) {
        ++dropped_lines_;  // the consumer is behind: drop rather than grow
        return;
    }
    pending_.push_back(std::move(line));
}

std::vector<OutputLine> OutputPump::take_pending() {
    std::vector<OutputLine> lines(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
    pending_.clear();
    return lines;
}

std::string OutputPump::format(const OutputLine& line) const {
    return "[" + plugin_name_ + "] " + line.text;
}

} // namespace airlock::host
