// LogWriter: bounded, non-blocking hand-off of log lines to a writer thread (see the header).
#include "log_writer.hpp"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace airlock::host::detail {
namespace {

// How long the destructor lets queued lines drain into a slow reader before giving up.
constexpr auto kFinalFlush = std::chrono::seconds(2);
constexpr int kPollSliceMs = 100;

} // namespace

LogWriter::LogWriter(int fd, std::size_t max_queued_bytes)
    : fd_(fd), max_queued_bytes_(max_queued_bytes), thread_([this] { run(); }) {}

LogWriter::~LogWriter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void LogWriter::write(std::string text) {
    {
        std::lock_guard lock(mutex_);
        if (queued_bytes_ + text.size() > max_queued_bytes_) {
            ++dropped_;
            return;
        }
        queued_bytes_ += text.size();
        queue_.push_back(std::move(text));
    }
    wake_.notify_one();
}

void LogWriter::run() {
    for (;;) {
        std::deque<std::string> batch;
        std::uint64_t dropped = 0;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || dropped_ > 0; });
            if (stopping_ && queue_.empty()) return;
            batch.swap(queue_);
            queued_bytes_ = 0;
            dropped = dropped_;
            dropped_ = 0;
        }
        if (dropped > 0) {
            batch.push_front("[host] " + std::to_string(dropped) +
                             " log lines dropped: the host's output was not read fast enough\n");
        }
        for (const std::string& text : batch) {
            if (!write_fully(text)) return;  // the output is gone or stalled at shutdown
        }
    }
}

// Writes `text`, waiting for the output in short slices so that a shutdown is noticed; false
// when the output failed (closed pipe) or the final flush ran out of time. Writes go in pieces
// of at most PIPE_BUF: after POLLOUT a pipe takes that much without blocking.
bool LogWriter::write_fully(const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        pollfd p{fd_, POLLOUT, 0};
        const int ready = ::poll(&p, 1, kPollSliceMs);
        if (ready < 0 && errno != EINTR) return false;
        if (ready <= 0) {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                if (!give_up_at_) give_up_at_ = Clock::now() + kFinalFlush;
                if (Clock::now() >= *give_up_at_) return false;
            }
            continue;
        }
        if ((p.revents & (POLLERR | POLLNVAL)) != 0) return false;
        const ssize_t written = ::write(fd_, text.data() + done, std::min<std::size_t>(text.size() - done, PIPE_BUF));
        if (written < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return false;
        }
        done += static_cast<std::size_t>(written);
    }
    return true;
}

} // namespace airlock::host::detail
