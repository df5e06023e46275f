// The C plugin SDK (<airlock/plugin.h>): a C face on airlock::plugin::Plugin whose request and
// reply types are LWMsg type specifications translated by the lwmsg library.
#include "airlock/plugin.h"

#include "status_map.hpp"
#include "type_translation.hpp"

#include <airlock/plugin/plugin.hpp>

#include <deque>
#include <memory>
#include <new>
#include <string>

using airlock::lwmsg::Outcome;
using airlock::lwmsg::TypeTranslation;
using airlock::plugin::PluginError;
using airlock::plugin::PluginErrorKind;

struct airlock_plugin {
    std::unique_ptr<airlock::plugin::Plugin> plugin;
    std::deque<std::unique_ptr<TypeTranslation>> types;  // alive as long as the methods
    std::string error;
    std::string reply_error;
};

namespace {

thread_local std::string create_error;

airlock_status status_of(PluginErrorKind kind) {
    switch (kind) {
    case PluginErrorKind::NotUnderHost: return AIRLOCK_ERR_NOT_UNDER_HOST;
    case PluginErrorKind::Connection: return AIRLOCK_ERR_CONNECTION;
    case PluginErrorKind::GrantNotFound: return AIRLOCK_ERR_NOT_FOUND;
    case PluginErrorKind::RegistrationClosed: return AIRLOCK_ERR_STATE;
    default: return AIRLOCK_ERR_INVALID_ARGUMENT;
    }
}

airlock_status fail(airlock_plugin* plugin, airlock_status status, std::string message) {
    plugin->error = std::move(message);
    return status;
}

// Translates a specification that must describe a structure.
Outcome struct_translation(LWMsgTypeSpec* spec, std::unique_ptr<TypeTranslation>& out) {
    if (!spec) return {LWMSG_STATUS_INVALID_PARAMETER, "the type specification is NULL"};
    if (Outcome o = TypeTranslation::translate(spec, out); !o.ok()) return o;
    if (!out->is_struct()) return {LWMSG_STATUS_INVALID_PARAMETER, "request and reply types must be structures"};
    return {};
}

void fill_grant(const airlock::plugin::GrantInfo& info, int fd, airlock_grant* grant) {
    grant->name = info.name.c_str();
    grant->kind = static_cast<airlock_grant_kind>(info.kind);
    grant->access = static_cast<airlock_grant_access>(info.access);
    grant->fd = fd;
    grant->size = info.size;
}

} // namespace

