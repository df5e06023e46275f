#pragma once
/// @file call_session.hpp
/// Request/reply calls in both directions over one Connection.
///
/// Each side registers handlers for the methods it serves and calls the peer's methods; call
/// ids let many calls be in flight at once. An unknown method or a failing handler (an error
/// Result or an exception) produces an error reply, never a crash, and the session keeps
/// serving. When the connection ends, every pending call completes with its close reason.
///
/// @code
/// airlock::CallSession session(connection);
/// session.on(greet, [](GreetRequest& request) { return GreetReply{"hello " + request.name}; });
/// auto reply = session.call(greet, GreetRequest{"world"});   // blocking; serves the peer meanwhile
/// @endcode
/// A session is driven by one thread: either blocking (`call`, `serve`, `poll_once`) or from an
/// event loop (`Connection::on_readable` then `dispatch_pending`).
///
/// **Nested dispatch.** A blocking `call` (and `call_raw`) serves the peer while it waits for
/// its reply: incoming requests run their handlers, notifications theirs, and replies complete
/// other pending `call_async` calls — all on the calling thread, *inside* `call`, before it
/// returns. That is what lets the peer's handler call back into the caller without deadlock,
/// and handlers may themselves `call` (calls nest). So never hold a lock, or leave state half
/// updated, across `call` if a handler of this session touches it. A caller that must not run
/// handlers while waiting uses `call_async` and decides itself when to `dispatch_pending`.

#include "airlock/connection/codec.hpp"
#include "airlock/connection/connection.hpp"
#include "airlock/connection/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace airlock {

/// The body of an ErrorReply.
struct CallError {
    std::uint8_t code = 0;           ///< a StatusCode
    String<4096> message;
};
AIRLOCK_STRUCT(CallError, code, message)

class CallSession;
/// Identifies a call this side started (`CallSession::start_call`), for `cancel`.
using CallId = std::uint32_t;
/// The clock of deadlines.
using CallClock = std::chrono::steady_clock;

/// Options of a call.
struct CallOptions {
    /// How long to wait for the reply; sent to the peer as the call's deadline. Empty: the
    /// connection's timeout for a blocking `call`, none for a started call.
    std::optional<std::chrono::milliseconds> timeout;
};

namespace detail {
/// Work posted to a session's thread from any thread; wakes the loop through an eventfd.
struct SessionMailbox {
    std::mutex mutex;
    std::vector<std::function<void(CallSession&)>> work;
    UniqueFd wake;      ///< eventfd (close-on-exec, non-blocking), readable while work waits
    bool open = true;   ///< false once the session is gone
    /// False when the session is gone (then `job` is dropped).
    bool post(std::function<void(CallSession&)> job);
};
/// One served call whose reply was deferred, shared by the session and its PendingReply.
struct DeferredCall {
    enum class Phase { Waiting, Completed, Cancelled };
    std::mutex mutex;
    std::uint16_t tag = 0;
    CallId call_id = 0;
    std::optional<CallClock::time_point> deadline;
    Phase phase = Phase::Waiting;
    std::function<void()> on_cancel;
    std::shared_ptr<SessionMailbox> mailbox;
};
} // namespace detail

class RawPendingReply;
template <class Reply>
class PendingReply;

class CallSession {
public:
    /// Completion of a call at the message level (used by generic tools; typed calls decode it).
    using RawCompletion = std::function<void(Result<Message>)>;
    /// Sends the reply to the request being handled; a raw handler calls it at most once.
    class Responder {
    public:
        Responder(Connection& connection, std::uint16_t tag, std::uint32_t call_id)
            : connection_(connection), tag_(tag), call_id_(call_id) {}
        Responder(CallSession& session, const Message& request);
        /// Sends the reply now; `fds` are borrowed and may be closed when this returns.
        Status send(std::span<const std::uint8_t> body, std::span<const int> fds) {
            sent_ = true;
            return connection_.queue(OutgoingMessage{tag_, MessageKind::Reply, call_id_, body, fds});
        }
        /// Sends an encoded reply now (its large members straight from the reply value).
        Status send(const EncodedMessage& reply) {
            sent_ = true;
            return connection_.queue(reply.outgoing(tag_, MessageKind::Reply, call_id_));
        }
        [[nodiscard]] bool sent() const { return sent_; }
        /// Defers the reply: the handler may return without replying and complete the returned
        /// handle later, from any thread. At most once, and not after sending.
        RawPendingReply pend();
        [[nodiscard]] bool pended() const { return pended_; }
        /// The deadline the caller sent with the request, if any.
        [[nodiscard]] std::optional<CallClock::time_point> deadline() const { return deadline_; }

