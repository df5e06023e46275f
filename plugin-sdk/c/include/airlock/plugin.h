#ifndef AIRLOCK_PLUGIN_H
#define AIRLOCK_PLUGIN_H
/**
 * @file plugin.h
 * @brief The C plugin SDK (target airlock::plugin_c): an Airlock plugin written in C11.
 *
 * @code
 * typedef struct GreetRequest { char* name; } GreetRequest;
 * typedef struct GreetReply { char* text; } GreetReply;
 * static LWMsgTypeSpec greet_request[] = { LWMSG_STRUCT_BEGIN(GreetRequest),
 *     LWMSG_MEMBER_PSTR(GreetRequest, name), LWMSG_ATTR_NOT_NULL, LWMSG_STRUCT_END, LWMSG_TYPE_END };
 * ...
 * static LWMsgStatus greet(void* user, const void* request, void* reply) {
 *     ((GreetReply*)reply)->text = strdup("hello");          // freed by the SDK after sending
 *     return LWMSG_STATUS_SUCCESS;
 * }
 * int main(void) {
 *     airlock_plugin* plugin = NULL;
 *     if (airlock_plugin_create(&plugin) != AIRLOCK_OK) { fprintf(stderr, "%s\n", airlock_plugin_error(NULL)); return 78; }
 *     airlock_plugin_register(plugin, "greet", greet_request, greet_reply, greet, NULL);
 *     int code = airlock_plugin_run(plugin);                   // serves until the host stops it
 *     airlock_plugin_destroy(plugin);
 *     return code;
 * }
 * @endcode
 *
 * ABI rules: every object is an opaque handle; only C types cross this boundary; the layout of
 * the structs below only grows at the end. airlock_plugin_abi_version() reports the ABI a
 * program runs against (compare it with AIRLOCK_PLUGIN_ABI_VERSION it was built with).
 * Request and reply types are LWMsg type specifications (<lwmsg/type.h>, docs/lwmsg-compat.md),
 * announced to the host so `airlockctl call` converts JSON for C plugins like for C++ ones.
 */

#include <lwmsg/status.h>
#include <lwmsg/type.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes. */
#define AIRLOCK_PLUGIN_ABI_VERSION 1u

/** The ABI version of the library linked in. */
unsigned airlock_plugin_abi_version(void);

/** Results of the SDK's functions. */
typedef enum airlock_status {
    AIRLOCK_OK = 0,
    AIRLOCK_ERR_NOT_UNDER_HOST = 1,    /**< not started by airlock-host (no connection descriptor) */
    AIRLOCK_ERR_CONNECTION = 2,        /**< the handshake or the connection to the host failed */
    AIRLOCK_ERR_INVALID_ARGUMENT = 3,  /**< a NULL or invalid argument (see airlock_plugin_error) */
    AIRLOCK_ERR_NOT_FOUND = 4,         /**< no grant of that name */
    AIRLOCK_ERR_STATE = 5,             /**< not allowed now (e.g. registering after run) */
    AIRLOCK_ERR_MEMORY = 6             /**< out of memory */
} airlock_status;

/** An opaque plugin. */
typedef struct airlock_plugin airlock_plugin;

/**
 * Adopts the connection the host passes (AIRLOCK_CONNECTION_FD), handshakes and receives the
 * grants. On failure *plugin is NULL and airlock_plugin_error(NULL) says why.
 */
airlock_status airlock_plugin_create(airlock_plugin** plugin);

/** Frees the plugin (closing its connection and grants). NULL is ignored. */
void airlock_plugin_destroy(airlock_plugin* plugin);

/**
 * The text of the last failure on @p plugin; with NULL, of the last airlock_plugin_create()
 * in this thread. Valid until the next call that fails.
 */
const char* airlock_plugin_error(const airlock_plugin* plugin);

/** The plugin's name in the host's config. */
const char* airlock_plugin_name(const airlock_plugin* plugin);

