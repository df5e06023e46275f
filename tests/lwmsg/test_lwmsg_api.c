/* Every function of <lwmsg/lwmsg.h> this library provides, and every status the LWMsg
 * headers document for them, against a real peer process over real sockets. */
#define _GNU_SOURCE
#include "test_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static LWMsgProtocol* new_protocol(void) {
    LWMsgProtocol* protocol = NULL;
    if (lwmsg_protocol_new(NULL, &protocol) != LWMSG_STATUS_SUCCESS ||
        lwmsg_protocol_add_protocol_spec(protocol, test_protocol_spec) != LWMSG_STATUS_SUCCESS) {
        fprintf(stderr, "cannot build the test protocol\n");
        exit(2);
    }
    return protocol;
}

/* Forks a server on `fd` (mode `mode`) that serves until the peer closes; returns its pid. */
static pid_t fork_server(LWMsgProtocol* protocol, int fd, int close_in_child, LWMsgConnectionMode mode) {
    pid_t pid = fork();
    if (pid == 0) {
        if (close_in_child >= 0) close(close_in_child);
        LWMsgAssoc* assoc = NULL;
        if (lwmsg_connection_new(NULL, protocol, &assoc) || lwmsg_connection_set_fd(assoc, mode, fd) ||
            lwmsg_connection_set_packet_size(assoc, 4096) || lwmsg_assoc_accept(assoc, NULL))
            _exit(20);
        int code = serve(assoc);
        lwmsg_assoc_delete(assoc);
        _exit(code);
    }
    close(fd);
    return pid;
}

static int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_contexts_and_protocols(void) {
    LWMsgContext* context = NULL;
    LWMsgContext* child = NULL;
    CHECK_STATUS(lwmsg_context_new(NULL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_context_new(NULL, &context), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_context_new(context, &child), LWMSG_STATUS_SUCCESS);

    LWMsgProtocol* protocol = NULL;
    CHECK_STATUS(lwmsg_protocol_new(context, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_protocol_new(child, &protocol), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(NULL, test_protocol_spec), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, test_protocol_spec), LWMSG_STATUS_SUCCESS);
    /* the same tags again */
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, test_protocol_spec), LWMSG_STATUS_INVALID_PARAMETER);
    /* a reserved tag */
    LWMsgProtocolSpec negative[] = {{-7, point_spec, "NEGATIVE"}, LWMSG_PROTOCOL_END};
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, negative), LWMSG_STATUS_INVALID_PARAMETER);
    /* invalid specifications: an attribute on the wrong kind, a length member that is not one */
    static LWMsgTypeSpec not_null_integer[] = {LWMSG_STRUCT_BEGIN(Point), LWMSG_MEMBER_INT32(Point, x), LWMSG_ATTR_NOT_NULL,
                                               LWMSG_STRUCT_END, LWMSG_TYPE_END};
    static LWMsgTypeSpec bad_length[] = {LWMSG_STRUCT_BEGIN(Request), LWMSG_MEMBER_POINTER(Request, data, LWMSG_UINT8(unsigned char)),
                                         LWMSG_ATTR_LENGTH_MEMBER(Request, data_length), LWMSG_STRUCT_END, LWMSG_TYPE_END};
    LWMsgProtocolSpec bad1[] = {LWMSG_MESSAGE(40, not_null_integer), LWMSG_PROTOCOL_END};
    LWMsgProtocolSpec bad2[] = {LWMSG_MESSAGE(41, bad_length), LWMSG_PROTOCOL_END};
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, bad1), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, bad2), LWMSG_STATUS_INVALID_PARAMETER);

    /* in use by a connection: frozen */
    LWMsgAssoc* assoc = NULL;
    CHECK_STATUS(lwmsg_connection_new(context, NULL, &assoc), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_new(context, protocol, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_new(context, protocol, &assoc), LWMSG_STATUS_SUCCESS);
    LWMsgProtocolSpec later[] = {LWMSG_MESSAGE(50, point_spec), LWMSG_PROTOCOL_END};
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, later), LWMSG_STATUS_INVALID_STATE);
    lwmsg_assoc_delete(assoc);
    CHECK_STATUS(lwmsg_protocol_add_protocol_spec(protocol, later), LWMSG_STATUS_SUCCESS);

    lwmsg_protocol_delete(protocol);
    lwmsg_protocol_delete(NULL);
    lwmsg_context_delete(child);
    lwmsg_context_delete(context);
    lwmsg_context_delete(NULL);
}

