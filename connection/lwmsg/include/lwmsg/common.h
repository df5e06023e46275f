#ifndef AIRLOCK_LWMSG_COMMON_H
#define AIRLOCK_LWMSG_COMMON_H
/** @file common.h @brief Basic types shared by the LWMsg-compatible headers. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define LWMSG_BEGIN_DECLS extern "C" {
#define LWMSG_END_DECLS }
#else
#define LWMSG_BEGIN_DECLS
#define LWMSG_END_DECLS
#endif

/** A boolean (LWMsg's own, so the headers do not depend on stdbool.h). */
typedef enum LWMsgBool { LWMSG_FALSE = 0, LWMSG_TRUE = 1 } LWMsgBool;

#endif
