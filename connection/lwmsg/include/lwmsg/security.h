#ifndef AIRLOCK_LWMSG_SECURITY_H
#define AIRLOCK_LWMSG_SECURITY_H
/** @file security.h @brief Security tokens: who the peer is. */

#include <lwmsg/common.h>

LWMSG_BEGIN_DECLS

/** An opaque security token; connections over UNIX sockets give tokens of type "local". */
typedef struct LWMsgSecurityToken LWMsgSecurityToken;

/** The token's type ("local"), or NULL for a NULL token. */
const char* lwmsg_security_token_get_type(LWMsgSecurityToken* token);

LWMSG_END_DECLS

#endif
