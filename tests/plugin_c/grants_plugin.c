/* A C test plugin for the C SDK's grants, log and progress: "grant" looks a grant up by name
 * and reports its kind, access, size and (for readable files) its first bytes. */
#include <airlock/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct GrantQuery {
    char* name;
} GrantQuery;

typedef struct GrantReport {
    uint8_t found;
    uint8_t kind;
    uint8_t access;
    uint64_t size;
    uint32_t count;     /* how many grants the plugin has */
    char* content;      /* the first bytes of a readable file grant */
    char* error;        /* the SDK's message when not found */
} GrantReport;

static LWMsgTypeSpec query_spec[] = {
    LWMSG_STRUCT_BEGIN(GrantQuery),
    LWMSG_MEMBER_PSTR(GrantQuery, name),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgTypeSpec report_spec[] = {
    LWMSG_STRUCT_BEGIN(GrantReport),
    LWMSG_MEMBER_UINT8(GrantReport, found),
    LWMSG_MEMBER_UINT8(GrantReport, kind),
    LWMSG_MEMBER_UINT8(GrantReport, access),
    LWMSG_MEMBER_UINT64(GrantReport, size),
    LWMSG_MEMBER_UINT32(GrantReport, count),
    LWMSG_MEMBER_PSTR(GrantReport, content),
    LWMSG_MEMBER_PSTR(GrantReport, error),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

static LWMsgStatus grant(void* user, const void* request, void* reply) {
    airlock_plugin* plugin = user;
    const GrantQuery* query = request;
    GrantReport* report = reply;
    airlock_grant info;
    report->count = (uint32_t)airlock_plugin_grant_count(plugin);
    char line[300];
    snprintf(line, sizeof line, "looking up grant %s", query->name);
    airlock_plugin_log(plugin, AIRLOCK_LOG_INFO, line);
    airlock_plugin_progress(plugin, "lookup", 1, 1, query->name);
    if (airlock_plugin_grant(plugin, query->name, &info) != AIRLOCK_OK) {
        report->error = strdup(airlock_plugin_error(plugin));
        return LWMSG_STATUS_SUCCESS;
    }
    report->found = 1;
    report->kind = (uint8_t)info.kind;
    report->access = (uint8_t)info.access;
    report->size = info.size;
    if (info.kind == AIRLOCK_GRANT_FILE && info.access == AIRLOCK_ACCESS_READ) {
        char buffer[64] = {0};
        ssize_t got = pread(info.fd, buffer, sizeof buffer - 1, 0);
        if (got >= 0) report->content = strdup(buffer);
    }
    return LWMSG_STATUS_SUCCESS;
}

int main(void) {
    if (airlock_plugin_abi_version() != AIRLOCK_PLUGIN_ABI_VERSION) return 2;
    airlock_plugin* plugin = NULL;
    if (airlock_plugin_create(&plugin) != AIRLOCK_OK) {
        fprintf(stderr, "grants_plugin: %s\n", airlock_plugin_error(NULL));
        return 78;
    }
    airlock_plugin_log(plugin, AIRLOCK_LOG_INFO, "C grants plugin starting");
    if (airlock_plugin_register(plugin, "grant", query_spec, report_spec, grant, plugin) != AIRLOCK_OK ||
        airlock_plugin_register(plugin, "grant", query_spec, report_spec, grant, plugin) != AIRLOCK_ERR_INVALID_ARGUMENT ||
        airlock_plugin_register(plugin, "bad", (LWMsgTypeSpec*)NULL, report_spec, grant, plugin) != AIRLOCK_ERR_INVALID_ARGUMENT)
        return 3;
    int code = airlock_plugin_run(plugin);
    if (airlock_plugin_register(plugin, "late", query_spec, report_spec, grant, plugin) != AIRLOCK_ERR_STATE) code = 4;
    airlock_plugin_destroy(plugin);
    return code;
}
