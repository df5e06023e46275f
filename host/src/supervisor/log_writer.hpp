#pragma once
// LogWriter: the supervisor's log lines to its output (standard output by default) without
// ever blocking the event loop. A reader that is slow or stopped (a paused pager, a stalled
// pipe) must not stop the host from serving every other plugin, so lines go through a bounded
// queue to one writer thread; when the queue is full, lines are dropped and counted, and the
// count is written once the output moves again.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace airlock::host::detail {

class LogWriter {
public:
    /// Writes to `fd` (not owned) from a thread of its own, holding at most `max_queued_bytes`.
    explicit LogWriter(int fd, std::size_t max_queued_bytes = std::size_t{1} << 20);
    /// Writes what is still queued, for at most two seconds more, then stops the thread.
    ~LogWriter();
    LogWriter(const LogWriter&) = delete;
    LogWriter& operator=(const LogWriter&) = delete;

    /// Queues `text` (one or more whole lines); never blocks. Dropped when the queue is full.
    void write(std::string text);

private:
    using Clock = std::chrono::steady_clock;
    void run();
    bool write_fully(const std::string& text);

    const int fd_;
    const std::size_t max_queued_bytes_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::string> queue_;
    std::size_t queued_bytes_ = 0;
    std::uint64_t dropped_ = 0;  ///< lines dropped since the last report of them
    bool stopping_ = false;
    std::optional<Clock::time_point> give_up_at_;  ///< writer thread only: end of the final flush
    std::thread thread_;
};

} // namespace airlock::host::detail