static void test_attaching(LWMsgProtocol* protocol) {
    LWMsgAssoc* assoc = NULL;
    int pair[2];
    CHECK_STATUS(lwmsg_connection_new(NULL, protocol, &assoc), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_fd(NULL, LWMSG_CONNECTION_MODE_PAIR, 0), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, -1), LWMSG_STATUS_INVALID_PARAMETER);
    int not_socket = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, not_socket), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK(is_open(not_socket)); /* a refused descriptor stays the caller's */
    close(not_socket);
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_NONE, pair[0]), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_LOCAL, pair[0]), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK(strstr(lwmsg_assoc_get_error_message(assoc, LWMSG_STATUS_INVALID_PARAMETER), "Pair") != NULL);
    CHECK_STATUS(lwmsg_connection_set_packet_size(NULL, 4096), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_packet_size(assoc, 100), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_packet_size(assoc, 4096), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_connect(NULL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_connect(assoc, NULL), LWMSG_STATUS_INVALID_STATE); /* nothing attached */
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, pair[0]), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, pair[1]), LWMSG_STATUS_INVALID_STATE);
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, "/tmp/x.sock"), LWMSG_STATUS_INVALID_STATE);
    CHECK(is_open(pair[1]));
    close(pair[1]);
    lwmsg_assoc_delete(assoc);
    lwmsg_assoc_delete(NULL);

    CHECK_STATUS(lwmsg_connection_new(NULL, protocol, &assoc), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_endpoint(NULL, LWMSG_CONNECTION_MODE_LOCAL, "/tmp/x"), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_PAIR, "/tmp/x"), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, ""), LWMSG_STATUS_INVALID_PARAMETER);
    char too_long[200];
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, too_long), LWMSG_STATUS_INVALID_PARAMETER);
    char missing[64];
    snprintf(missing, sizeof missing, "/tmp/airlock-lwmsg-missing-%d.sock", (int)getpid());
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, missing), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, missing), LWMSG_STATUS_INVALID_STATE);
    CHECK_STATUS(lwmsg_assoc_connect(assoc, NULL), LWMSG_STATUS_CONNECTION_REFUSED);
    lwmsg_assoc_delete(assoc);
}

static Request sample_request(int fd, Point* points, unsigned char* data, Point* single) {
    Request request;
    memset(&request, 0, sizeof request);
    request.u8 = 250;
    request.i8 = -100;
    request.u16 = 65000;
    request.i16 = -32000;
    request.u32 = 4000000000u;
    request.i32 = -2000000000;
    request.u64 = 18000000000000000000ull;
    request.i64 = -9000000000000000000ll;
    request.small = -128;
    request.name = "world";
    request.label = "label";
    request.data_length = 300000; /* far beyond both packet sizes: fragmented */
    request.data = data;
    request.count = 3;
    request.points = points;
    request.origin.x = -70000;
    request.origin.y = 12;
    request.level = -5;
    request.fd = fd;
    request.single = single;
    return request;
}

