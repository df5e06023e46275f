#pragma once
/// @file status.hpp
/// Status codes and results of the connection library (the seed's LWMsgStatus).
///
/// The connection layer reports errors as values, never by throwing: every fallible
/// operation returns a `Status` or a `Result<T>`, and every failure carries a message
/// a person can act on.

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace airlock {

/// What went wrong, as a machine-checkable code.
enum class StatusCode : unsigned char {
    Success = 0,
    Memory,            ///< out of memory
    InvalidParameter,  ///< an argument is not acceptable (the seed's LWMSG_STATUS_INVALID_PARAMETER)
    InvalidState,      ///< the object is not in a state that allows the operation
    EndOfStream,       ///< no more data will come (orderly shutdown)
    PeerClosed,        ///< the peer closed the connection or exited
    PeerReset,         ///< the connection was reset
    Timeout,           ///< the operation did not finish in time
    Malformed,         ///< received data violates the wire format or the type specification
    TooLarge,          ///< a message exceeds a configured or kernel limit
    ProtocolMismatch,  ///< the peers do not speak the same protocol
    PermissionDenied,  ///< the operating system or a policy refused the operation
    NotFound,          ///< a named thing (endpoint, method, ...) does not exist
    Unsupported,       ///< the platform or peer does not support the operation
    HandlerFailed,     ///< the remote handler reported an error
    Cancelled,         ///< the operation was abandoned (e.g. the connection was closed)
    SystemError,       ///< any other operating-system error (see the message)
};

/// The name of a status code, e.g. "PeerClosed".
std::string_view status_code_name(StatusCode code) noexcept;

/// A status code plus a human-readable message. Default-constructed means success.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status success() { return {}; }

    [[nodiscard]] bool ok() const noexcept { return code_ == StatusCode::Success; }
    explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] StatusCode code() const noexcept { return code_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    /// "CodeName: message", for logs.
    [[nodiscard]] std::string to_string() const;

    /// Returns a copy whose message is prefixed with `context + ": "`.
    [[nodiscard]] Status with_context(std::string_view context) const;

private:
    StatusCode code_ = StatusCode::Success;
    std::string message_;
};

/// Builds a failure status from `errno`-style error number, e.g. errno_status("sendmsg", EPIPE).
Status errno_status(std::string_view what, int error_number);

/// Either a value or a failure status.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {
        assert(!std::get<1>(state_).ok() && "a Result built from a Status must hold a failure");
    }

    [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// The failure (or a success status when a value is held).
    [[nodiscard]] Status status() const { return ok() ? Status{} : std::get<1>(state_); }

private:
    std::variant<T, Status> state_;
};

} // namespace airlock
