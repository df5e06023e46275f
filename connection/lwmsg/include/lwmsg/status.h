#ifndef AIRLOCK_LWMSG_STATUS_H
#define AIRLOCK_LWMSG_STATUS_H
/**
 * @file status.h
 * @brief Status codes of the LWMsg-compatible C API (numbering as in LWMsg's status.h).
 *
 * Every fallible function returns an LWMsgStatus; LWMSG_STATUS_SUCCESS (0) means success.
 * lwmsg_assoc_get_error_message() gives the readable reason of an association's last failure.
 */

typedef enum LWMsgStatus {
    LWMSG_STATUS_SUCCESS = 0,             /**< success */
    LWMSG_STATUS_ERROR = 1,               /**< generic error (a remote handler failed) */
    LWMSG_STATUS_AGAIN = 2,               /**< retry later */
    LWMSG_STATUS_MEMORY = 3,              /**< out of memory */
    LWMSG_STATUS_MALFORMED = 4,           /**< received data violates the type or wire format */
    LWMSG_STATUS_EOF = 5,                 /**< end of stream */
    LWMSG_STATUS_NOT_FOUND = 6,           /**< no such item (e.g. an unknown message tag) */
    LWMSG_STATUS_UNIMPLEMENTED = 7,       /**< not implemented */
    LWMSG_STATUS_INVALID_PARAMETER = 8,   /**< an argument is not acceptable */
    LWMSG_STATUS_OVERFLOW = 9,            /**< an integer does not fit its marshalled width */
    LWMSG_STATUS_UNDERFLOW = 10,          /**< arithmetic underflow */
    LWMSG_STATUS_SYSTEM = 11,             /**< unexpected operating-system error */
    LWMSG_STATUS_TIMEOUT = 12,            /**< the operation timed out */
    LWMSG_STATUS_SECURITY = 13,           /**< security violation (permission denied) */
    LWMSG_STATUS_CANCELLED = 14,          /**< the operation was cancelled */
    LWMSG_STATUS_FILE_NOT_FOUND = 15,     /**< file not found */
    LWMSG_STATUS_CONNECTION_REFUSED = 16, /**< no server listens at the endpoint */
    LWMSG_STATUS_INVALID_STATE = 17,      /**< not allowed in the object's current state */
    LWMSG_STATUS_PEER_RESET = 18,         /**< the peer reset the association */
    LWMSG_STATUS_PEER_CLOSE = 19,         /**< the peer closed the association */
    LWMSG_STATUS_PEER_ABORT = 20,         /**< the peer aborted the association */
    LWMSG_STATUS_SESSION_LOST = 21,       /**< the session with the peer was lost */
    LWMSG_STATUS_UNSUPPORTED = 22,        /**< unsupported operation */
    LWMSG_STATUS_INVALID_HANDLE = 23,     /**< invalid handle */
    LWMSG_STATUS_BUSY = 24,               /**< a conflicting operation is in progress */
    LWMSG_STATUS_PENDING = 25,            /**< the operation completes later */
    LWMSG_STATUS_INTERNAL = 26,           /**< internal error */
    LWMSG_STATUS_RESOURCE_LIMIT = 27,     /**< a size or descriptor limit was reached */
    LWMSG_STATUS_BUFFER_TOO_SMALL = 28,   /**< buffer too small */
    LWMSG_STATUS_COUNT
} LWMsgStatus;

#endif