/* Calls, messages, sessions and tokens against a forked server; `stream` picks the socket type. */
static void test_conversation(LWMsgProtocol* protocol, int stream) {
    int pair[2];
    CHECK(socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, pair) == 0);
    pid_t server = fork_server(protocol, pair[1], pair[0], LWMSG_CONNECTION_MODE_PAIR);

    LWMsgAssoc* assoc = NULL;
    LWMsgSession* session = NULL;
    CHECK_STATUS(lwmsg_connection_new(NULL, protocol, &assoc), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_packet_size(assoc, 65536), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, pair[0]), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_get_session(assoc, &session), LWMSG_STATUS_INVALID_STATE); /* not yet established */
    LWMsgMessage early = LWMSG_MESSAGE_INITIALIZER;
    CHECK_STATUS(lwmsg_assoc_send_message(assoc, &early), LWMSG_STATUS_INVALID_STATE);
    CHECK_STATUS(lwmsg_assoc_recv_message(assoc, &early), LWMSG_STATUS_INVALID_STATE);
    LWMsgSession* foreign = (LWMsgSession*)&early; /* any session but the connection's own */
    CHECK_STATUS(lwmsg_assoc_connect(assoc, foreign), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_connect(assoc, NULL), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_connect(assoc, NULL), LWMSG_STATUS_INVALID_STATE); /* twice */
    CHECK_STATUS(lwmsg_connection_set_packet_size(assoc, 8192), LWMSG_STATUS_INVALID_STATE);
    CHECK_STATUS(lwmsg_assoc_get_session(NULL, &session), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_get_session(assoc, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_get_session(assoc, &session), LWMSG_STATUS_SUCCESS);

    /* the peer's kernel-verified identity */
    LWMsgSecurityToken* token = lwmsg_session_get_peer_security_token(session);
    CHECK(token != NULL);
    CHECK(lwmsg_session_get_peer_security_token(NULL) == NULL);
    CHECK(strcmp(lwmsg_security_token_get_type(token), "local") == 0);
    CHECK(lwmsg_security_token_get_type(NULL) == NULL);
    uid_t uid = 1;
    gid_t gid = 1;
    pid_t pid = 0;
    CHECK_STATUS(lwmsg_local_token_get_eid(token, &uid, &gid), LWMSG_STATUS_SUCCESS);
    CHECK(uid == geteuid() && gid == getegid());
    CHECK_STATUS(lwmsg_local_token_get_pid(token, &pid), LWMSG_STATUS_SUCCESS);
    CHECK(pid == server);
    CHECK_STATUS(lwmsg_local_token_get_eid(NULL, &uid, &gid), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_local_token_get_eid(token, NULL, &gid), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_local_token_get_pid(NULL, &pid), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_local_token_get_pid(token, NULL), LWMSG_STATUS_INVALID_PARAMETER);

    /* call handles: one at a time */
    LWMsgCall* call = NULL;
    LWMsgCall* second = NULL;
    CHECK_STATUS(lwmsg_session_acquire_call(NULL, &call), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_session_acquire_call(session, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_session_acquire_call(session, &call), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_session_acquire_call(session, &second), LWMSG_STATUS_BUSY);
    CHECK(lwmsg_call_get_session(call) == session);

    /* a call carrying every kind and a descriptor, fragmented */
    int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct stat sent_identity;
    fstat(file, &sent_identity);
    Point points[3] = {{1, -2}, {-300000, 4}, {5, 32767}};
    Point single = {9, 9};
    unsigned char* data = malloc(300000);
    for (size_t i = 0; i < 300000; ++i) data[i] = (unsigned char)(i * 31 + 7);
    Request request = sample_request(file, points, data, &single);
    LWMsgParams in = LWMSG_PARAMS_INITIALIZER;
    LWMsgParams out = LWMSG_PARAMS_INITIALIZER;
    in.tag = TAG_REQUEST;
    in.data = &request;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_SUCCESS);
    CHECK(out.tag == TAG_REPLY);
    Reply expected;
    expected_reply(&request, &expected);
    Reply* reply = out.data;
    int received_fd = -1;
    if (reply) {
        CHECK(reply->sum == expected.sum);
        CHECK(strcmp(reply->text, expected.text) == 0);
        received_fd = reply->fd;
        struct stat got;
        CHECK(received_fd > 0 && fstat(received_fd, &got) == 0 && got.st_ino == sent_identity.st_ino);
        CHECK((fcntl(received_fd, F_GETFD) & FD_CLOEXEC) != 0);
    }
    free(expected.text);
    CHECK_STATUS(lwmsg_call_destroy_params(call, &out), LWMSG_STATUS_SUCCESS);
    CHECK(out.tag == LWMSG_TAG_INVALID && out.data == NULL);
    CHECK(received_fd > 0 && !is_open(received_fd)); /* destroying closes received descriptors */
    CHECK_STATUS(lwmsg_call_destroy_params(call, &out), LWMSG_STATUS_SUCCESS); /* nothing to destroy */
    CHECK_STATUS(lwmsg_call_destroy_params(NULL, &out), LWMSG_STATUS_INVALID_PARAMETER);
    LWMsgParams unknown = {77, NULL};
    CHECK_STATUS(lwmsg_call_destroy_params(call, &unknown), LWMSG_STATUS_NOT_FOUND);

    /* NULL pointers, no descriptor (fd <= 0 means none), a zero-length array */
    request.name = NULL;
    request.points = NULL;
    request.count = 0;
    request.single = NULL;
    request.fd = 0;
    request.data_length = 0;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_SUCCESS);
    reply = out.data;
    if (reply) {
        CHECK(reply->fd == -1);
        CHECK(strcmp(reply->text, "(null)|label|0|0|no-points|no-single") == 0);
    }
    CHECK_STATUS(lwmsg_call_destroy_params(call, &out), LWMSG_STATUS_SUCCESS);

    /* refused before sending: NOT_NULL, range, width, unknown tag, NULL data */
    request.label = NULL;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK(strstr(lwmsg_assoc_get_error_message(assoc, LWMSG_STATUS_INVALID_PARAMETER), "label") != NULL);
    request.label = "label";
    request.level = 6;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    request.level = 0;
    request.small = 300;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_OVERFLOW);
    request.small = 0;
    LWMsgParams bad_tag = {66, &request};
    CHECK_STATUS(lwmsg_call_dispatch(call, &bad_tag, &out, NULL, NULL), LWMSG_STATUS_NOT_FOUND);
    LWMsgParams no_data = {TAG_REQUEST, NULL};
    CHECK_STATUS(lwmsg_call_dispatch(call, &no_data, &out, NULL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_call_dispatch(NULL, &in, &out, NULL, NULL), LWMSG_STATUS_INVALID_PARAMETER);
    /* the server refuses level 4: its status comes back */
    request.level = 4;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_SECURITY);
    CHECK(out.tag == LWMSG_TAG_INVALID);
    request.level = 0;

    /* bare descriptor, empty and string messages */
    int fd_payload = file;
    LWMsgParams fd_in = {TAG_FD, &fd_payload};
    CHECK_STATUS(lwmsg_call_dispatch(call, &fd_in, &out, NULL, NULL), LWMSG_STATUS_SUCCESS);
    CHECK(out.tag == TAG_FD && out.data && *(int*)out.data > 0);
    CHECK_STATUS(lwmsg_call_destroy_params(call, &out), LWMSG_STATUS_SUCCESS);
    LWMsgParams empty_in = {TAG_EMPTY, NULL};
    CHECK_STATUS(lwmsg_call_dispatch(call, &empty_in, &out, NULL, NULL), LWMSG_STATUS_SUCCESS);
    CHECK(out.tag == TAG_EMPTY && out.data == NULL);
    CHECK_STATUS(lwmsg_call_destroy_params(call, &out), LWMSG_STATUS_SUCCESS);
    LWMsgParams string_in = {TAG_STRING, "a bare string"};
    CHECK_STATUS(lwmsg_call_dispatch(call, &string_in, &out, NULL, NULL), LWMSG_STATUS_SUCCESS);
    CHECK(out.tag == TAG_STRING && out.data && strcmp(out.data, "a bare string") == 0);
    CHECK_STATUS(lwmsg_call_destroy_params(call, &out), LWMSG_STATUS_SUCCESS);

    lwmsg_call_release(call);
    lwmsg_call_release(NULL);
    CHECK_STATUS(lwmsg_session_acquire_call(session, &second), LWMSG_STATUS_SUCCESS);
    CHECK(second == call);
    lwmsg_call_release(second);

    /* one-way messages: send, then receive the server's one-way answer */
    Point note = {41, 1};
    LWMsgMessage message = LWMSG_MESSAGE_INITIALIZER;
    message.tag = TAG_NOTE;
    message.data = &note;
    CHECK_STATUS(lwmsg_assoc_send_message(NULL, &message), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_send_message(assoc, &message), LWMSG_STATUS_SUCCESS);
    LWMsgMessage answer;
    lwmsg_message_init(&answer);
    CHECK(answer.tag == LWMSG_TAG_INVALID && answer.data == NULL && answer.status == LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_recv_message(NULL, &answer), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_recv_message(assoc, &answer), LWMSG_STATUS_SUCCESS);
    CHECK(answer.tag == TAG_NOTE && answer.data && ((Point*)answer.data)->x == 42);
    CHECK_STATUS(lwmsg_assoc_destroy_message(NULL, &answer), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_destroy_message(assoc, &answer), LWMSG_STATUS_SUCCESS);
    CHECK(answer.tag == LWMSG_TAG_INVALID && answer.data == NULL);
    CHECK_STATUS(lwmsg_assoc_destroy_message(assoc, &answer), LWMSG_STATUS_SUCCESS);
    LWMsgMessage unknown_message = LWMSG_MESSAGE_INITIALIZER;
    unknown_message.tag = 99;
    CHECK_STATUS(lwmsg_assoc_send_message(assoc, &unknown_message), LWMSG_STATUS_NOT_FOUND);
    CHECK_STATUS(lwmsg_assoc_destroy_message(assoc, &unknown_message), LWMSG_STATUS_NOT_FOUND);

    /* close: the session ends, the server sees PEER_CLOSE and exits 0 */
    CHECK_STATUS(lwmsg_assoc_close(NULL), LWMSG_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(lwmsg_assoc_close(assoc), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_close(assoc), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_get_session(assoc, &session), LWMSG_STATUS_INVALID_STATE);
    CHECK_STATUS(lwmsg_assoc_send_message(assoc, &message), LWMSG_STATUS_INVALID_STATE);
    CHECK_STATUS(lwmsg_session_acquire_call(session, &call), LWMSG_STATUS_INVALID_STATE);
    CHECK(wait_exit(server) == 0);
    lwmsg_assoc_delete(assoc);
    free(data);
    close(file);
}

