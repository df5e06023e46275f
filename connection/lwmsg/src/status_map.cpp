#include "status_map.hpp"

namespace airlock::lwmsg {

LWMsgStatus to_lwmsg(StatusCode code) {
    switch (code) {
    case StatusCode::Success: return LWMSG_STATUS_SUCCESS;
    case StatusCode::Memory: return LWMSG_STATUS_MEMORY;
    case StatusCode::InvalidParameter: return LWMSG_STATUS_INVALID_PARAMETER;
    case StatusCode::InvalidState: return LWMSG_STATUS_INVALID_STATE;
    case StatusCode::EndOfStream: return LWMSG_STATUS_EOF;
    case StatusCode::PeerClosed: return LWMSG_STATUS_PEER_CLOSE;
    case StatusCode::PeerReset: return LWMSG_STATUS_PEER_RESET;
    case StatusCode::Timeout: return LWMSG_STATUS_TIMEOUT;
    case StatusCode::Malformed: return LWMSG_STATUS_MALFORMED;
    case StatusCode::TooLarge: return LWMSG_STATUS_RESOURCE_LIMIT;
    case StatusCode::ProtocolMismatch: return LWMSG_STATUS_MALFORMED;
    case StatusCode::PermissionDenied: return LWMSG_STATUS_SECURITY;
    case StatusCode::NotFound: return LWMSG_STATUS_NOT_FOUND;
    case StatusCode::Unsupported: return LWMSG_STATUS_UNSUPPORTED;
    case StatusCode::HandlerFailed: return LWMSG_STATUS_ERROR;
    case StatusCode::Cancelled: return LWMSG_STATUS_CANCELLED;
    case StatusCode::SystemError: return LWMSG_STATUS_SYSTEM;
    }
    return LWMSG_STATUS_ERROR;
}

StatusCode to_airlock(LWMsgStatus status) {
    switch (status) {
    case LWMSG_STATUS_MEMORY: return StatusCode::Memory;
    case LWMSG_STATUS_INVALID_PARAMETER: return StatusCode::InvalidParameter;
    case LWMSG_STATUS_INVALID_STATE: return StatusCode::InvalidState;
    case LWMSG_STATUS_EOF: return StatusCode::EndOfStream;
    case LWMSG_STATUS_PEER_CLOSE: return StatusCode::PeerClosed;
    case LWMSG_STATUS_PEER_RESET: return StatusCode::PeerReset;
    case LWMSG_STATUS_TIMEOUT: return StatusCode::Timeout;
    case LWMSG_STATUS_MALFORMED: return StatusCode::Malformed;
    case LWMSG_STATUS_RESOURCE_LIMIT: return StatusCode::TooLarge;
    case LWMSG_STATUS_SECURITY: return StatusCode::PermissionDenied;
    case LWMSG_STATUS_NOT_FOUND:
    case LWMSG_STATUS_FILE_NOT_FOUND: return StatusCode::NotFound;
    case LWMSG_STATUS_UNSUPPORTED:
    case LWMSG_STATUS_UNIMPLEMENTED: return StatusCode::Unsupported;
    case LWMSG_STATUS_CANCELLED: return StatusCode::Cancelled;
    case LWMSG_STATUS_SYSTEM: return StatusCode::SystemError;
    default: return StatusCode::HandlerFailed;
    }
}

const char* status_name(LWMsgStatus status) {
    static const char* const names[] = {
        "LWMSG_STATUS_SUCCESS", "LWMSG_STATUS_ERROR", "LWMSG_STATUS_AGAIN", "LWMSG_STATUS_MEMORY",
        "LWMSG_STATUS_MALFORMED", "LWMSG_STATUS_EOF", "LWMSG_STATUS_NOT_FOUND", "LWMSG_STATUS_UNIMPLEMENTED",
        "LWMSG_STATUS_INVALID_PARAMETER", "LWMSG_STATUS_OVERFLOW", "LWMSG_STATUS_UNDERFLOW", "LWMSG_STATUS_SYSTEM",
        "LWMSG_STATUS_TIMEOUT", "LWMSG_STATUS_SECURITY", "LWMSG_STATUS_CANCELLED", "LWMSG_STATUS_FILE_NOT_FOUND",
        "LWMSG_STATUS_CONNECTION_REFUSED", "LWMSG_STATUS_INVALID_STATE", "LWMSG_STATUS_PEER_RESET",
        "LWMSG_STATUS_PEER_CLOSE", "LWMSG_STATUS_PEER_ABORT", "LWMSG_STATUS_SESSION_LOST", "LWMSG_STATUS_UNSUPPORTED",
        "LWMSG_STATUS_INVALID_HANDLE", "LWMSG_STATUS_BUSY", "LWMSG_STATUS_PENDING", "LWMSG_STATUS_INTERNAL",
        "LWMSG_STATUS_RESOURCE_LIMIT", "LWMSG_STATUS_BUFFER_TOO_SMALL"};
    unsigned index = static_cast<unsigned>(status);
    return index < sizeof names / sizeof names[0] ? names[index] : "LWMSG_STATUS_(unknown)";
}

} // namespace airlock::lwmsg
