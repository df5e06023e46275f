#pragma once
/// @file plugin.hpp
/// The plugin SDK: what a plugin's `main` uses.
///
/// @code
/// #include <airlock/plugin/plugin.hpp>
///
/// struct GreetRequest { airlock::String<256> name; };
/// AIRLOCK_STRUCT(GreetRequest, name)
/// struct GreetReply { airlock::String<512> text; };
/// AIRLOCK_STRUCT(GreetReply, text)
///
/// int main() {
///     airlock::plugin::Plugin plugin;   // adopts the host connection, receives the grants
///     plugin.on<GreetRequest, GreetReply>("greet", [](GreetRequest& r) {
///         return GreetReply{"hello, " + r.name};
///     });
///     return plugin.run();              // reports ready, serves until stopped, returns 0
/// }
/// @endcode
///
/// ## Life of a plugin
/// 1. `Plugin()` adopts the connection descriptor the host names in `AIRLOCK_CONNECTION_FD`
///    (descriptor 3), performs the handshake (protocol "airlock.plugin/1") and receives the
///    grant table. Started any other way it throws `PluginError` (kind NotUnderHost).
/// 2. The plugin takes typed handles for its grants (`read_only_file`, `directory`,
///    `append_log`, `connected_socket`, `shared_memory`) and registers its methods with `on`.
/// 3. `run()` announces the methods to the host (name, tag and the request/reply type
///    descriptions) in the ready notice and serves calls one at a time. A handler that
///    throws, or returns a failed `Result`, produces an error reply carrying the message;
///    the plugin keeps serving. An asynchronous handler (see `on`) replies later, and other
///    calls are served while its reply is owed.
/// 4. On the host's stop request `run()` replies, finishes the calls already received (and
///    waits, within the host's stop timeout, for replies still owed) and returns 0 — return
///    it from `main`.
///
/// Everything the plugin may touch comes through its grants: the sandbox refuses other files,
/// the network, new processes and most system calls. See docs/plugin-guide.md.

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/codec.hpp>
#include <airlock/connection/types.hpp>
#include <airlock/plugin/error.hpp>
#include <airlock/plugin/grants.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace airlock::plugin {

/// The reply handle of an asynchronous handler (see `Plugin::on`).
template <class Reply>
using PendingReply = airlock::PendingReply<Reply>;

/// Severity of a log message (`Plugin::log`).
using LogLevel = protocol::LogLevel;

/// What a plugin was granted, as received from the host (without the descriptor).
struct GrantInfo {
    std::string name;
    protocol::GrantKind kind = protocol::GrantKind::File;
    protocol::GrantAccess access = protocol::GrantAccess::Read;
    std::uint64_t size = 0;  ///< bytes for files and memfds, else 0
};

/// One method the plugin serves, as announced to the host (name, tag, and
/// `describe(spec_of<Request>())` / `describe(spec_of<Reply>())`).
using MethodInfo = protocol::MethodAnnouncement;

/// A plugin: its connection to the host, its grants and its methods. Not copyable or movable;
/// create one in `main`. Driven by one thread.
class Plugin {
public:
    /// Adopts the descriptor named by `AIRLOCK_CONNECTION_FD`, handshakes and receives the
    /// grant table.
    /// @throws PluginError NotUnderHost when the variable is unset or does not name a socket
    ///         (the program was not started by airlock-host); Connection when the handshake
    ///         or the grant table fails.
    Plugin();
    /// The same with an explicit connection descriptor (ownership moves to the plugin).
    explicit Plugin(UniqueFd connection);
    ~Plugin();
    Plugin(const Plugin&) = delete;
    Plugin& operator=(const Plugin&) = delete;

    /// The plugin's name in the host's config.
    [[nodiscard]] const std::string& name() const noexcept;
    /// Every grant, in config order.
    [[nodiscard]] const std::vector<GrantInfo>& grants() const noexcept;
    /// True when a grant of that name exists.
    [[nodiscard]] bool has_grant(std::string_view name) const noexcept;

    /// A `file` grant with read (or read-write) access.
    /// @throws PluginError GrantNotFound (listing the granted names) or WrongGrantKind.
    [[nodiscard]] ReadOnlyFile read_only_file(std::string_view grant);
    /// A `dir` grant.
    [[nodiscard]] Directory directory(std::string_view grant);
    /// A `file` grant with `access = "append"`.
    [[nodiscard]] AppendLog append_log(std::string_view grant);
    /// A `connect` grant.
    [[nodiscard]] ConnectedSocket connected_socket(std::string_view grant);
    /// A `memfd` grant.
    [[nodiscard]] SharedMemory shared_memory(std::string_view grant);