/**
 * A method handler: @p request points to the decoded request structure (owned by the SDK,
 * valid during the call; received descriptors are closed afterwards), @p reply to a
 * zero-filled reply structure to fill. Pointers stored in the reply must come from malloc()
 * (the SDK frees them with free() after sending); descriptors in it are borrowed, not closed.
 * Return LWMSG_STATUS_SUCCESS to send the reply, anything else to send an error reply
 * carrying that status (and the text set with airlock_plugin_set_reply_error(), if any).
 */
typedef LWMsgStatus (*airlock_method_handler)(void* user_data, const void* request, void* reply);

/**
 * Registers method @p name (1-64 bytes of [A-Za-z0-9_.-]) before airlock_plugin_run(). Request
 * and reply specifications must describe structures and stay valid while the plugin lives.
 * @return AIRLOCK_OK; AIRLOCK_ERR_INVALID_ARGUMENT for NULLs, a bad name or specification, a
 *         name used twice; AIRLOCK_ERR_STATE after run.
 */
airlock_status airlock_plugin_register(airlock_plugin* plugin, const char* name, LWMsgTypeSpec* request_spec,
                                       LWMsgTypeSpec* reply_spec, airlock_method_handler handler, void* user_data);

/** Sets the message of the error reply the current handler is about to return (copied). */
void airlock_plugin_set_reply_error(airlock_plugin* plugin, const char* message);

/** What kind of capability a grant is (the TOML key that declared it). */
typedef enum airlock_grant_kind {
    AIRLOCK_GRANT_FILE = 0,       /**< file = "..." */
    AIRLOCK_GRANT_DIRECTORY = 1,  /**< dir = "..." (open beneath it with openat) */
    AIRLOCK_GRANT_CONNECT = 2,    /**< connect = "..." (a connected UNIX socket) */
    AIRLOCK_GRANT_MEMFD = 3       /**< memfd = "..." (shared memory of `size` bytes) */
} airlock_grant_kind;

/** The access a grant's descriptor carries. */
typedef enum airlock_grant_access {
    AIRLOCK_ACCESS_READ = 0,
    AIRLOCK_ACCESS_WRITE = 1,
    AIRLOCK_ACCESS_APPEND = 2,
    AIRLOCK_ACCESS_READ_WRITE = 3
} airlock_grant_access;

/** One grant. `name` and `fd` belong to the plugin and stay valid while it lives. */
typedef struct airlock_grant {
    const char* name;
    airlock_grant_kind kind;
    airlock_grant_access access;
    int fd;
    uint64_t size;  /**< bytes, for files and memfds; else 0 */
} airlock_grant;

/** Number of grants. */
size_t airlock_plugin_grant_count(const airlock_plugin* plugin);

/** Grant number @p index (config order). AIRLOCK_ERR_NOT_FOUND past the end. */
airlock_status airlock_plugin_grant_at(const airlock_plugin* plugin, size_t index, airlock_grant* grant);

/** The grant called @p name. AIRLOCK_ERR_NOT_FOUND (the error text lists the granted names). */
airlock_status airlock_plugin_grant(airlock_plugin* plugin, const char* name, airlock_grant* grant);

/** Log severities. */
typedef enum airlock_log_level {
    AIRLOCK_LOG_ERROR = 0,
    AIRLOCK_LOG_WARNING = 1,
    AIRLOCK_LOG_INFO = 2,
    AIRLOCK_LOG_DEBUG = 3
} airlock_log_level;

/** Sends a log line to the host (cut to 4096 bytes). */
void airlock_plugin_log(airlock_plugin* plugin, airlock_log_level level, const char* text);

/**
 * Reports progress of a long task (done of total units, total 0 when unknown; message may be
 * NULL), shown by `airlockctl status`. AIRLOCK_ERR_CONNECTION when the host is gone.
 */
airlock_status airlock_plugin_progress(airlock_plugin* plugin, const char* task, uint64_t done, uint64_t total,
                                       const char* message);

/**
 * Reports ready with the registered methods and serves calls until the host's stop request.
 * @return the exit code for main: 0 after a stop request, 1 when the host went away.
 */
int airlock_plugin_run(airlock_plugin* plugin);

#ifdef __cplusplus
}
#endif

#endif