/* PEER_CLOSE when the peer goes away in the middle of a call. */
static void test_peer_gone(LWMsgProtocol* protocol) {
    int pair[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
    pid_t peer = fork();
    if (peer == 0) {
        close(pair[0]);
        LWMsgAssoc* assoc = NULL;
        LWMsgMessage in = LWMSG_MESSAGE_INITIALIZER;
        if (lwmsg_connection_new(NULL, protocol, &assoc) || lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, pair[1]) ||
            lwmsg_assoc_accept(assoc, NULL) || lwmsg_assoc_recv_message(assoc, &in))
            _exit(1);
        _exit(0); /* exits without answering */
    }
    close(pair[1]);
    LWMsgAssoc* assoc = NULL;
    LWMsgSession* session = NULL;
    LWMsgCall* call = NULL;
    CHECK_STATUS(lwmsg_connection_new(NULL, protocol, &assoc), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, pair[0]), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_connect(assoc, NULL), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_get_session(assoc, &session), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_session_acquire_call(session, &call), LWMSG_STATUS_SUCCESS);
    LWMsgParams in = {TAG_EMPTY, NULL};
    LWMsgParams out = LWMSG_PARAMS_INITIALIZER;
    CHECK_STATUS(lwmsg_call_dispatch(call, &in, &out, NULL, NULL), LWMSG_STATUS_PEER_CLOSE);
    lwmsg_call_release(call);
    CHECK(wait_exit(peer) == 0);
    lwmsg_assoc_delete(assoc);
}

