#ifndef AIRLOCK_LWMSG_TYPE_H
#define AIRLOCK_LWMSG_TYPE_H
/**
 * @file type.h
 * @brief Type specifications: describing C types so they can be marshalled.
 *
 * A type specification is a statically initialised array of LWMsgTypeSpec built from the
 * macros below and ended by LWMSG_TYPE_END, with LWMsg's names and meanings:
 * @code
 * typedef struct Foo { char* name; uint32_t length; uint8_t* data; int fd; } Foo;
 * static LWMsgTypeSpec foo_spec[] = {
 *     LWMSG_STRUCT_BEGIN(Foo),
 *     LWMSG_MEMBER_PSTR(Foo, name),
 *     LWMSG_MEMBER_UINT32(Foo, length),
 *     LWMSG_MEMBER_POINTER(Foo, data, LWMSG_UINT8(uint8_t)),
 *     LWMSG_ATTR_LENGTH_MEMBER(Foo, length),
 *     LWMSG_MEMBER_FD(Foo, fd),
 *     LWMSG_STRUCT_END,
 *     LWMSG_TYPE_END
 * };
 * @endcode
 * Each specification is translated to an Airlock type description (docs/lwmsg-compat.md
 * gives the mapping), so C and C++ peers exchange the same wire format. The array encoding
 * itself is this library's own: rebuild, do not mix object files with real LWMsg.
 */

#include <lwmsg/common.h>
#include <lwmsg/status.h>

#include <stddef.h>

/** One word of a type specification (an implementation detail). */
typedef size_t const LWMsgTypeSpec;

/** Whether an integer is signed (LWMsg's LWMsgSignage). */
typedef enum LWMsgSignage { LWMSG_SIGNED, LWMSG_UNSIGNED } LWMsgSignage;

