#pragma once
/// @file plugin_client.hpp
/// One confined plugin, started, called by method name with typed requests and replies, and
/// stopped, all from the calling thread.
///
/// The plugin's whole lifecycle is a PluginRunner's (plugin_runner.hpp), the same one the
/// supervisor and `airlock-host exec` use: the pid-checked handshake and grant table, ready
/// within `ready_timeout`, its seccomp notifications answered by its `on_violation` policy,
/// its output split into lines, `limits.wall`, and on stop() the stop request, then SIGTERM
/// and SIGKILL one `stop_timeout` apart, and the reaping. The runner lives on the client's
/// own io_context, which the client drives while the caller waits in it (start(), a call,
/// poll_once(), wait(), stop()); between those the plugin waits for the host (an answer to a
/// forbidden system call, room in a full pipe) and its timers fire at the next of them.
///
/// A plugin built with the SDK announces its methods in the ready notice: each method's name,
/// its (run-time assigned) tag and the descriptions of its request and reply types
/// (`describe(spec_of<T>())`). For every call the client checks that the caller's C++ types
/// describe exactly the announced wire types before it sends anything, so a host and a plugin
/// that disagree about a method fail with a clear message instead of exchanging misread bytes.
///
/// @code
/// airlock::host::Spawner spawner(airlock::host::PluginSpec("hello").exec(path).build());
/// auto client = airlock::host::PluginClient::start(spawner);
/// if (!client) throw std::runtime_error(client.status().to_string());
/// auto reply = client->call<GreetRequest, GreetReply>("greet", GreetRequest{"world"});
/// airlock::host::PluginExit exit = client->stop();  // "exited with status 0"
/// @endcode
///
/// Errors are values (`Status`/`Result`), like the connection library's calls: a remote
/// handler's failure (`HandlerFailed`, with its message), `NotFound` for a method the plugin
/// does not serve (the message lists those it does), `ProtocolMismatch` for type
/// disagreement, `Timeout` (the call is cancelled), `PeerClosed` when the plugin is gone (for
/// a plugin its filter killed, the message is the violation: "plugin journal (pid 42):
/// forbidden system call ftruncate (77): killed").

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/type_spec.hpp>
#include <airlock/host/output_pump.hpp>
#include <airlock/host/spawner.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

/// One method a plugin announced, as it announced it (name, tag, `describe()` of the request
/// and reply types).
using PluginMethod = protocol::MethodAnnouncement;

/// One running plugin and its methods. Move-only; used by one thread at a time.
class PluginClient {
public:
    /// Receives each log record the plugin sends.
    using LogSink = std::function<void(const protocol::LogRecord&)>;

    /// What the client passes on while it drives the plugin. Every callback is optional.
    struct Events {
        /// Each log record (while starting, during calls, while stopping).
        LogSink log;
        /// Each line of its stdout/stderr, and that line formatted as `[name] text`. None:
        /// the formatted line goes to the host's stderr.
        std::function<void(const OutputLine& line, const std::string& formatted)> output;
        /// Each forbidden system call its monitor answered, as its report line: `plugin NAME
        /// (pid N): forbidden system call ptrace (101): killed; ...`.
        std::function<void(const std::string& report)> violation;
        /// A host event about it: a refusal, a connection closed early, a monitor error, an
        /// escalation to a signal.
        std::function<void(const std::string& text)> report;
    };

    /// Launches a process of `spawner`'s plugin (protocol "airlock") and runs it until it is
    /// ready. Fails with the launch error (SystemError: a missing executable, a grant that
    /// cannot be opened, ...), InvalidParameter for another protocol, the refusal (Timeout:
    /// no ready notice within `ready_timeout`; PermissionDenied: the peer is not the spawned
    /// process; InvalidParameter: a bad ready notice), or PeerClosed when it exited first
    /// (its exit, or the violation its filter killed it for). The process is reaped then.
    static Result<PluginClient> start(const Spawner& spawner, Events events = {});

    PluginClient(PluginClient&&) noexcept;
    PluginClient& operator=(PluginClient&&) noexcept;
    /// A plugin that still runs is killed (SIGKILL) and reaped; call stop() to let it finish.
    ~PluginClient();

    /// The plugin's name.
    [[nodiscard]] const std::string& name() const noexcept;
    /// Its pid (also after its exit).
    [[nodiscard]] pid_t pid() const noexcept;
    /// The announced methods, in announcement order.
    [[nodiscard]] const std::vector<PluginMethod>& methods() const noexcept;
    /// The method called `name`, or null.
    [[nodiscard]] const PluginMethod* find(std::string_view name) const noexcept;

    /// Checks that `Request`/`Reply` describe the announced types of `method` and calls it.
    /// `timeout` defaults to the plugin's `call_timeout`; it travels with the request.
    template <class Request, class Reply>
    Result<Reply> call(std::string_view method, const Request& request,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        Result<const PluginMethod*> found = check(method, describe(spec_of<Request>()), describe(spec_of<Reply>()));
        if (!found) return found.status();
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        if (Status s = encode_value(request, body, fds); !s.ok()) return s.with_context(std::string(method));
        Result<Message> reply = call_raw(method, body, fds, timeout);
        if (!reply) return reply.status();
        Result<Reply> value = decode_value<Reply>(reply->body, std::move(reply->fds));
        if (!value) return value.status().with_context(std::string(method) + " reply");
        return value;
    }

    /// Calls `method` with an already encoded body and the descriptors it refers to (the
    /// caller keeps its own), for generic tools such as a JSON bridge.
    Result<Message> call_raw(std::string_view method, std::span<const std::uint8_t> body, std::span<const int> fds,
                             std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    /// Starts a call and returns at once; `done` runs from a later call, poll_once(), wait()
    /// or stop() (with Timeout once `timeout`, by default `call_timeout`, has passed; with
    /// PeerClosed when the plugin ends first). Returns the call's id.
    Result<CallId> start_call_raw(std::string_view method, std::span<const std::uint8_t> body, std::span<const int> fds,
                                  CallSession::RawCompletion done,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    /// Gives up on a call started by start_call_raw: its `done` runs now with Cancelled and
    /// the plugin is sent a Cancel. False when the call is no longer outstanding.
    bool cancel(CallId id);

    /// Handles the plugin's events (replies, log records, output, violations, timers) until
    /// one was handled or `timeout` passed: OK, Timeout, or PeerClosed once it exited.
    Status poll_once(std::chrono::milliseconds timeout);

    /// Whether it still runs (not yet reaped).
    [[nodiscard]] bool running() const noexcept;
    /// Waits until it exits on its own (or its `limits.wall` ends it) and returns its exit.
    PluginExit wait();
    /// Stops it as the supervisor does: the stop request (it finishes its in-flight calls and
    /// exits), SIGTERM after `stop_timeout` if it still runs, SIGKILL after another; reaps it
    /// and returns its exit. After its exit, returns that at once.
    PluginExit stop();

    /// The description of the violation its filter killed it for ("plugin NAME (pid N):
    /// forbidden system call ptrace (101): killed"), empty otherwise.
    [[nodiscard]] const std::string& fatal_violation() const noexcept;
    /// Forbidden system calls answered so far.
    [[nodiscard]] std::uint64_t violations() const noexcept;

private:
    struct State;
    explicit PluginClient(std::unique_ptr<State> state);
    Result<const PluginMethod*> check(std::string_view method, const std::string& request_type,
                                      const std::string& reply_type) const;

    std::unique_ptr<State> state_;
};

} // namespace airlock::host
