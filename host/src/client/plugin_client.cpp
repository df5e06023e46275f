// PluginClient: the host side of the start-up (handshake, grant table, ready) and typed calls
// to a plugin's announced methods.
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/plugin_session.hpp>
#include <airlock/host/spawner.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

// The start-up is PluginSession's (the same handshake as the supervisor's and `exec`'s
// PluginRunner), driven by a poll() loop of its own until the plugin is ready; the established
// connection then moves to this blocking client. A refused plugin is killed (SIGKILL) like
// under the runner; the process itself stays the caller's to wait for.
Result<PluginClient> PluginClient::connect(SpawnedPlugin& plugin, std::chrono::milliseconds ready_timeout,
                                           LogSink log_sink) {
    const std::string who = "plugin " + plugin.name + " (pid " + std::to_string(plugin.process.pid()) + ")";
    SupervisionConfig timeouts;
    timeouts.ready_timeout = ready_timeout;
    PluginSession::Callbacks callbacks;
    std::string closed_early;
    callbacks.report = [&closed_early](const std::string& text) { closed_early = text; };
    // Log records may come before the ready notice (a plugin logging while it starts).
    callbacks.log_record = [&log_sink](const wire::LogRecord& record) {
        if (log_sink) log_sink(record);
    };
    PluginSession session(plugin, timeouts, std::move(callbacks));
    while (!session.ready() && !session.refused() && session.fd() >= 0) {
        const auto deadline = session.deadline().value_or(Clock::now());
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd watched{session.fd(), session.events(), 0};
        const int polled = ::poll(&watched, 1, static_cast<int>(std::clamp<long long>(left, 0, 60'000)));
        if (polled < 0 && errno != EINTR) return Status(StatusCode::SystemError, who + ": poll: " + std::strerror(errno));
        if (polled > 0) session.on_events(watched.revents);
        session.check_deadline(Clock::now());
    }
    if (session.refused()) return session.refusal_status().with_context(who);
    if (!session.ready()) {
        return Status(StatusCode::PeerClosed, who + ": " + (closed_early.empty() ? "the connection closed" : closed_early));
    }
    wire::ReadyNotice ready;
    ready.methods.assign(session.methods().begin(), session.methods().end());
    Result<Connection> connection = session.release_connection();
    if (!connection) return connection.status().with_context(who);
    auto owned = std::make_unique<Connection>(std::move(*connection));
    owned->set_timeout(std::nullopt);
    owned->set_max_queued_bytes(std::nullopt);
    Result<PluginClient> client = adopt(std::move(owned), ready, std::move(log_sink));
    if (!client) return client.status().with_context(who);
    return client;
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
