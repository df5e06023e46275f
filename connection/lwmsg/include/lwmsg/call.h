#ifndef AIRLOCK_LWMSG_CALL_H
#define AIRLOCK_LWMSG_CALL_H
/**
 * @file call.h
 * @brief Calls: a request message answered by a reply message.
 *
 * @code
 * LWMsgCall* call = NULL;
 * LWMsgParams in = LWMSG_PARAMS_INITIALIZER, out = LWMSG_PARAMS_INITIALIZER;
 * lwmsg_session_acquire_call(session, &call);
 * in.tag = COUNTER_ADD; in.data = &request;
 * status = lwmsg_call_dispatch(call, &in, &out, NULL, NULL);  // out.tag = COUNTER_ADD_REPLY
 * lwmsg_call_destroy_params(call, &out);
 * lwmsg_call_release(call);
 * @endcode
 * The peer answers with lwmsg_assoc_recv_message() and lwmsg_assoc_send_message() using the
 * received cookie (or, in C++, airlock::CallSession / Connection with the call id).
 */

#include <lwmsg/common.h>
#include <lwmsg/message.h>
#include <lwmsg/session.h>
#include <lwmsg/status.h>

LWMSG_BEGIN_DECLS

/** Parameters or results of a call. */
typedef struct LWMsgParams {
    LWMsgTag tag;  /**< the message tag of @ref data */
    void* data;    /**< the payload, as in LWMsgMessage::data */
} LWMsgParams;

/** Static initializer: no tag, no data. */
#define LWMSG_PARAMS_INITIALIZER { LWMSG_TAG_INVALID, NULL }

/** A call handle. */
typedef struct LWMsgCall LWMsgCall;

/** Completion callback of an asynchronous call (never invoked: every call completes synchronously). */
typedef void (*LWMsgCompleteFunction)(LWMsgCall* call, LWMsgStatus status, void* data);

/**
 * Makes a call: sends @p input as a request and waits for the reply, stored in @p output
 * (free it with lwmsg_call_destroy_params()). Calls always complete before returning, so
 * @p complete and @p data are ignored and LWMSG_STATUS_PENDING is never returned.
 * Requests the peer sends meanwhile are kept for lwmsg_assoc_recv_message().
 * @return SUCCESS; INVALID_PARAMETER for a NULL argument or data that does not match its
 *         type; NOT_FOUND for a tag the protocol lacks; the status the peer answered with
 *         (an error reply); a connection failure (PEER_CLOSE, MALFORMED, ...).
 */
LWMsgStatus lwmsg_call_dispatch(LWMsgCall* call, const LWMsgParams* input, LWMsgParams* output,
                                LWMsgCompleteFunction complete, void* data);

/**
 * Frees the data of @p params received through @p call (closing received descriptors) and
 * resets it to LWMSG_PARAMS_INITIALIZER. Parameters with tag LWMSG_TAG_INVALID are left alone.
 * @return SUCCESS; INVALID_PARAMETER for a NULL argument; NOT_FOUND for a tag the protocol lacks.
 */
LWMsgStatus lwmsg_call_destroy_params(LWMsgCall* call, LWMsgParams* params);

/** Releases a call handle acquired with lwmsg_session_acquire_call(). NULL is ignored. */
void lwmsg_call_release(LWMsgCall* call);

/** The session a call handle belongs to. */
LWMsgSession* lwmsg_call_get_session(LWMsgCall* call);

LWMSG_END_DECLS

#endif