    private:
        Connection& connection_;
        std::uint16_t tag_;
        std::uint32_t call_id_;
        bool sent_ = false;
        bool pended_ = false;
        CallSession* session_ = nullptr;
        std::optional<CallClock::time_point> deadline_;
    };
    /// A handler at the message level: replies through `respond`, or returns a failure status
    /// that becomes an error reply.
    using RawHandler = std::function<Status(Message& request, Responder& respond)>;
    using RawNotificationHandler = std::function<void(Message& message)>;

    explicit CallSession(Connection& connection) : connection_(connection) {}
    CallSession(const CallSession&) = delete;
    CallSession& operator=(const CallSession&) = delete;

    [[nodiscard]] Connection& connection() { return connection_; }

    // --- serving --------------------------------------------------------------------------
    /// Serves `method` with `handler(Request&) -> Reply | Result<Reply>`; the handler may throw.
    /// BytesView/StringView members of the Request point into the request message: they are
    /// valid until the handler returns. A Reply may hold views too (e.g. into the request).
    /// An asynchronous handler `handler(Request&, PendingReply<Reply>) -> void` replies later
    /// through the handle (its Request may not hold views: they would outlive the message).
    /// InvalidState if the method already has a handler; InvalidParameter if the connection's
    /// protocol does not declare it.
    template <class Request, class Reply, class Handler>
    Status on(const Method<Request, Reply>& method, Handler handler) {
        return on_raw(method.tag, typed_handler<Request, Reply>(std::move(handler)));
    }
    /// True when `Handler` is an asynchronous handler of Request/Reply (see `on`).
    template <class Request, class Reply, class Handler>
    static constexpr bool is_async_handler_v = std::is_invocable_v<Handler&, Request&, PendingReply<Reply>>;
    /// The raw handler behind `on`: decodes the Request, calls `handler(Request&) -> Reply |
    /// Result<Reply>` and sends the encoded Reply (a failure becomes the error reply), or hands
    /// an asynchronous handler its PendingReply. For methods whose tags are assigned at run
    /// time (the plugin SDK's).
    /// `respond.pend()` in a form that depends on a template parameter: RawPendingReply is
    /// only complete further down, and clang checks non-dependent calls where they are written.
    template <class Dependent, class Respond>
    static decltype(auto) pend_dependent(Respond& respond) {
        return respond.pend();
    }
    template <class Request, class Reply, class Handler>
    static RawHandler typed_handler(Handler handler) {
        return [handler = std::move(handler)](Message& message, Responder& respond) mutable -> Status {
            Result<Request> request = decode_value<Request>(message.body, std::move(message.fds));
            if (!request) return request.status();
            if constexpr (is_async_handler_v<Request, Reply, Handler>) {
                static_assert(!holds_views_v<Request>, "an asynchronous handler's Request may not hold "
                                                       "BytesView/StringView members: the request message is "
                                                       "gone when the handler returns");
                handler(*request, PendingReply<Reply>(pend_dependent<Reply>(respond)));
                return {};
            } else {
            using Returned = std::invoke_result_t<Handler&, Request&>;
            std::optional<Reply> reply;
            if constexpr (std::is_same_v<Returned, Result<Reply>>) {
                Result<Reply> result = handler(*request);
                if (!result) return result.status();
                reply.emplace(std::move(*result));
            } else {
                reply.emplace(handler(*request));
            }
            EncodedMessage encoded;
            if (Status s = encode_message(*reply, encoded); !s.ok()) return s.with_context("encoding the reply");
            (void)respond.send(encoded);  // the reply (its descriptors, its large members) lives until sent
            return {};
            }
        };
    }
    /// Handles notification `kind` with `handler(Payload&)`. Undecodable ones are dropped.
    /// Views in the Payload are valid until the handler returns.
    template <class Payload, class Handler>
    Status on(const Notification<Payload>& kind, Handler handler) {
        return on_raw_notification(kind.tag, [handler = std::move(handler)](Message& message) mutable {
            Result<Payload> payload = decode_value<Payload>(message.body, std::move(message.fds));
            if (payload) handler(*payload);
        });
    }
    Status on_raw(std::uint16_t tag, RawHandler handler);
    Status on_raw_notification(std::uint16_t tag, RawNotificationHandler handler);
    /// Called for each reply (or error reply) that answers no call waiting here: one to a call
    /// that timed out or was cancelled, a second reply to the same call, one to a call id never
    /// issued. Such a reply is dropped (its descriptors closed) after this; `count` is how many
    /// so far on this session. Lets the owner log the peer's stray traffic.
    using StrayReplyHandler = std::function<void(CallId call_id, std::uint64_t count)>;
    void on_stray_reply(StrayReplyHandler handler) { stray_reply_handler_ = std::move(handler); }
    [[nodiscard]] std::uint64_t stray_replies() const { return stray_replies_; }
    /// Called for each notification with no handler here, before it is dropped (its
    /// descriptors closed); `count` is how many so far on this session.
    using UnhandledNotificationHandler = std::function<void(std::uint16_t tag, std::uint64_t count)>;
    void on_unhandled_notification(UnhandledNotificationHandler handler) { unhandled_handler_ = std::move(handler); }
    [[nodiscard]] std::uint64_t unhandled_notifications() const { return unhandled_notifications_; }

