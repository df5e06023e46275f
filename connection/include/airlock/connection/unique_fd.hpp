#pragma once
/// @file unique_fd.hpp
/// An owning, move-only file descriptor.

#include "airlock/connection/received_descriptors.hpp"

#include <unistd.h>

#include <utility>

namespace airlock {

/// Owns one file descriptor and closes it on destruction (RAII). A descriptor received from a
/// peer may be closed by a background thread (received_descriptors.hpp).
///
/// Default-constructed or moved-from objects hold -1. In typed messages a `UniqueFd`
/// member is a descriptor member (the seed's `LWMSG_MEMBER_FD`); a value <= 0 means
/// "no descriptor", so a zero-initialised message sends none.
class UniqueFd {
public:
    UniqueFd() noexcept = default;
    /// Takes ownership of `fd` (which may be -1).
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    ~UniqueFd() { reset(); }

    /// The descriptor number, still owned by this object.
    [[nodiscard]] int get() const noexcept { return fd_; }
    /// True when a descriptor is held (>= 0).
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    /// Gives up ownership without closing; returns the descriptor.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the held descriptor (if any) and takes ownership of `fd`.
    void reset(int fd = -1) noexcept {
        int old = std::exchange(fd_, fd);
        if (old >= 0) close_descriptor(old);
    }

private:
    int fd_ = -1;
};

} // namespace airlock