/* Directives of the encoding; not for direct use. */
enum {
    LWMSG_CMD_END = 0,
    LWMSG_CMD_STRUCT = 1,
    LWMSG_CMD_INTEGER = 2,
    LWMSG_CMD_POINTER = 3,
    LWMSG_CMD_TYPESPEC = 4,
    LWMSG_CMD_FD = 5,
    LWMSG_CMD_LENGTH_MEMBER = 16,
    LWMSG_CMD_ZERO_TERMINATED = 17,
    LWMSG_CMD_ENCODING = 18,
    LWMSG_CMD_NOT_NULL = 19,
    LWMSG_CMD_RANGE = 20,
    LWMSG_FLAG_MEMBER = 0x10000
};
#define LWMSG_CMD_MASK 0xFFFF
#define _LWMSG_ARG(value) ((size_t)(value))
#define _LWMSG_MEMBER(cmd, type, field) \
    _LWMSG_ARG((cmd) | LWMSG_FLAG_MEMBER), _LWMSG_ARG(#field), _LWMSG_ARG(offsetof(type, field))
#define _LWMSG_FIELD_SIZE(type, field) _LWMSG_ARG(sizeof(((type*)0)->field))

/** Ends a type specification. Every specification ends with it. */
#define LWMSG_TYPE_END _LWMSG_ARG(LWMSG_CMD_END)
/** Ends a structure started with LWMSG_STRUCT_BEGIN() or LWMSG_MEMBER_STRUCT_BEGIN(). */
#define LWMSG_STRUCT_END _LWMSG_ARG(LWMSG_CMD_END)
/** Ends a pointer started with LWMSG_POINTER_BEGIN or LWMSG_MEMBER_POINTER_BEGIN(). */
#define LWMSG_POINTER_END _LWMSG_ARG(LWMSG_CMD_END)

/** Begins structure @p type; its members follow, then LWMSG_STRUCT_END. */
#define LWMSG_STRUCT_BEGIN(type) _LWMSG_ARG(LWMSG_CMD_STRUCT), _LWMSG_ARG(#type), _LWMSG_ARG(sizeof(type))
/** Begins an inline structure member @p field of @p type (described under the member's name). */
#define LWMSG_MEMBER_STRUCT_BEGIN(type, field) \
    _LWMSG_MEMBER(LWMSG_CMD_STRUCT, type, field), _LWMSG_FIELD_SIZE(type, field)

/** An integer of C type @p type marshalled as @p width bytes (1, 2, 4, 8) with signage @p sign. */
#define LWMSG_INTEGER(type, width, sign) \
    _LWMSG_ARG(LWMSG_CMD_INTEGER), _LWMSG_ARG(sizeof(type)), _LWMSG_ARG(width), _LWMSG_ARG(sign)
/** An integer member; the C member may be wider or narrower than @p width (checked conversions). */
#define LWMSG_MEMBER_INTEGER(type, field, width, sign) \
    _LWMSG_MEMBER(LWMSG_CMD_INTEGER, type, field), _LWMSG_FIELD_SIZE(type, field), _LWMSG_ARG(width), _LWMSG_ARG(sign)

#define LWMSG_INT8(type) LWMSG_INTEGER(type, 1, LWMSG_SIGNED)      /**< signed 8-bit integer */
#define LWMSG_INT16(type) LWMSG_INTEGER(type, 2, LWMSG_SIGNED)     /**< signed 16-bit integer */
#define LWMSG_INT32(type) LWMSG_INTEGER(type, 4, LWMSG_SIGNED)     /**< signed 32-bit integer */
#define LWMSG_INT64(type) LWMSG_INTEGER(type, 8, LWMSG_SIGNED)     /**< signed 64-bit integer */
#define LWMSG_UINT8(type) LWMSG_INTEGER(type, 1, LWMSG_UNSIGNED)   /**< unsigned 8-bit integer */
#define LWMSG_UINT16(type) LWMSG_INTEGER(type, 2, LWMSG_UNSIGNED)  /**< unsigned 16-bit integer */
#define LWMSG_UINT32(type) LWMSG_INTEGER(type, 4, LWMSG_UNSIGNED)  /**< unsigned 32-bit integer */
#define LWMSG_UINT64(type) LWMSG_INTEGER(type, 8, LWMSG_UNSIGNED)  /**< unsigned 64-bit integer */
#define LWMSG_MEMBER_INT8(type, field) LWMSG_MEMBER_INTEGER(type, field, 1, LWMSG_SIGNED)
#define LWMSG_MEMBER_INT16(type, field) LWMSG_MEMBER_INTEGER(type, field, 2, LWMSG_SIGNED)
#define LWMSG_MEMBER_INT32(type, field) LWMSG_MEMBER_INTEGER(type, field, 4, LWMSG_SIGNED)
#define LWMSG_MEMBER_INT64(type, field) LWMSG_MEMBER_INTEGER(type, field, 8, LWMSG_SIGNED)
#define LWMSG_MEMBER_UINT8(type, field) LWMSG_MEMBER_INTEGER(type, field, 1, LWMSG_UNSIGNED)
#define LWMSG_MEMBER_UINT16(type, field) LWMSG_MEMBER_INTEGER(type, field, 2, LWMSG_UNSIGNED)
#define LWMSG_MEMBER_UINT32(type, field) LWMSG_MEMBER_INTEGER(type, field, 4, LWMSG_UNSIGNED)
#define LWMSG_MEMBER_UINT64(type, field) LWMSG_MEMBER_INTEGER(type, field, 8, LWMSG_UNSIGNED)

/** Begins a pointer; the pointed-to type follows, then LWMSG_POINTER_END. */
#define LWMSG_POINTER_BEGIN _LWMSG_ARG(LWMSG_CMD_POINTER)
/** Begins pointer member @p field of @p type; the pointed-to type follows, then LWMSG_POINTER_END. */
#define LWMSG_MEMBER_POINTER_BEGIN(type, field) _LWMSG_MEMBER(LWMSG_CMD_POINTER, type, field)

/** Inserts the type of another specification @p spec in place. */
#define LWMSG_TYPESPEC(spec) _LWMSG_ARG(LWMSG_CMD_TYPESPEC), _LWMSG_ARG(spec)
/** Member @p field of @p type whose type is given by specification @p spec. */
#define LWMSG_MEMBER_TYPESPEC(type, field, spec) _LWMSG_MEMBER(LWMSG_CMD_TYPESPEC, type, field), _LWMSG_ARG(spec)

/**
 * The previous pointer member points to as many elements as the integer member @p field
 * (declared before it in the same structure) says. The count travels once, as the array's
 * length: the length member is not sent separately and is set from the array on receipt.
 */
#define LWMSG_ATTR_LENGTH_MEMBER(type, field) \
    _LWMSG_ARG(LWMSG_CMD_LENGTH_MEMBER), _LWMSG_ARG(offsetof(type, field)), _LWMSG_FIELD_SIZE(type, field)
/** The previous pointer points to a zero-terminated array (only 8-bit elements: strings). */
#define LWMSG_ATTR_ZERO_TERMINATED _LWMSG_ARG(LWMSG_CMD_ZERO_TERMINATED)
/** Display hint for the previous pointer's text encoding; it does not change marshalling. */
#define LWMSG_ATTR_ENCODING(enc) _LWMSG_ARG(LWMSG_CMD_ENCODING), _LWMSG_ARG(enc)
/** The previous pointer is a plain NUL-terminated C string. */
#define LWMSG_ATTR_STRING LWMSG_ATTR_ZERO_TERMINATED, LWMSG_ATTR_ENCODING("")
/** The previous pointer must not be NULL (sending or receiving NULL fails). */
#define LWMSG_ATTR_NOT_NULL _LWMSG_ARG(LWMSG_CMD_NOT_NULL)
/**
 * The previous integer must lie in [@p low, @p high] (inclusive); marshalling or unmarshalling a
 * value outside fails (LWMSG_STATUS_INVALID_PARAMETER when sending, MALFORMED when receiving).
 */
#define LWMSG_ATTR_RANGE(low, high) _LWMSG_ARG(LWMSG_CMD_RANGE), _LWMSG_ARG(low), _LWMSG_ARG(high)

/** A NUL-terminated string member (a pointer to char, NULL allowed unless LWMSG_ATTR_NOT_NULL follows). */
#define LWMSG_MEMBER_PSTR(type, field) \
    LWMSG_MEMBER_POINTER_BEGIN(type, field), LWMSG_UINT8(char), LWMSG_POINTER_END, LWMSG_ATTR_STRING
/** A NUL-terminated string (a pointer to char). */
#define LWMSG_PSTR LWMSG_POINTER_BEGIN, LWMSG_UINT8(char), LWMSG_POINTER_END, LWMSG_ATTR_STRING

/** A file descriptor (C type int). A value <= 0 sends no descriptor; one received is owned by the receiver. */
#define LWMSG_FD _LWMSG_ARG(LWMSG_CMD_FD)
/** A file descriptor member (C type int); <= 0 means "no descriptor". */
#define LWMSG_MEMBER_FD(type, field) _LWMSG_MEMBER(LWMSG_CMD_FD, type, field)

/** Compact forms, as in LWMsg. */
#define LWMSG_STRUCT(type, ...) LWMSG_STRUCT_BEGIN(type), __VA_ARGS__, LWMSG_STRUCT_END
#define LWMSG_POINTER(...) LWMSG_POINTER_BEGIN, __VA_ARGS__, LWMSG_POINTER_END
#define LWMSG_MEMBER_STRUCT(type, field, ...) LWMSG_MEMBER_STRUCT_BEGIN(type, field), __VA_ARGS__, LWMSG_STRUCT_END
#define LWMSG_MEMBER_POINTER(type, field, ...) LWMSG_MEMBER_POINTER_BEGIN(type, field), __VA_ARGS__, LWMSG_POINTER_END

/**
 * Largest string (bytes), byte array or element count a specification translates to: a
 * PSTR is `string<LWMSG_AIRLOCK_MAX_LENGTH>`, a length-member array of 8-bit integers
 * `bytes<...>`, any other one `vector<T,...>` (16 MiB; messages are limited to 64 MiB).
 */
#define LWMSG_AIRLOCK_MAX_LENGTH 16777216

#endif