    // --- calling --------------------------------------------------------------------------
    /// Calls `method` and waits for the reply. While it waits it runs this session's handlers
    /// for whatever the peer sends (nested dispatch, see the file comment). The request's large
    /// members are sent in place (no copy): `request` must stay unchanged until this returns.
    /// `timeout` defaults to the connection's timeout.
    template <class Request, class Reply>
    Result<Reply> call(const Method<Request, Reply>& method, const Request& request,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        static_assert(!holds_views_v<Reply>, "a Reply with BytesView/StringView members would point into a reply "
                                             "message that is gone when call returns: use Bytes/String in the "
                                             "Reply, or call_raw + decode_value");
        EncodedMessage encoded;
        if (Status s = encode_message(request, encoded); !s.ok()) return s.with_context(method.name);
        Result<Message> reply = call_outgoing(encoded.outgoing(method.tag), timeout);
        if (!reply) return reply.status().with_context(method.name);
        return decode_reply<Reply>(method.name, std::move(*reply));
    }
    /// Starts a call; `done` runs from dispatch_pending/poll_once (or inside a blocking `call`)
    /// when the reply arrives or the connection ends. Returns the send failure, if any (then
    /// `done` is not called). Never runs handlers itself.
    template <class Request, class Reply>
    Status call_async(const Method<Request, Reply>& method, const Request& request,
                      std::type_identity_t<std::function<void(Result<Reply>)>> done) {
        static_assert(!holds_views_v<Reply>, "a Reply with BytesView/StringView members would outlive its message: "
                                             "use Bytes/String in the Reply");
        EncodedMessage encoded;
        if (Status s = encode_message(request, encoded); !s.ok()) return s.with_context(method.name);
        const char* name = method.name;
        return call_outgoing_async(encoded.outgoing(method.tag), [name, done = std::move(done)](Result<Message> reply) {
            if (!reply) done(reply.status().with_context(name));
            else done(decode_reply<Reply>(name, std::move(*reply)));
        });
    }
    /// Starts a call with options (a deadline, sent to the peer) and returns its id for
    /// `cancel`. `done` runs like call_async's, also with `Timeout` when the deadline passes
    /// (checked by poll_once/dispatch_pending; an event loop arms a timer for next_deadline()).
    template <class Request, class Reply>
    Result<CallId> start_call(const Method<Request, Reply>& method, const Request& request,
                              std::type_identity_t<std::function<void(Result<Reply>)>> done, CallOptions options = {}) {
        static_assert(!holds_views_v<Reply>, "a Reply with BytesView/StringView members would outlive its message: "
                                             "use Bytes/String in the Reply");
        EncodedMessage encoded;
        if (Status s = encode_message(request, encoded); !s.ok()) return s.with_context(method.name);
        const char* name = method.name;
        return start_outgoing(encoded.outgoing(method.tag),
                              [name, done = std::move(done)](Result<Message> reply) {
                                  if (!reply) done(reply.status().with_context(name));
                                  else done(decode_reply<Reply>(name, std::move(*reply)));
                              },
                              options);
    }
    /// `start_call` at the message level (`body` and `fds` borrowed).
    Result<CallId> start_call_raw(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                                  RawCompletion done, CallOptions options = {});
    /// Gives up on an outstanding call: its completion runs now with `Cancelled`, the peer is
    /// sent a Cancel (its handler observes it) and a late reply is dropped. False when `id` is
    /// not outstanding (already completed, or never started).
    bool cancel(CallId id);
    /// The earliest deadline of an outstanding started call, for an event loop's timer.
    [[nodiscard]] std::optional<CallClock::time_point> next_deadline() const;