    /// Serves method `name` with `handler(Request&)`, which returns a `Reply` or a
    /// `Result<Reply>` and may throw (both failures become an error reply with the message).
    /// Request and reply are types declared with AIRLOCK_STRUCT. The Request may read large
    /// data in place with `BytesView`/`StringView` members (valid until the handler returns);
    /// the Reply may send a descriptor the plugin keeps with a `LentFd` member
    /// (docs/connection.md).
    ///
    /// An **asynchronous handler** `handler(Request&, PendingReply<Reply> reply)` returns
    /// without replying and completes `reply` later — from a thread of its own, or from a
    /// callback — with `reply.complete(Reply)` or `reply.fail(Status)`; the plugin serves other
    /// calls meanwhile. `reply.deadline()` is the host's deadline for the call, and
    /// `reply.cancelled()` / `reply.on_cancel(...)` tell that the host gave up on it (then a
    /// completion sends nothing). Dropping the handle without completing answers with an
    /// error. Its Request may not hold BytesView/StringView members.
    /// @throws PluginError DuplicateHandler when `name` is already registered,
    ///         RegistrationClosed after `run()` has started, InvalidArgument for a bad name.
    template <class Request, class Reply, class Handler>
    void on(std::string_view name, Handler handler) {
        if constexpr (!CallSession::is_async_handler_v<Request, Reply, Handler>) {
            using Returned = std::invoke_result_t<Handler&, Request&>;
            static_assert(std::is_same_v<Returned, Reply> || std::is_same_v<Returned, Result<Reply>> ||
                              std::is_convertible_v<Returned, Reply>,
                          "the handler must return the Reply type or Result<Reply>, or take a "
                          "PendingReply<Reply> as its second parameter");
        }
        add_method(name, spec_of<Request>(), spec_of<Reply>(),
                   CallSession::typed_handler<Request, Reply>(std::move(handler)));
    }

    /// The untyped form of `on`, for bindings in other languages (the C SDK, plugin-sdk/c):
    /// `request` and `reply` must outlive the plugin; `handler` replies through its Responder
    /// or returns a failure (an error reply). Throws like `on`.
    void on_raw(std::string_view name, const TypeSpec& request, const TypeSpec& reply, CallSession::RawHandler handler) {
        add_method(name, request, reply, std::move(handler));
    }
    /// The descriptor of grant `name`, owned by the plugin (valid until it is destroyed), or
    /// -1 when no such grant exists. For bindings; C++ code uses the typed accessors above.
    [[nodiscard]] int grant_fd(std::string_view name) const noexcept;
    /// The methods registered so far, with their tags and type descriptions.
    [[nodiscard]] const std::vector<MethodInfo>& methods() const noexcept;

    /// Sends a log message to the host, which prints it prefixed with the plugin's name.
    /// Text longer than 4096 bytes is cut. Never throws for a closed connection.
    void log(LogLevel level, std::string_view text);
    /// `log(LogLevel::Info, text)`.
    void log(std::string_view text) { log(LogLevel::Info, text); }

    /// Tells the host how far a long task has got: `done` of `total` units (`total` 0 when
    /// unknown), with an optional message; `airlockctl status` shows the latest report. May be
    /// called from inside a handler, as often as useful (the host logs at most one line a
    /// second). It is a call to the host's `progress` method whose acknowledgement is not
    /// waited for: the handler goes on at once, and no other call is served in between.
    /// `task` is cut to 128 bytes, `message` to 512.
    /// @return an error only when the report cannot be sent (the host is gone); a host that
    ///         does not serve progress answers with an error reply, which is ignored.
    Status progress(std::string_view task, std::uint64_t done, std::uint64_t total, std::string_view message = {});

    /// Reports ready with the registered methods and serves until the host's stop request;
    /// then finishes the calls already received and returns 0. Returns 1 when the host
    /// closes the connection without a stop request (after printing why to stderr).
    /// @throws PluginError RegistrationClosed when called twice.
    int run();

    /// The connection's call session, for calls to the host's own methods.
    [[nodiscard]] CallSession& session() noexcept;

private:
    void add_method(std::string_view name, const TypeSpec& request, const TypeSpec& reply,
                    CallSession::RawHandler handler);
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace airlock::plugin
