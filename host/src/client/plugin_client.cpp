// PluginClient: the host side of the start-up (handshake, grant table, ready) and typed calls
// to a plugin's announced methods.
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/plugin_session.hpp>
#include <airlock/host/spawner.hpp>

namespace airlock::host {
namespace {

namespace wire = airlock::protocol;
using Clock = std::chrono::steady_clock;

std::string method_list(const std::vector<PluginMethod>& methods) {
    std::string names;
    for (const auto& method : methods) names += (names.empty() ? "" : ", ") + method.name;
    return names.empty() ? "none" : names;
}

} // namespace

PluginClient::PluginClient(std::unique_ptr<Connection> connection, std::vector<PluginMethod> methods, LogSink log_sink)
    : connection_(std::move(connection)),
      session_(std::make_unique<CallSession>(*connection_)),
      methods_(std::move(methods)),
      log_sink_(std::make_shared<LogSink>(std::move(log_sink))) {
    (void)session_->on(wire::log_record, [sink = log_sink_](wire::LogRecord& record) {
        if (*sink) (*sink)(record);
    });
}

PluginClient::PluginClient(PluginClient&&) noexcept = default;
PluginClient& PluginClient::operator=(PluginClient&&) noexcept = default;
PluginClient::~PluginClient() = default;

Result<PluginClient> PluginClient::adopt(std::unique_ptr<Connection> connection, const wire::ReadyNotice& ready,
                                         LogSink log_sink) {
    if (!connection || connection->state() != ConnectionState::Ready) {
        return Status(StatusCode::InvalidState, "PluginClient needs an established connection");
    }
    if (Status valid = check_method_announcements(ready); !valid.ok()) return valid;
    return PluginClient(std::move(connection), ready.methods, std::move(log_sink));
}

Result<PluginClient> PluginClient::connect(SpawnedPlugin& plugin, std::chrono::milliseconds ready_timeout,
                                           LogSink log_sink) {
    const std::string who = "plugin " + plugin.name + " (pid " + std::to_string(plugin.process.pid()) + ")";
    const auto deadline = Clock::now() + ready_timeout;
    auto connection = std::make_unique<Connection>(wire::plugin_host_protocol());
    connection->set_timeout(ready_timeout);
    if (Status s = connection->set_fd(ConnectionMode::Pair, std::move(plugin.connection)); !s.ok()) return s.with_context(who);
    if (Status s = connection->establish(); !s.ok()) return s.with_context(who + ": handshake");
    Result<SecurityToken> token = connection->peer_token();
    if (!token) return token.status().with_context(who + ": cannot identify the peer");
    if (token->pid != plugin.process.pid()) {
        return Status(StatusCode::PermissionDenied,
                      who + ": the connection's peer is pid " + std::to_string(token->pid) + ", not the spawned plugin");
    }
    wire::GrantTable table = take_grant_table(plugin);
    if (Status s = connection->send_value(wire::grant_table.tag, table); !s.ok()) return s.with_context(who + ": grant table");

    // Log records may come before the ready notice (a plugin logging while it starts).
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return Status(StatusCode::Timeout, who + ": did not report ready within " + std::to_string(ready_timeout.count()) + " ms");
        }
        Result<Message> message = connection->receive_for(left);
        if (!message) return message.status().with_context(who + ": waiting for ready");
        if (message->tag == wire::log_record.tag) {
            Result<wire::LogRecord> record = decode_value<wire::LogRecord>(message->body, std::move(message->fds));
            if (record && log_sink) log_sink(*record);
            continue;
        }
        if (message->tag != wire::ready.tag) {
            return Status(StatusCode::Malformed, who + ": expected the ready notice, received message tag " + std::to_string(message->tag));
        }
        Result<wire::ReadyNotice> ready = decode_value<wire::ReadyNotice>(message->body, std::move(message->fds));
        if (!ready) return ready.status().with_context(who + ": ready notice");
        connection->set_timeout(std::nullopt);
        Result<PluginClient> client = adopt(std::move(connection), *ready, std::move(log_sink));
        if (!client) return client.status().with_context(who);
        return client;
    }
}

const PluginMethod* PluginClient::find(std::string_view name) const noexcept {
    for (const auto& method : methods_) {
        if (method.name == name) return &method;
    }
    return nullptr;
}

Result<const PluginMethod*> PluginClient::check(std::string_view method, const std::string& request_type,
                                                const std::string& reply_type) const {
    const PluginMethod* found = find(method);
    if (found == nullptr) {
        return Status(StatusCode::NotFound, "the plugin has no method \"" + std::string(method) +
                                                "\"; it serves: " + method_list(methods_));
    }
    if (Status s = wire::check_announced_types(found->name, found->request_type, found->reply_type, request_type, reply_type);
        !s.ok())
        return s;
    return found;
}

Result<Message> PluginClient::call_raw(std::string_view method, std::span<const std::uint8_t> body,
                                       std::span<const int> fds, std::optional<std::chrono::milliseconds> timeout) {
    const PluginMethod* found = find(method);
    if (found == nullptr) {
        return Status(StatusCode::NotFound, "the plugin has no method \"" + std::string(method) +
                                                "\"; it serves: " + method_list(methods_));
    }
    Result<Message> reply = session_->call_raw(found->tag, body, fds, timeout);
    if (!reply) return reply.status().with_context(std::string(method));
    return reply;
}

Result<wire::StopReply> PluginClient::stop(std::chrono::milliseconds timeout) {
    wire::StopRequest request;
    request.timeout_ms = static_cast<std::uint32_t>(timeout.count());
    return session_->call(wire::stop, request, timeout);
}

} // namespace airlock::host
