#include "airlock/connection/status.hpp"

#include <cstring>

namespace airlock {

std::string_view status_code_name(StatusCode code) noexcept {
    switch (code) {
    case StatusCode::Success: return "Success";
    case StatusCode::Memory: return "Memory";
    case StatusCode::InvalidParameter: return "InvalidParameter";
    case StatusCode::InvalidState: return "InvalidState";
    case StatusCode::EndOfStream: return "EndOfStream";
    case StatusCode::PeerClosed: return "PeerClosed";
    case StatusCode::PeerReset: return "PeerReset";
    case StatusCode::Timeout: return "Timeout";
    case StatusCode::Malformed: return "Malformed";
    case StatusCode::TooLarge: return "TooLarge";
    case StatusCode::ProtocolMismatch: return "ProtocolMismatch";
    case StatusCode::PermissionDenied: return "PermissionDenied";
    case StatusCode::NotFound: return "NotFound";
    case StatusCode::Unsupported: return "Unsupported";
    case StatusCode::HandlerFailed: return "HandlerFailed";
    case StatusCode::Cancelled: return "Cancelled";
    case StatusCode::SystemError: return "SystemError";
    }
    return "Unknown";
}

std::string Status::to_string() const {
    std::string text(status_code_name(code_));
    if (!message_.empty()) {
        text += ": ";
        text += message_;
    }
    return text;
}

Status Status::with_context(std::string_view context) const {
    if (ok()) return *this;
    std::string message(context);
    message += ": ";
    message += message_;
    return Status(code_, std::move(message));
}

Status errno_status(std::string_view what, int error_number) {
    StatusCode code = StatusCode::SystemError;
    switch (error_number) {
    case ENOMEM: code = StatusCode::Memory; break;
    case EPIPE: code = StatusCode::PeerClosed; break;
    case ECONNRESET: code = StatusCode::PeerReset; break;
    case ETIMEDOUT:
    case EAGAIN: code = StatusCode::Timeout; break;
    case EACCES:
    case EPERM: code = StatusCode::PermissionDenied; break;
    case ENOENT:
    case ECONNREFUSED: code = StatusCode::NotFound; break;
    case EMSGSIZE: code = StatusCode::TooLarge; break;
    case EINVAL:
    case EBADF:
    case ENOTSOCK: code = StatusCode::InvalidParameter; break;
    default: break;
    }
    std::string message(what);
    message += ": ";
    message += std::strerror(error_number);
    return Status(code, std::move(message));
}

} // namespace airlock
