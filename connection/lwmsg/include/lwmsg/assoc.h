#ifndef AIRLOCK_LWMSG_ASSOC_H
#define AIRLOCK_LWMSG_ASSOC_H
/**
 * @file assoc.h
 * @brief Associations: sending and receiving messages with a peer.
 *
 * An association is created by lwmsg_connection_new() (connection.h), attached to a socket
 * or endpoint, then established with lwmsg_assoc_connect() or lwmsg_assoc_accept() (the
 * handshake is symmetric: either may be used on either side). It is not thread-safe: use it
 * from one thread at a time.
 */

#include <lwmsg/call.h>
#include <lwmsg/common.h>
#include <lwmsg/context.h>
#include <lwmsg/message.h>
#include <lwmsg/protocol.h>
#include <lwmsg/session.h>
#include <lwmsg/status.h>

LWMSG_BEGIN_DECLS

/** An opaque association. */
typedef struct LWMsgAssoc LWMsgAssoc;

/**
 * Establishes the association: connects to the endpoint (if one was set) and completes
 * the handshake with the peer (which calls lwmsg_assoc_accept() or lwmsg_assoc_connect()).
 * @p session must be NULL (a session is created) or the association's own session.
 * @return SUCCESS; INVALID_STATE if no descriptor or endpoint is set, or the association was
 *         already established or closed; CONNECTION_REFUSED if nothing listens at the
 *         endpoint; INVALID_PARAMETER for a foreign session; MALFORMED if the peer speaks
 *         another protocol; PEER_CLOSE if the peer went away; SECURITY, SYSTEM.
 */
LWMsgStatus lwmsg_assoc_connect(LWMsgAssoc* assoc, LWMsgSession* session);

/** Accepts the peer's connection: the same handshake as lwmsg_assoc_connect(). */
LWMsgStatus lwmsg_assoc_accept(LWMsgAssoc* assoc, LWMsgSession* session);

/**
 * Closes the association in an orderly way (the peer then sees LWMSG_STATUS_PEER_CLOSE).
 * Further sends and receives fail with INVALID_STATE. Closing twice is harmless.
 * @return SUCCESS; INVALID_PARAMETER for NULL.
 */
LWMsgStatus lwmsg_assoc_close(LWMsgAssoc* assoc);

/** Closes (if needed) and frees the association and its socket. NULL is ignored. */
void lwmsg_assoc_delete(LWMsgAssoc* assoc);

/**
 * Sends @p message. If its cookie is that of a received request not yet answered (or
 * LWMSG_MESSAGE_FLAG_REPLY is set), it is sent as that request's reply; a reply whose status
 * is not SUCCESS travels as an error reply carrying that status. Descriptors in the data are
 * borrowed: the caller may close them when this returns.
 * @return SUCCESS; INVALID_PARAMETER for NULL, data that does not match the tag's type
 *         (a NULL non-nullable pointer, a value outside its range or width, …); NOT_FOUND for a
 *         tag the protocol lacks; INVALID_STATE before establishing or after closing;
 *         PEER_CLOSE, TIMEOUT, RESOURCE_LIMIT, SYSTEM.
 */
LWMsgStatus lwmsg_assoc_send_message(LWMsgAssoc* assoc, LWMsgMessage* message);

/**
 * Waits for the next message and stores it in @p message (free it with
 * lwmsg_assoc_destroy_message()). A request carries a cookie to answer with; a reply has
 * LWMSG_MESSAGE_FLAG_REPLY; an error reply has that flag, a failure status and no data.
 * @return SUCCESS; INVALID_PARAMETER for NULL; INVALID_STATE before establishing or after
 *         closing; PEER_CLOSE when the peer closed; MALFORMED for a body that does not match
 *         its type (the association stays usable) or broken framing (it is closed).
 */
LWMsgStatus lwmsg_assoc_recv_message(LWMsgAssoc* assoc, LWMsgMessage* message);

/**
 * Frees a received message's data, closing the descriptors it holds (set a descriptor
 * member to -1 first to keep it), and resets the message. A message with tag
 * LWMSG_TAG_INVALID is left alone.
 * @return SUCCESS; INVALID_PARAMETER for NULL; NOT_FOUND for a tag the protocol lacks.
 */
LWMsgStatus lwmsg_assoc_destroy_message(LWMsgAssoc* assoc, LWMsgMessage* message);

/**
 * The association's session, usable while it is established.
 * @return SUCCESS; INVALID_PARAMETER for NULL; INVALID_STATE before lwmsg_assoc_connect() /
 *         lwmsg_assoc_accept() or after lwmsg_assoc_close().
 */
LWMsgStatus lwmsg_assoc_get_session(LWMsgAssoc* assoc, LWMsgSession** session);

/**
 * The text of the association's last failure (for @p status), valid until the next call on
 * the association; a generic text when there is none.
 */
const char* lwmsg_assoc_get_error_message(LWMsgAssoc* assoc, LWMsgStatus status);

LWMSG_END_DECLS

#endif
