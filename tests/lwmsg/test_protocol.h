/* The protocol the C tests of <lwmsg/lwmsg.h> speak, and a server for it. */
#ifndef AIRLOCK_TEST_LWMSG_PROTOCOL_H
#define AIRLOCK_TEST_LWMSG_PROTOCOL_H

#include <lwmsg/lwmsg.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct Point {
    int32_t x;
    int16_t y;
} Point;

/* Every kind the API covers. */
typedef struct Request {
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    int small;              /* a C int marshalled as INT8: out-of-width values overflow */
    char* name;             /* nullable string */
    char* label;            /* LWMSG_ATTR_NOT_NULL string */
    size_t data_length;
    unsigned char* data;    /* bytes, length in data_length */
    uint32_t count;
    Point* points;          /* array of structs, length in count */
    Point origin;           /* inline nested struct */
    int32_t level;          /* LWMSG_ATTR_RANGE(-5, 5) */
    int fd;                 /* a descriptor; <= 0: none */
    Point* single;          /* pointer to one struct, nullable */
} Request;

typedef struct Reply {
    uint64_t sum;           /* of every integer, byte and point in the request */
    char* text;             /* a summary of strings and presence */
    int fd;                 /* the request's descriptor, sent back */
} Reply;

enum {
    TAG_REQUEST = 0,
    TAG_REPLY = 1,
    TAG_NOTE = 2,     /* one-way Point */
    TAG_FD = 3,       /* a bare LWMSG_FD */
    TAG_EMPTY = 4,    /* no payload */
    TAG_STRING = 5    /* a bare LWMSG_PSTR */
};

extern LWMsgTypeSpec point_spec[];
extern LWMsgProtocolSpec test_protocol_spec[];

/* The reply the server computes for `request` (text is malloc'ed). */
void expected_reply(const Request* request, Reply* reply);

/* Serves requests until the peer closes: 0 then, non-zero on any other failure.
   A request with level 4 is refused with LWMSG_STATUS_SECURITY. */
int serve(LWMsgAssoc* assoc);

#define CHECK(condition)                                                                \
    do {                                                                                \
        if (!(condition)) {                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
            ++failures;                                                                 \
        }                                                                               \
    } while (0)
#define CHECK_STATUS(expression, expected) CHECK((expression) == (expected))

#endif
