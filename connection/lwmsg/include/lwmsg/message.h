#ifndef AIRLOCK_LWMSG_MESSAGE_H
#define AIRLOCK_LWMSG_MESSAGE_H
/** @file message.h @brief The message structure sent and received on an association. */

#include <lwmsg/common.h>
#include <lwmsg/protocol.h>
#include <lwmsg/status.h>

LWMSG_BEGIN_DECLS

/** Correlates a reply with its request. */
typedef uint16_t LWMsgCookie;

/** Message flags. */
typedef enum LWMsgMessageFlags {
    LWMSG_MESSAGE_FLAG_CONTROL = 0x1,
    LWMSG_MESSAGE_FLAG_SYNTHETIC = 0x2,
    LWMSG_MESSAGE_FLAG_REPLY = 0x4   /**< set on a received reply; set it to send one */
} LWMsgMessageFlags;

/** A message: tag, payload and bookkeeping. */
typedef struct LWMsgMessage {
    LWMsgMessageFlags flags;
    /** Overall status: a reply sent with a failure status travels as an error reply. */
    LWMsgStatus status;
    /** Set on a received request; a reply sent with the same cookie answers it. */
    LWMsgCookie cookie;
    /** The message's tag in the protocol. */
    LWMsgTag tag;
    /**
     * The payload: a pointer to the object of the tag's type (for a pointer type such as
     * LWMSG_PSTR, the pointer itself). Received payloads belong to the association until
     * lwmsg_assoc_destroy_message().
     */
    void* data;
    unsigned long reserved1;
} LWMsgMessage;

/** Static initializer: no tag, no data, success. */
#define LWMSG_MESSAGE_INITIALIZER { (LWMsgMessageFlags)0, LWMSG_STATUS_SUCCESS, 0, LWMSG_TAG_INVALID, NULL, 0 }

/** Sets @p message to LWMSG_MESSAGE_INITIALIZER's values. */
void lwmsg_message_init(LWMsgMessage* message);

LWMSG_END_DECLS

#endif
