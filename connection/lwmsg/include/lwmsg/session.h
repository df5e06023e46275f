#ifndef AIRLOCK_LWMSG_SESSION_H
#define AIRLOCK_LWMSG_SESSION_H
/**
 * @file session.h
 * @brief Sessions: the state of an established association with one peer.
 *
 * A connection has one session, available from lwmsg_assoc_get_session() between
 * lwmsg_assoc_connect()/lwmsg_assoc_accept() and lwmsg_assoc_close().
 */

#include <lwmsg/common.h>
#include <lwmsg/security.h>
#include <lwmsg/status.h>

LWMSG_BEGIN_DECLS

/** An opaque session. */
typedef struct LWMsgSession LWMsgSession;
struct LWMsgCall;

/**
 * The peer's security token (type "local": the kernel-verified euid, egid and pid), valid
 * for the session's life; NULL for a NULL session.
 */
LWMsgSecurityToken* lwmsg_session_get_peer_security_token(LWMsgSession* session);

/**
 * Acquires the session's call handle for a synchronous call to the peer. One call handle
 * exists per session: release it with lwmsg_call_release() before acquiring it again.
 * @return SUCCESS; INVALID_PARAMETER if an argument is NULL; BUSY if the handle is acquired;
 *         INVALID_STATE if the association is closed.
 */
LWMsgStatus lwmsg_session_acquire_call(LWMsgSession* session, struct LWMsgCall** call);

LWMSG_END_DECLS

#endif
