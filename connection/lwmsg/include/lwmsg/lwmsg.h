#ifndef AIRLOCK_LWMSG_LWMSG_H
#define AIRLOCK_LWMSG_LWMSG_H
/**
 * @file lwmsg.h
 * @brief Airlock's LWMsg-compatible C API (library airlock::lwmsg, pkg-config airlock-lwmsg).
 *
 * Source-compatible with the LWMsg "Connections" API for the subset listed in
 * docs/lwmsg-compat.md, built on airlock::connection so C and C++ peers talk to each other.
 */

#include <lwmsg/assoc.h>
#include <lwmsg/call.h>
#include <lwmsg/common.h>
#include <lwmsg/connection.h>
#include <lwmsg/context.h>
#include <lwmsg/message.h>
#include <lwmsg/protocol.h>
#include <lwmsg/security.h>
#include <lwmsg/session.h>
#include <lwmsg/status.h>
#include <lwmsg/type.h>

#endif