/* LOCAL mode: set_endpoint to a named SOCK_STREAM listener (LWMsg's kind); the server's
 * token for the client comes from SO_PEERCRED. */
static void test_local_endpoint(LWMsgProtocol* protocol) {
    char path[80];
    snprintf(path, sizeof path, "/tmp/airlock-lwmsg-%d.sock", (int)getpid());
    unlink(path);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strcpy(address.sun_path, path);
    CHECK(bind(listener, (struct sockaddr*)&address, sizeof address) == 0);
    CHECK(listen(listener, 4) == 0);
    pid_t client = fork();
    if (client == 0) {
        close(listener);
        LWMsgAssoc* assoc = NULL;
        LWMsgSession* session = NULL;
        LWMsgCall* call = NULL;
        pid_t server_pid = 0;
        if (lwmsg_connection_new(NULL, protocol, &assoc) ||
            lwmsg_connection_set_endpoint(assoc, LWMSG_CONNECTION_MODE_LOCAL, path) || lwmsg_assoc_connect(assoc, NULL) ||
            lwmsg_assoc_get_session(assoc, &session) ||
            lwmsg_local_token_get_pid(lwmsg_session_get_peer_security_token(session), &server_pid) ||
            server_pid != getppid() || lwmsg_session_acquire_call(session, &call))
            _exit(1);
        LWMsgParams in = {TAG_STRING, "over a named stream socket"};
        LWMsgParams out = LWMSG_PARAMS_INITIALIZER;
        if (lwmsg_call_dispatch(call, &in, &out, NULL, NULL) || out.tag != TAG_STRING ||
            strcmp(out.data, "over a named stream socket") != 0)
            _exit(2);
        lwmsg_call_destroy_params(call, &out);
        lwmsg_call_release(call);
        lwmsg_assoc_delete(assoc);
        _exit(0);
    }
    int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    CHECK(accepted >= 0);
    LWMsgAssoc* assoc = NULL;
    LWMsgSession* session = NULL;
    pid_t pid = 0;
    CHECK_STATUS(lwmsg_connection_new(NULL, protocol, &assoc), LWMSG_STATUS_SUCCESS);
    int pair[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_LOCAL, pair[0]), LWMSG_STATUS_INVALID_PARAMETER);
    close(pair[0]);
    close(pair[1]);
    CHECK_STATUS(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_LOCAL, accepted), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_accept(assoc, NULL), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_assoc_get_session(assoc, &session), LWMSG_STATUS_SUCCESS);
    CHECK_STATUS(lwmsg_local_token_get_pid(lwmsg_session_get_peer_security_token(session), &pid), LWMSG_STATUS_SUCCESS);
    CHECK(pid == client);
    CHECK(serve(assoc) == 0);
    CHECK(wait_exit(client) == 0);
    lwmsg_assoc_delete(assoc);
    close(listener);
    unlink(path);
}

int main(void) {
    signal(SIGPIPE, SIG_DFL); /* the library never raises it */
    test_contexts_and_protocols();
    LWMsgProtocol* protocol = new_protocol();
    test_attaching(protocol);
    test_conversation(protocol, 0);
    test_conversation(protocol, 1);
    test_peer_gone(protocol);
    test_local_endpoint(protocol);
    lwmsg_protocol_delete(protocol);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("all checks passed\n");
    return failures ? 1 : 0;
}