extern "C" {

unsigned airlock_plugin_abi_version(void) { return AIRLOCK_PLUGIN_ABI_VERSION; }

airlock_status airlock_plugin_create(airlock_plugin** plugin) {
    if (!plugin) return AIRLOCK_ERR_INVALID_ARGUMENT;
    *plugin = nullptr;
    try {
        auto created = std::make_unique<airlock_plugin>();
        created->plugin = std::make_unique<airlock::plugin::Plugin>();
        *plugin = created.release();
        return AIRLOCK_OK;
    } catch (const PluginError& error) {
        create_error = error.what();
        return status_of(error.kind());
    } catch (const std::bad_alloc&) {
        create_error = "out of memory";
        return AIRLOCK_ERR_MEMORY;
    }
}

void airlock_plugin_destroy(airlock_plugin* plugin) { delete plugin; }

const char* airlock_plugin_error(const airlock_plugin* plugin) {
    return plugin ? plugin->error.c_str() : create_error.c_str();
}

const char* airlock_plugin_name(const airlock_plugin* plugin) { return plugin ? plugin->plugin->name().c_str() : ""; }

airlock_status airlock_plugin_register(airlock_plugin* plugin, const char* name, LWMsgTypeSpec* request_spec,
                                       LWMsgTypeSpec* reply_spec, airlock_method_handler handler, void* user_data) {
    if (!plugin) return AIRLOCK_ERR_INVALID_ARGUMENT;
    if (!name || !handler) return fail(plugin, AIRLOCK_ERR_INVALID_ARGUMENT, "the method name and handler must not be NULL");
    try {
        std::unique_ptr<TypeTranslation> request, reply;
        if (Outcome o = struct_translation(request_spec, request); !o.ok())
            return fail(plugin, AIRLOCK_ERR_INVALID_ARGUMENT, std::string("method ") + name + ", request: " + o.message);
        if (Outcome o = struct_translation(reply_spec, reply); !o.ok())
            return fail(plugin, AIRLOCK_ERR_INVALID_ARGUMENT, std::string("method ") + name + ", reply: " + o.message);
        const TypeTranslation* in = request.get();
        const TypeTranslation* out = reply.get();
        auto raw = [plugin, in, out, handler, user_data](airlock::Message& message,
                                                         airlock::CallSession::Responder& respond) -> airlock::Status {
            void* decoded = nullptr;
            if (Outcome o = in->decode(message.body, message.fds, &decoded); !o.ok())
                return airlock::Status(airlock::StatusCode::Malformed, o.message);
            void* answer = std::calloc(1, out->c_size());
            if (!answer) {
                in->destroy(decoded);
                return airlock::Status(airlock::StatusCode::Memory, "out of memory");
            }
            plugin->reply_error.clear();
            LWMsgStatus status = handler(user_data, decoded, answer);
            in->destroy(decoded);
            airlock::Status result;
            if (status != LWMSG_STATUS_SUCCESS) {
                std::string text = plugin->reply_error.empty() ? "the handler failed with status " + std::to_string(status)
                                                               : plugin->reply_error;
                result = airlock::Status(airlock::lwmsg::to_airlock(status), text);
            } else {
                std::vector<std::uint8_t> body;
                std::vector<int> fds;
                if (Outcome o = out->encode(answer, body, fds); !o.ok())
                    result = airlock::Status(airlock::StatusCode::InvalidParameter, "encoding the reply: " + o.message);
                else
                    (void)respond.send(body, fds);
            }
            out->destroy(answer, false);  // pointers freed; descriptors were borrowed
            return result;
        };
        plugin->plugin->on_raw(name, request->spec(), reply->spec(), std::move(raw));
        plugin->types.push_back(std::move(request));
        plugin->types.push_back(std::move(reply));
        return AIRLOCK_OK;
    } catch (const PluginError& error) {
        return fail(plugin, status_of(error.kind()), error.what());
    } catch (const std::bad_alloc&) {
        return fail(plugin, AIRLOCK_ERR_MEMORY, "out of memory");
    }
}

void airlock_plugin_set_reply_error(airlock_plugin* plugin, const char* message) {
    if (plugin && message) plugin->reply_error = message;
}

size_t airlock_plugin_grant_count(const airlock_plugin* plugin) { return plugin ? plugin->plugin->grants().size() : 0; }

airlock_status airlock_plugin_grant_at(const airlock_plugin* plugin, size_t index, airlock_grant* grant) {
    if (!plugin || !grant) return AIRLOCK_ERR_INVALID_ARGUMENT;
    const auto& grants = plugin->plugin->grants();
    if (index >= grants.size()) return AIRLOCK_ERR_NOT_FOUND;
    fill_grant(grants[index], plugin->plugin->grant_fd(grants[index].name), grant);
    return AIRLOCK_OK;
}

airlock_status airlock_plugin_grant(airlock_plugin* plugin, const char* name, airlock_grant* grant) {
    if (!plugin || !name || !grant) return AIRLOCK_ERR_INVALID_ARGUMENT;
    std::string granted;
    for (const auto& info : plugin->plugin->grants()) {
        if (info.name == name) {
            fill_grant(info, plugin->plugin->grant_fd(info.name), grant);
            return AIRLOCK_OK;
        }
        granted += (granted.empty() ? "" : ", ") + info.name;
    }
    return fail(plugin, AIRLOCK_ERR_NOT_FOUND, std::string("grant \"") + name + "\" is not granted to plugin \"" +
                                                   plugin->plugin->name() + "\"; granted: " +
                                                   (granted.empty() ? "nothing" : granted));
}

void airlock_plugin_log(airlock_plugin* plugin, airlock_log_level level, const char* text) {
    if (!plugin || !text || level < AIRLOCK_LOG_ERROR || level > AIRLOCK_LOG_DEBUG) return;
    plugin->plugin->log(static_cast<airlock::plugin::LogLevel>(level), text);
}

airlock_status airlock_plugin_progress(airlock_plugin* plugin, const char* task, uint64_t done, uint64_t total,
                                       const char* message) {
    if (!plugin || !task) return AIRLOCK_ERR_INVALID_ARGUMENT;
    airlock::Status status = plugin->plugin->progress(task, done, total, message ? message : "");
    return status.ok() ? AIRLOCK_OK : fail(plugin, AIRLOCK_ERR_CONNECTION, status.to_string());
}

int airlock_plugin_run(airlock_plugin* plugin) {
    if (!plugin) return 1;
    try {
        return plugin->plugin->run();
    } catch (const PluginError& error) {
        plugin->error = error.what();
        return 1;
    }
}

} // extern "C"
