/* hello-c: the hello plugin in C. "greet" says hello, "echo" returns its input. */
#include <airlock/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct GreetRequest {
    char* name;
} GreetRequest;

typedef struct GreetReply {
    char* text;
} GreetReply;

typedef struct EchoMessage {
    uint32_t length;
    uint8_t* data;
} EchoMessage;

static LWMsgTypeSpec greet_request_spec[] = {
    LWMSG_STRUCT_BEGIN(GreetRequest),
    LWMSG_MEMBER_PSTR(GreetRequest, name),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec greet_reply_spec[] = {
    LWMSG_STRUCT_BEGIN(GreetReply),
    LWMSG_MEMBER_PSTR(GreetReply, text),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec echo_spec[] = {
    LWMSG_STRUCT_BEGIN(EchoMessage),
    LWMSG_MEMBER_UINT32(EchoMessage, length),
    LWMSG_MEMBER_POINTER(EchoMessage, data, LWMSG_UINT8(uint8_t)),
    LWMSG_ATTR_LENGTH_MEMBER(EchoMessage, length),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgStatus greet(void* plugin, const void* request, void* reply) {
    const GreetRequest* in = request;
    GreetReply* out = reply;
    if (in->name[0] == '\0') {
        airlock_plugin_set_reply_error(plugin, "greet needs a name");
        return LWMSG_STATUS_INVALID_PARAMETER;
    }
    size_t size = strlen(in->name) + sizeof "hello, ";
    out->text = malloc(size); /* freed by the SDK once sent */
    if (!out->text) return LWMSG_STATUS_MEMORY;
    snprintf(out->text, size, "hello, %s", in->name);
    return LWMSG_STATUS_SUCCESS;
}

static LWMsgStatus echo(void* plugin, const void* request, void* reply) {
    (void)plugin;
    const EchoMessage* in = request;
    EchoMessage* out = reply;
    out->data = malloc(in->length ? in->length : 1);
    if (!out->data) return LWMSG_STATUS_MEMORY;
    memcpy(out->data, in->data, in->length);
    out->length = in->length;
    return LWMSG_STATUS_SUCCESS;
}

int main(void) {
    airlock_plugin* plugin = NULL;
    airlock_status status = airlock_plugin_create(&plugin);  /* adopts the host connection */
    if (status != AIRLOCK_OK) {
        fprintf(stderr, "hello-c: %s\n", airlock_plugin_error(NULL));
        return status == AIRLOCK_ERR_NOT_UNDER_HOST ? 78 : 1;
    }
    if (airlock_plugin_register(plugin, "greet", greet_request_spec, greet_reply_spec, greet, plugin) != AIRLOCK_OK ||
        airlock_plugin_register(plugin, "echo", echo_spec, echo_spec, echo, plugin) != AIRLOCK_OK) {
        fprintf(stderr, "hello-c: %s\n", airlock_plugin_error(plugin));
        airlock_plugin_destroy(plugin);
        return 1;
    }
    int code = airlock_plugin_run(plugin);  /* reports ready, serves until the host says stop */
    airlock_plugin_destroy(plugin);
    return code;
}
