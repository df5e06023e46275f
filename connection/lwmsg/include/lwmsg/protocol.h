#ifndef AIRLOCK_LWMSG_PROTOCOL_H
#define AIRLOCK_LWMSG_PROTOCOL_H
/**
 * @file protocol.h
 * @brief Protocols: the messages (tag + type specification) two peers exchange.
 *
 * @code
 * static LWMsgProtocolSpec counter_spec[] = {
 *     LWMSG_MESSAGE(COUNTER_ADD, add_spec),
 *     LWMSG_MESSAGE(COUNTER_ADD_REPLY, reply_spec),
 *     LWMSG_PROTOCOL_END
 * };
 * @endcode
 * Both peers must add the same specifications in the same order of tags: the connection
 * handshake compares a fingerprint of every tag, tag name and type (docs/lwmsg-compat.md).
 */

#include <lwmsg/common.h>
#include <lwmsg/context.h>
#include <lwmsg/status.h>
#include <lwmsg/type.h>

LWMSG_BEGIN_DECLS

/** A message tag. Tags 0 … 32766 are the application's; negative values are reserved. */
typedef int16_t LWMsgTag;

/** The tag of no message (an empty LWMsgMessage or LWMsgParams). */
#define LWMSG_TAG_INVALID ((LWMsgTag)-1)

/** One entry of a protocol specification. */
typedef struct LWMsgProtocolSpec {
    LWMsgTag tag;             /**< the message's tag */
    LWMsgTypeSpec* type;      /**< its payload, or NULL for a message without data */
    const char* tag_name;     /**< the tag's name (part of the fingerprint) */
} LWMsgProtocolSpec;

/** Declares message @p tag with payload type @p spec (NULL: no payload). */
#define LWMSG_MESSAGE(tag, spec) { (tag), (spec), #tag }
/** Ends a protocol specification. */
#define LWMSG_PROTOCOL_END { -1, NULL, NULL }

/** An opaque protocol. */
typedef struct LWMsgProtocol LWMsgProtocol;

/**
 * Creates an empty protocol.
 * @return SUCCESS; INVALID_PARAMETER if @p prot is NULL; MEMORY.
 */
LWMsgStatus lwmsg_protocol_new(LWMsgContext* context, LWMsgProtocol** prot);

/**
 * Adds every message of @p spec (up to LWMSG_PROTOCOL_END) and translates its type.
 * @return SUCCESS; INVALID_PARAMETER if an argument is NULL, a tag is outside 0 … 32766 or
 *         declared twice, or a type specification is invalid or uses what this library does
 *         not support (the protocol is then unchanged); INVALID_STATE once a connection uses
 *         the protocol; MEMORY.
 */
LWMsgStatus lwmsg_protocol_add_protocol_spec(LWMsgProtocol* prot, LWMsgProtocolSpec* spec);

/** Deletes a protocol. No connection may still use it. NULL is ignored. */
void lwmsg_protocol_delete(LWMsgProtocol* prot);

LWMSG_END_DECLS

#endif
