#pragma once
/// @file lent_fd.hpp
/// A descriptor member the sender lends instead of giving away (LWMsg's borrowed `int`).

#include "airlock/connection/unique_fd.hpp"

#include <utility>

namespace airlock {

/// A descriptor member whose sender keeps its descriptor.
///
/// On the wire it is exactly a `UniqueFd` member (same type description, same fingerprint),
/// so one side may declare `LentFd` and the other `UniqueFd`. What differs is ownership:
///
/// - **Sending**: `LentFd::borrow(fd)` refers to a descriptor the caller keeps owning. The
///   message carries it (SCM_RIGHTS passes the peer its own duplicate); the caller's `fd` is
///   neither duplicated nor closed, and only has to stay open until the send call returns
///   (`queue()` duplicates what it must hold back). No `dup` per send.
/// - **Receiving**: the receiver always owns what it receives. A decoded `LentFd` holds the
///   received descriptor, closes it on destruction, and `take()` moves it into a `UniqueFd`.
///
/// @code
/// struct ShareLog { airlock::LentFd log; };
/// AIRLOCK_STRUCT(ShareLog, log)
/// session.call(share_log, ShareLog{airlock::LentFd::borrow(log_fd)});  // log_fd stays ours
/// // the handler: airlock::UniqueFd mine = request.log.take();
/// @endcode
class LentFd {
public:
    /// No descriptor (sends none, like a UniqueFd holding -1).
    LentFd() noexcept = default;
    /// Refers to `fd` without owning it: the caller keeps it open until the send returns and
    /// closes it itself.
    [[nodiscard]] static LentFd borrow(int fd) noexcept {
        LentFd lent;
        lent.fd_ = fd;
        return lent;
    }
    /// Owns `fd` (what decoding produces: received descriptors are always the receiver's).
    explicit LentFd(UniqueFd owned) noexcept : fd_(owned.release()), owned_(true) {}
    LentFd(LentFd&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)), owned_(std::exchange(other.owned_, false)) {}
    LentFd& operator=(LentFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
            owned_ = std::exchange(other.owned_, false);
        }
        return *this;
    }
    LentFd(const LentFd&) = delete;
    LentFd& operator=(const LentFd&) = delete;
    ~LentFd() { reset(); }

    /// The descriptor number (-1 for none).
    [[nodiscard]] int get() const noexcept { return fd_; }
    /// True when this object closes the descriptor (a received one), false when it is borrowed.
    [[nodiscard]] bool owned() const noexcept { return owned_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// The owned descriptor, moved out (this object then holds none). A borrowed descriptor
    /// stays its owner's: take() gives an empty UniqueFd for it.
    [[nodiscard]] UniqueFd take() noexcept {
        if (!owned_) return UniqueFd();
        owned_ = false;
        return UniqueFd(std::exchange(fd_, -1));
    }
    /// Drops the descriptor: closes it when owned, forgets it when borrowed.
    void reset() noexcept {
        if (owned_ && fd_ >= 0) ::close(fd_);
        fd_ = -1;
        owned_ = false;
    }

private:
    int fd_ = -1;
    bool owned_ = false;
};

} // namespace airlock
