#include "cxx_peer_c_side.h"

#include <lwmsg/lwmsg.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* struct Greeting{name:string<16777216>,times:uint32,fd:fd} in Airlock's description */
typedef struct Greeting {
    char* name;
    uint32_t times;
    int fd;
} Greeting;

/* struct Answer{bytes:bytes<16777216>} */
typedef struct Answer {
    uint32_t length;
    uint8_t* bytes;
} Answer;

enum { GREET = 0, ANSWER = 1 };

static LWMsgTypeSpec greeting_spec[] = {
    LWMSG_STRUCT_BEGIN(Greeting),
    LWMSG_MEMBER_PSTR(Greeting, name),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_MEMBER_UINT32(Greeting, times),
    LWMSG_MEMBER_FD(Greeting, fd),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec answer_spec[] = {
    LWMSG_STRUCT_BEGIN(Answer),
    LWMSG_MEMBER_UINT32(Answer, length),
    LWMSG_MEMBER_POINTER(Answer, bytes, LWMSG_UINT8(uint8_t)),
    LWMSG_ATTR_LENGTH_MEMBER(Answer, length),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgProtocolSpec protocol_spec[] = {
    LWMSG_MESSAGE(GREET, greeting_spec),
    LWMSG_MESSAGE(ANSWER, answer_spec),
    LWMSG_PROTOCOL_END
};

int run_c_side(int fd) {
    LWMsgProtocol* protocol = NULL;
    LWMsgAssoc* assoc = NULL;
    LWMsgSession* session = NULL;
    LWMsgCall* call = NULL;
    pid_t peer = 0;
    if (lwmsg_protocol_new(NULL, &protocol) || lwmsg_protocol_add_protocol_spec(protocol, protocol_spec)) return 1;
    if (lwmsg_connection_new(NULL, protocol, &assoc) || lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, fd) ||
        lwmsg_assoc_connect(assoc, NULL) || lwmsg_assoc_get_session(assoc, &session))
        return 2;
    if (lwmsg_local_token_get_pid(lwmsg_session_get_peer_security_token(session), &peer) || peer != getppid()) return 3;

    /* 1. C calls C++: the C++ side writes into our pipe and answers with the name reversed */
    int pipe_ends[2];
    if (pipe(pipe_ends) != 0 || lwmsg_session_acquire_call(session, &call)) return 4;
    Greeting greeting = {"from C", 3, pipe_ends[1]};
    LWMsgParams in = {GREET, &greeting};
    LWMsgParams out = LWMSG_PARAMS_INITIALIZER;
    if (lwmsg_call_dispatch(call, &in, &out, NULL, NULL) || out.tag != ANSWER) return 5;
    Answer* answer = out.data;
    if (answer->length != 6 || memcmp(answer->bytes, "C morf", 6) != 0) return 6;
    lwmsg_call_destroy_params(call, &out);
    lwmsg_call_release(call);
    close(pipe_ends[1]);
    char text[64] = {0};
    if (read(pipe_ends[0], text, sizeof text - 1) != 5 || strcmp(text, "hi x3") != 0) return 7;
    close(pipe_ends[0]);

    /* 2. C++ calls C: write into the descriptor it sends, answer "ok" */
    LWMsgMessage request = LWMSG_MESSAGE_INITIALIZER;
    if (lwmsg_assoc_recv_message(assoc, &request) || request.tag != GREET) return 8;
    Greeting* incoming = request.data;
    if (strcmp(incoming->name, "from C++") != 0 || write(incoming->fd, "C was here", 10) != 10) return 9;
    Answer ok = {2, (uint8_t*)"ok"};
    LWMsgMessage reply = LWMSG_MESSAGE_INITIALIZER;
    reply.tag = ANSWER;
    reply.cookie = request.cookie;
    reply.data = &ok;
    if (lwmsg_assoc_send_message(assoc, &reply) || lwmsg_assoc_destroy_message(assoc, &request)) return 10;

    /* 3. a malformed message (a NUL inside a string) is refused; the association stays usable */
    LWMsgMessage bad = LWMSG_MESSAGE_INITIALIZER;
    if (lwmsg_assoc_recv_message(assoc, &bad) != LWMSG_STATUS_MALFORMED) return 11;
    LWMsgMessage good = LWMSG_MESSAGE_INITIALIZER;
    if (lwmsg_assoc_recv_message(assoc, &good) || good.tag != GREET || ((Greeting*)good.data)->times != 9) return 12;
    lwmsg_assoc_destroy_message(assoc, &good);

    lwmsg_assoc_close(assoc);
    lwmsg_assoc_delete(assoc);
    lwmsg_protocol_delete(protocol);
    return 0;
}
