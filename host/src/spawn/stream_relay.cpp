// StreamRelay: lossless byte copying with backpressure (see stream_relay.hpp).
#include <airlock/host/stream_relay.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace airlock::host {

StreamRelay::StreamRelay(int from, int to, std::size_t capacity) : from_(from), to_(to), capacity_(capacity) {
    buffer_.reserve(capacity_);
}

short StreamRelay::read_events() const noexcept {
    return source_open_ && !destination_failed_ && buffer_.size() < capacity_ ? POLLIN : 0;
}

short StreamRelay::write_events() const noexcept { return !destination_failed_ && !buffer_.empty() ? POLLOUT : 0; }

void StreamRelay::on_readable() {
    if (!source_open_) return;
    const std::size_t old_size = buffer_.size();
    buffer_.resize(capacity_);
    ssize_t size;
    do {
        size = ::read(from_, buffer_.data() + old_size, capacity_ - old_size);
    } while (size < 0 && errno == EINTR);
    buffer_.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(size, 0)));
    if (size == 0 || (size < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) source_open_ = false;
}

void StreamRelay::on_writable() {
    if (buffer_.empty() || destination_failed_) return;
    ssize_t written;
    do {
        written = ::write(to_, buffer_.data(), buffer_.size());
    } while (written < 0 && errno == EINTR);
    if (written > 0) {
        buffer_.erase(0, static_cast<std::size_t>(written));
    } else if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        destination_failed_ = true;
        buffer_.clear();
    }
}

} // namespace airlock::host
