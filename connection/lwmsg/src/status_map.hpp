#pragma once
// Between airlock::StatusCode and LWMsgStatus. Internal to the lwmsg library.

#include "lwmsg/status.h"

#include "airlock/connection/status.hpp"

namespace airlock::lwmsg {

/// The LWMsg status for a connection-library failure.
LWMsgStatus to_lwmsg(StatusCode code);
/// The StatusCode an error reply carries for an LWMsg status (HandlerFailed when none fits).
StatusCode to_airlock(LWMsgStatus status);
/// A short name, e.g. "LWMSG_STATUS_INVALID_STATE".
const char* status_name(LWMsgStatus status);

} // namespace airlock::lwmsg