    /// Sends a one-way notification.
    template <class Payload>
    Status notify(const Notification<Payload>& kind, const Payload& payload) {
        EncodedMessage encoded;
        if (Status s = encode_message(payload, encoded); !s.ok()) return s.with_context(kind.name);
        return connection_.queue(encoded.outgoing(kind.tag));
    }

    /// `call` at the message level: sends `body` and `fds` (borrowed), waits for the reply
    /// message, and serves the peer meanwhile exactly like `call`.
    Result<Message> call_raw(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                             std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    Status call_raw_async(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                          RawCompletion done);

    // --- driving --------------------------------------------------------------------------
    /// Handles every message already received (requests, replies, notifications). Never blocks.
    /// Returns the connection's close reason once it has closed (pending calls then failed).
    Status dispatch_pending();
    /// Waits up to `timeout` (forever if empty) for one message and handles it.
    Status poll_once(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// Serves until the connection closes; returns why it closed.
    Status serve();
    /// Completes every pending call with `reason`.
    void fail_pending(const Status& reason);
    [[nodiscard]] std::size_t pending_calls() const { return pending_.size(); }
    /// Requests whose reply a handler deferred and has not completed yet.
    [[nodiscard]] std::size_t deferred_replies() const { return deferred_.size(); }
    /// A descriptor (an eventfd) that becomes readable when a deferred reply was completed
    /// from another thread; an event loop watches it and then calls dispatch_pending. -1 until
    /// the first handler defers a reply (poll_once and a blocking call watch it themselves).
    [[nodiscard]] int wake_fd() const;

    ~CallSession();

private:
    /// call_raw / call_raw_async for a prepared message (tag, body or pieces, descriptors);
    /// they set its kind and call id.
    Result<Message> call_outgoing(OutgoingMessage request, std::optional<std::chrono::milliseconds> timeout);
    Status call_outgoing_async(OutgoingMessage request, RawCompletion done);
    Result<CallId> start_outgoing(OutgoingMessage request, RawCompletion done, CallOptions options);
    CallId take_call_id();
    void send_cancel(std::uint16_t tag, CallId id);
    /// Completes the started calls whose deadline has passed with Timeout.
    void expire_overdue();
    /// Runs the completions posted from other threads.
    void run_posted();
    /// Waits until the connection has a message, posted work arrives, or `until`.
    Status wait_for_work(CallClock::time_point until);
    void cancelled_by_peer(CallId id);
    void send_error(std::uint16_t tag, CallId id, const Status& status);
    friend class RawPendingReply;
    RawPendingReply defer(const Message& request, std::optional<CallClock::time_point> deadline);
    template <class Reply>
    static Result<Reply> decode_reply(const char* name, Message&& reply) {
        Result<Reply> value = decode_value<Reply>(reply.body, std::move(reply.fds));
        if (!value) return value.status().with_context(std::string(name) + " reply");
        return value;
    }
    void handle(Message& message);
    void answer(Message& request);
    Status after_connection_error(Status status);

    Connection& connection_;
    std::unordered_map<std::uint16_t, RawHandler> handlers_;
    std::unordered_map<std::uint16_t, RawNotificationHandler> notification_handlers_;
    struct Outstanding {
        RawCompletion done;
        std::uint16_t tag = 0;
        std::optional<CallClock::time_point> deadline;
    };
    std::map<std::uint32_t, Outstanding> pending_;
    std::uint32_t next_call_id_ = 1;
    std::uint64_t stray_replies_ = 0;
    StrayReplyHandler stray_reply_handler_;
    std::uint64_t unhandled_notifications_ = 0;
    UnhandledNotificationHandler unhandled_handler_;
    /// Requests answered later, by call id; only while their reply is owed.
    std::unordered_map<CallId, std::shared_ptr<detail::DeferredCall>> deferred_;
    std::shared_ptr<detail::SessionMailbox> mailbox_;  ///< created by the first deferred reply
};

/// A reply a handler sends later (see "Replies that come later" above), at the message level.
/// Move-only; every member may be called from any thread. Exactly one of `complete` / `fail`
/// takes effect; dropping the handle before either sends a `HandlerFailed` error reply.
class RawPendingReply {
public:
    RawPendingReply() = default;
    explicit RawPendingReply(std::shared_ptr<detail::DeferredCall> call) : call_(std::move(call)) {}
    RawPendingReply(RawPendingReply&&) noexcept = default;
    RawPendingReply& operator=(RawPendingReply&& other) noexcept;
    ~RawPendingReply();

    /// Sends the reply body and descriptors (sent from the session's thread, then closed).
    /// InvalidState when already completed; Cancelled when the caller cancelled (or the
    /// session ended); nothing is sent then.
    Status complete(std::vector<std::uint8_t> body, std::vector<UniqueFd> fds = {});
    /// Answers with an error reply carrying `error` (its code and message). Fails like `complete`.
    Status fail(const Status& error);
    /// Runs `job` on the session's thread with the reply still owed, then it must complete the
    /// call through `send` (or return a failure, sent as an error reply). For replies that must
    /// be encoded where their descriptors and large members live (the typed PendingReply).
    Status complete_with(std::function<Status(CallSession::Responder&)> job);
    /// True once the caller cancelled the call (or its deadline passed and it told us so).
    [[nodiscard]] bool cancelled() const;
    /// Runs `callback` on the session's thread when the caller cancels; at once (on this
    /// thread) when it already has. Replaces an earlier callback.
    void on_cancel(std::function<void()> callback);
    /// The deadline the caller sent with the request, if any.
    [[nodiscard]] std::optional<CallClock::time_point> deadline() const;
    /// False for a default-constructed or moved-from handle, or once completed.
    [[nodiscard]] bool pending() const;

private:
    Status settle(std::function<void(CallSession&)> job);
    std::shared_ptr<detail::DeferredCall> call_;
};


/// A typed reply a handler sends later: the second parameter of an asynchronous handler
/// (`CallSession::on`, `Plugin::on`). Like RawPendingReply, callable from any thread; the
/// Reply is moved to the session's thread and encoded there.
template <class Reply>
class PendingReply {
public:
    PendingReply() = default;
    explicit PendingReply(RawPendingReply raw) : raw_(std::move(raw)) {}
    /// Sends `reply`. InvalidState when already completed, Cancelled when the caller cancelled.
    Status complete(Reply reply) {
        auto value = std::make_shared<Reply>(std::move(reply));
        return raw_.complete_with([value](CallSession::Responder& respond) -> Status {
            EncodedMessage encoded;
            if (Status s = encode_message(*value, encoded); !s.ok()) return s.with_context("encoding the reply");
            (void)respond.send(encoded);
            return {};
        });
    }
    /// Answers with an error reply.
    Status fail(const Status& error) { return raw_.fail(error); }
    [[nodiscard]] bool cancelled() const { return raw_.cancelled(); }
    void on_cancel(std::function<void()> callback) { raw_.on_cancel(std::move(callback)); }
    [[nodiscard]] std::optional<CallClock::time_point> deadline() const { return raw_.deadline(); }
    [[nodiscard]] bool pending() const { return raw_.pending(); }
    [[nodiscard]] RawPendingReply& raw() { return raw_; }

private:
    RawPendingReply raw_;
};

} // namespace airlock
