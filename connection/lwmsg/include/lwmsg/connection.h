#ifndef AIRLOCK_LWMSG_CONNECTION_H
#define AIRLOCK_LWMSG_CONNECTION_H
/**
 * @file connection.h
 * @brief Connections: associations over UNIX-domain sockets (on airlock::Connection).
 *
 * The peer's identity comes from the kernel: lwmsg_session_get_peer_security_token() gives
 * a token of type "local", read with lwmsg_local_token_get_eid() / lwmsg_local_token_get_pid().
 * Messages may carry descriptors (LWMSG_FD, LWMSG_MEMBER_FD), passed as SCM_RIGHTS.
 * SOCK_SEQPACKET and SOCK_STREAM sockets both work (a stream carries the same packets, framed
 * by their headers).
 */

#include <lwmsg/assoc.h>
#include <lwmsg/common.h>
#include <lwmsg/security.h>

#include <sys/types.h>

LWMSG_BEGIN_DECLS

/** How a connection reaches its peer. */
typedef enum LWMsgConnectionMode {
    LWMSG_CONNECTION_MODE_NONE = 0,   /**< not set */
    LWMSG_CONNECTION_MODE_LOCAL = 1,  /**< a named UNIX-domain socket (a path) */
    LWMSG_CONNECTION_MODE_PAIR = 2    /**< an anonymous socketpair */
} LWMsgConnectionMode;

/**
 * Creates a connection speaking @p prot (which must outlive it); @p context is optional.
 * It must then be attached with lwmsg_connection_set_fd() or lwmsg_connection_set_endpoint().
 * @return SUCCESS; INVALID_PARAMETER if @p prot or @p assoc is NULL; MEMORY.
 */
LWMsgStatus lwmsg_connection_new(const LWMsgContext* context, LWMsgProtocol* prot, LWMsgAssoc** assoc);

/**
 * Sets the largest packet this side sends or accepts (512 … 212960 bytes, default 131072);
 * the size used is the smaller of both peers'. Larger messages are split into packets.
 * @return SUCCESS; INVALID_STATE once the connection is established; INVALID_PARAMETER for
 *         a size outside the range or a NULL association.
 */
LWMsgStatus lwmsg_connection_set_packet_size(LWMsgAssoc* assoc, size_t size);

/**
 * Attaches a connected socket: for LWMSG_CONNECTION_MODE_PAIR one end of
 * socketpair(AF_UNIX, SOCK_SEQPACKET or SOCK_STREAM); for LWMSG_CONNECTION_MODE_LOCAL an
 * accepted or connected socket of a named endpoint. Never blocks. On success the connection
 * owns @p fd (closed by close/delete); on failure the caller still does.
 * @return SUCCESS; INVALID_PARAMETER if @p fd is not such a socket, or the mode is NONE;
 *         INVALID_STATE if a descriptor or endpoint is already set.
 */
LWMsgStatus lwmsg_connection_set_fd(LWMsgAssoc* assoc, LWMsgConnectionMode mode, int fd);

/**
 * Names the endpoint to connect to: for LWMSG_CONNECTION_MODE_LOCAL the path of a listening
 * UNIX-domain socket (SOCK_SEQPACKET or SOCK_STREAM). Does not connect (lwmsg_assoc_connect()
 * does), so it never blocks.
 * @return SUCCESS; INVALID_PARAMETER for another mode or an empty, NULL or too long path;
 *         INVALID_STATE if a descriptor or endpoint is already set.
 */
LWMsgStatus lwmsg_connection_set_endpoint(LWMsgAssoc* assoc, LWMsgConnectionMode mode, const char* endpoint);

/**
 * The peer's effective uid and gid from a "local" token.
 * @return SUCCESS; INVALID_PARAMETER if the token is NULL or not "local", or an output is NULL.
 */
LWMsgStatus lwmsg_local_token_get_eid(LWMsgSecurityToken* token, uid_t* out_euid, gid_t* out_egid);

/**
 * The peer's pid from a "local" token; -1 when the kernel cannot tell (e.g. the peer is in
 * another pid namespace).
 * @return SUCCESS; INVALID_PARAMETER if the token is NULL or not "local", or @p out_pid is NULL.
 */
LWMsgStatus lwmsg_local_token_get_pid(LWMsgSecurityToken* token, pid_t* out_pid);

LWMSG_END_DECLS

#endif
