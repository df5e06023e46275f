#include "test_protocol.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

LWMsgTypeSpec point_spec[] = {
    LWMSG_STRUCT_BEGIN(Point),
    LWMSG_MEMBER_INT32(Point, x),
    LWMSG_MEMBER_INT16(Point, y),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec request_spec[] = {
    LWMSG_STRUCT_BEGIN(Request),
    LWMSG_MEMBER_UINT8(Request, u8),
    LWMSG_MEMBER_INT8(Request, i8),
    LWMSG_MEMBER_UINT16(Request, u16),
    LWMSG_MEMBER_INT16(Request, i16),
    LWMSG_MEMBER_UINT32(Request, u32),
    LWMSG_MEMBER_INT32(Request, i32),
    LWMSG_MEMBER_UINT64(Request, u64),
    LWMSG_MEMBER_INT64(Request, i64),
    LWMSG_MEMBER_INT8(Request, small),
    LWMSG_MEMBER_PSTR(Request, name),
    LWMSG_MEMBER_PSTR(Request, label),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_MEMBER_UINT32(Request, data_length),
    LWMSG_MEMBER_POINTER(Request, data, LWMSG_UINT8(unsigned char)),
    LWMSG_ATTR_LENGTH_MEMBER(Request, data_length),
    LWMSG_MEMBER_UINT32(Request, count),
    LWMSG_MEMBER_POINTER(Request, points, LWMSG_TYPESPEC(point_spec)),
    LWMSG_ATTR_LENGTH_MEMBER(Request, count),
    LWMSG_MEMBER_STRUCT_BEGIN(Request, origin),
    LWMSG_MEMBER_INT32(Point, x),
    LWMSG_MEMBER_INT16(Point, y),
    LWMSG_STRUCT_END,
    LWMSG_MEMBER_INT32(Request, level),
    LWMSG_ATTR_RANGE(-5, 5),
    LWMSG_MEMBER_FD(Request, fd),
    LWMSG_MEMBER_POINTER(Request, single, LWMSG_TYPESPEC(point_spec)),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec reply_spec[] = {
    LWMSG_STRUCT(Reply,
                 LWMSG_MEMBER_UINT64(Reply, sum),
                 LWMSG_MEMBER_PSTR(Reply, text),
                 LWMSG_MEMBER_FD(Reply, fd)),
    LWMSG_TYPE_END
};

static LWMsgTypeSpec fd_spec[] = { LWMSG_FD, LWMSG_TYPE_END };
static LWMsgTypeSpec string_spec[] = { LWMSG_PSTR, LWMSG_TYPE_END };

LWMsgProtocolSpec test_protocol_spec[] = {
    LWMSG_MESSAGE(TAG_REQUEST, request_spec),
    LWMSG_MESSAGE(TAG_REPLY, reply_spec),
    LWMSG_MESSAGE(TAG_NOTE, point_spec),
    LWMSG_MESSAGE(TAG_FD, fd_spec),
    LWMSG_MESSAGE(TAG_EMPTY, NULL),
    LWMSG_MESSAGE(TAG_STRING, string_spec),
    LWMSG_PROTOCOL_END
};

void expected_reply(const Request* r, Reply* reply) {
    uint64_t sum = r->u8 + (uint64_t)(int64_t)r->i8 + r->u16 + (uint64_t)(int64_t)r->i16 + r->u32 +
                   (uint64_t)(int64_t)r->i32 + r->u64 + (uint64_t)r->i64 + (uint64_t)(int64_t)r->small +
                   (uint64_t)(int64_t)r->level + (uint64_t)(int64_t)r->origin.x + (uint64_t)(int64_t)r->origin.y;
    for (size_t i = 0; i < r->data_length && r->data; ++i) sum += r->data[i];
    for (uint32_t i = 0; i < r->count && r->points; ++i) sum += (uint64_t)(int64_t)r->points[i].x + (uint64_t)(int64_t)r->points[i].y;
    if (r->single) sum += (uint64_t)(int64_t)r->single->x * 1000;
    char text[512];
    snprintf(text, sizeof text, "%s|%s|%zu|%u|%s|%s", r->name ? r->name : "(null)", r->label, r->data_length, r->count,
             r->points ? "points" : "no-points", r->single ? "single" : "no-single");
    reply->sum = sum;
    reply->text = strdup(text);
    reply->fd = r->fd;
}

int serve(LWMsgAssoc* assoc) {
    for (;;) {
        LWMsgMessage in = LWMSG_MESSAGE_INITIALIZER;
        LWMsgMessage out = LWMSG_MESSAGE_INITIALIZER;
        LWMsgStatus status = lwmsg_assoc_recv_message(assoc, &in);
        if (status == LWMSG_STATUS_PEER_CLOSE) return 0;
        if (status == LWMSG_STATUS_MALFORMED) continue;  /* refused; the caller got an error reply */
        if (status != LWMSG_STATUS_SUCCESS) {
            fprintf(stderr, "serve: recv: %s\n", lwmsg_assoc_get_error_message(assoc, status));
            return 1;
        }
        out.cookie = in.cookie;
        Reply reply = {0, NULL, -1};
        Point moved;
        switch (in.tag) {
        case TAG_REQUEST: {
            Request* request = in.data;
            if (request->level == 4) {
                out.tag = TAG_REPLY;
                out.status = LWMSG_STATUS_SECURITY;
            } else {
                expected_reply(request, &reply);
                out.tag = TAG_REPLY;
                out.data = &reply;
            }
            break;
        }
        case TAG_NOTE:
            moved = *(Point*)in.data;
            moved.x += 1;
            out.tag = TAG_NOTE;
            out.data = &moved;
            break;
        case TAG_FD:
        case TAG_EMPTY:
        case TAG_STRING:
            out.tag = in.tag;
            out.data = in.data;
            break;
        default:
            return 2;
        }
        status = lwmsg_assoc_send_message(assoc, &out);
        free(reply.text);
        if (status != LWMSG_STATUS_SUCCESS) {
            fprintf(stderr, "serve: send: %s\n", lwmsg_assoc_get_error_message(assoc, status));
            return 3;
        }
        if (lwmsg_assoc_destroy_message(assoc, &in) != LWMSG_STATUS_SUCCESS) return 4;
    }
}
