/* A complete program written only against <lwmsg/lwmsg.h> (and libc): a client and a
 * server process over a socketpair. The client passes the write end of a pipe; the server
 * writes a greeting into it, checks who its peer is, and answers. */
#include <lwmsg/lwmsg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct GreetRequest {
    char* name;
    int sink;               /* where the server writes its greeting */
} GreetRequest;

typedef struct GreetReply {
    uint32_t written;       /* bytes written into the sink */
    uint32_t client_uid;    /* the client's uid as the server's token says */
    int32_t client_pid;
} GreetReply;

enum { GREET = 0, GREET_REPLY = 1 };

static LWMsgTypeSpec greet_request_spec[] = {
    LWMSG_STRUCT_BEGIN(GreetRequest),
    LWMSG_MEMBER_PSTR(GreetRequest, name),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_MEMBER_FD(GreetRequest, sink),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec greet_reply_spec[] = {
    LWMSG_STRUCT_BEGIN(GreetReply),
    LWMSG_MEMBER_UINT32(GreetReply, written),
    LWMSG_MEMBER_UINT32(GreetReply, client_uid),
    LWMSG_MEMBER_INT32(GreetReply, client_pid),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgProtocolSpec greet_protocol[] = {
    LWMSG_MESSAGE(GREET, greet_request_spec),
    LWMSG_MESSAGE(GREET_REPLY, greet_reply_spec),
    LWMSG_PROTOCOL_END
};

#define TRY(expression)                                                                   \
    do {                                                                                  \
        LWMsgStatus status_ = (expression);                                               \
        if (status_ != LWMSG_STATUS_SUCCESS) {                                            \
            fprintf(stderr, "%s:%d: %s failed with status %d\n", __FILE__, __LINE__, #expression, (int)status_); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static LWMsgAssoc* open_connection(LWMsgProtocol* protocol, int fd, int server) {
    LWMsgAssoc* assoc = NULL;
    TRY(lwmsg_connection_new(NULL, protocol, &assoc));
    TRY(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, fd));
    if (server) TRY(lwmsg_assoc_accept(assoc, NULL));
    else TRY(lwmsg_assoc_connect(assoc, NULL));
    return assoc;
}

static int run_server(LWMsgProtocol* protocol, int fd) {
    LWMsgAssoc* assoc = open_connection(protocol, fd, 1);
    LWMsgSession* session = NULL;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    TRY(lwmsg_assoc_get_session(assoc, &session));
    TRY(lwmsg_local_token_get_eid(lwmsg_session_get_peer_security_token(session), &uid, &gid));
    TRY(lwmsg_local_token_get_pid(lwmsg_session_get_peer_security_token(session), &pid));
    for (;;) {
        LWMsgMessage request = LWMSG_MESSAGE_INITIALIZER;
        LWMsgStatus status = lwmsg_assoc_recv_message(assoc, &request);
        if (status == LWMSG_STATUS_PEER_CLOSE) break;
        TRY(status);
        GreetRequest* greet = request.data;
        char text[128];
        int length = snprintf(text, sizeof text, "hello, %s", greet->name);
        GreetReply answer = {0, (uint32_t)uid, (int32_t)pid};
        if (write(greet->sink, text, (size_t)length) == length) answer.written = (uint32_t)length;
        LWMsgMessage reply = LWMSG_MESSAGE_INITIALIZER;
        reply.tag = GREET_REPLY;
        reply.cookie = request.cookie;
        reply.data = &answer;
        TRY(lwmsg_assoc_send_message(assoc, &reply));
        TRY(lwmsg_assoc_destroy_message(assoc, &request)); /* closes the received sink */
    }
    lwmsg_assoc_delete(assoc);
    return 0;
}

int main(void) {
    LWMsgContext* context = NULL;
    LWMsgProtocol* protocol = NULL;
    TRY(lwmsg_context_new(NULL, &context));
    TRY(lwmsg_protocol_new(context, &protocol));
    TRY(lwmsg_protocol_add_protocol_spec(protocol, greet_protocol));

    int ends[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) return 1;
    pid_t server = fork();
    if (server == 0) {
        close(ends[0]);
        _exit(run_server(protocol, ends[1]));
    }
    close(ends[1]);

    LWMsgAssoc* assoc = open_connection(protocol, ends[0], 0);
    LWMsgSession* session = NULL;
    LWMsgCall* call = NULL;
    pid_t server_pid = 0;
    TRY(lwmsg_assoc_get_session(assoc, &session));
    TRY(lwmsg_local_token_get_pid(lwmsg_session_get_peer_security_token(session), &server_pid));
    if (server_pid != server) {
        fprintf(stderr, "the token names pid %d, the server is %d\n", (int)server_pid, (int)server);
        return 1;
    }
    TRY(lwmsg_session_acquire_call(session, &call));
    const char* names[] = {"world", "airlock"};
    for (int i = 0; i < 2; ++i) {
        int pipe_ends[2];
        if (pipe(pipe_ends) != 0) return 1;
        GreetRequest request = {(char*)names[i], pipe_ends[1]};
        LWMsgParams in = LWMSG_PARAMS_INITIALIZER;
        LWMsgParams out = LWMSG_PARAMS_INITIALIZER;
        in.tag = GREET;
        in.data = &request;
        TRY(lwmsg_call_dispatch(call, &in, &out, NULL, NULL));
        close(pipe_ends[1]); /* the server holds its own copy until it destroys the request */
        GreetReply* reply = out.data;
        char text[128] = {0};
        ssize_t got = read(pipe_ends[0], text, sizeof text - 1);
        close(pipe_ends[0]);
        char expected[128];
        snprintf(expected, sizeof expected, "hello, %s", names[i]);
        if (out.tag != GREET_REPLY || got != (ssize_t)reply->written || strcmp(text, expected) != 0 ||
            reply->client_uid != (uint32_t)geteuid() || reply->client_pid != (int32_t)getpid()) {
            fprintf(stderr, "unexpected reply: tag %d, \"%s\", uid %u, pid %d\n", (int)out.tag, text,
                    (unsigned)reply->client_uid, (int)reply->client_pid);
            return 1;
        }
        printf("%s (server pid %d saw client uid %u pid %d)\n", text, (int)server_pid, (unsigned)reply->client_uid,
               (int)reply->client_pid);
        TRY(lwmsg_call_destroy_params(call, &out));
    }
    lwmsg_call_release(call);
    TRY(lwmsg_assoc_close(assoc));
    lwmsg_assoc_delete(assoc);
    int status = 0;
    waitpid(server, &status, 0);
    lwmsg_protocol_delete(protocol);
    lwmsg_context_delete(context);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
