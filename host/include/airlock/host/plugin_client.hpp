#pragma once
/// @file plugin_client.hpp
/// The host's side of a plugin's methods: call them by name with typed requests and replies.
///
/// A plugin built with the SDK announces its methods in the ready notice: each method's
/// name, its (run-time assigned) tag and the descriptions of its request and reply types
/// (`describe(spec_of<T>())`). `PluginClient` keeps that table and, for every call, checks
/// that the caller's C++ types describe exactly the announced wire types before it sends
/// anything, so a host and a plugin that disagree about a method fail with a clear message
/// instead of exchanging misread bytes.
///
/// @code
/// airlock::host::Spawner spawner(config.plugins.at("hello"));
/// airlock::host::SpawnedPlugin plugin = spawner.launch();
/// auto client = airlock::host::PluginClient::connect(plugin, std::chrono::seconds(5));
/// if (!client) throw std::runtime_error(client.status().to_string());
/// auto reply = client->call<GreetRequest, GreetReply>("greet", GreetRequest{"world"}, std::chrono::seconds(1));
/// @endcode
///
/// Errors are values (`Status`/`Result`), like the connection library's calls: a remote
/// handler's failure (`HandlerFailed`, with its message), `NotFound` for a method the plugin
/// does not serve (the message lists those it does), `ProtocolMismatch` for type
/// disagreement, `Timeout`, `PeerClosed`.

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/connection/type_spec.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

struct SpawnedPlugin;

/// One method a plugin announced, as it announced it (name, tag, `describe()` of the request
/// and reply types).
using PluginMethod = protocol::MethodAnnouncement;

/// Calls one plugin's methods over its established connection. Move-only; driven by one thread.
class PluginClient {
public:
    /// Receives each log record the plugin sends (while connecting and during calls).
    using LogSink = std::function<void(const protocol::LogRecord&)>;

    /// Wraps `connection` (handshake done, grant table sent) after its ReadyNotice `ready`
    /// was received. Fails (InvalidParameter) when the notice is inconsistent: duplicate
    /// names or tags, or tags outside the application range.
    static Result<PluginClient> adopt(std::unique_ptr<Connection> connection, const protocol::ReadyNotice& ready,
                                      LogSink log_sink = {});

    /// The whole host side of the start-up for a freshly launched protocol "airlock" plugin:
    /// adopts `plugin.connection`, performs the handshake, refuses a peer that is not the
    /// spawned process, sends `plugin.grants_to_send` as the grant table and waits for the
    /// ready notice — all within `ready_timeout`.
    static Result<PluginClient> connect(SpawnedPlugin& plugin, std::chrono::milliseconds ready_timeout,
                                        LogSink log_sink = {});

    PluginClient(PluginClient&&) noexcept;
    PluginClient& operator=(PluginClient&&) noexcept;
    ~PluginClient();

    /// The announced methods, in announcement order.
    [[nodiscard]] const std::vector<PluginMethod>& methods() const noexcept { return methods_; }
    /// The method called `name`, or null.
    [[nodiscard]] const PluginMethod* find(std::string_view name) const noexcept;

    /// Checks that `Request`/`Reply` describe the announced types of `method` and calls it.
    /// `timeout` defaults to the connection's timeout (none: wait forever).
    template <class Request, class Reply>
    Result<Reply> call(std::string_view method, const Request& request,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        Result<const PluginMethod*> found = check(method, describe(spec_of<Request>()), describe(spec_of<Reply>()));
        if (!found) return found.status();
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        if (Status s = encode_value(request, body, fds); !s.ok()) return s.with_context(std::string(method));
        Result<Message> reply = session_->call_raw((*found)->tag, body, fds, timeout);
        if (!reply) return reply.status().with_context(std::string(method));
        Result<Reply> value = decode_value<Reply>(reply->body, std::move(reply->fds));
        if (!value) return value.status().with_context(std::string(method) + " reply");
        return value;
    }

    /// Calls `method` with an already encoded body (for generic tools such as a JSON bridge).
    Result<Message> call_raw(std::string_view method, std::span<const std::uint8_t> body, std::span<const int> fds,
                             std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    /// Sends the stop request and waits up to `timeout` for its reply. The plugin then
    /// finishes its in-flight calls and exits 0; wait for the process separately.
    Result<protocol::StopReply> stop(std::chrono::milliseconds timeout);

    /// The underlying session (e.g. to serve methods the host exposes to the plugin).
    [[nodiscard]] CallSession& session() noexcept { return *session_; }
    [[nodiscard]] Connection& connection() noexcept { return *connection_; }

private:
    PluginClient(std::unique_ptr<Connection> connection, std::vector<PluginMethod> methods, LogSink log_sink);
    Result<const PluginMethod*> check(std::string_view method, const std::string& request_type,
                                      const std::string& reply_type) const;

    std::unique_ptr<Connection> connection_;
    std::unique_ptr<CallSession> session_;
    std::vector<PluginMethod> methods_;
    std::shared_ptr<LogSink> log_sink_;
};

} // namespace airlock::host
