#ifndef AIRLOCK_LWMSG_CONTEXT_H
#define AIRLOCK_LWMSG_CONTEXT_H
/**
 * @file context.h
 * @brief Contexts: the optional environment protocols and connections are created in.
 *
 * LWMsg uses contexts to carry memory and logging hooks; here a context only scopes objects
 * (it carries no settings yet), so passing NULL wherever a context is optional is equivalent.
 */

#include <lwmsg/common.h>
#include <lwmsg/status.h>

LWMSG_BEGIN_DECLS

/** An opaque context. */
typedef struct LWMsgContext LWMsgContext;

/**
 * Creates a context, optionally inheriting from @p parent (which must outlive it).
 * @return LWMSG_STATUS_SUCCESS, LWMSG_STATUS_INVALID_PARAMETER if @p context is NULL,
 *         LWMSG_STATUS_MEMORY.
 */
LWMsgStatus lwmsg_context_new(const LWMsgContext* parent, LWMsgContext** context);

/** Deletes a context created by lwmsg_context_new(); NULL is ignored. */
void lwmsg_context_delete(LWMsgContext* context);

LWMSG_END_DECLS

#endif
