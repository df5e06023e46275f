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

#include "airlock/connection/codec.hpp"
#include "airlock/connection/connection.hpp"
#include "airlock/connection/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <unordered_map>

namespace airlock {

/// The body of an ErrorReply.
struct CallError {
    std::uint8_t code = 0;           ///< a StatusCode
    String<4096> message;
};
AIRLOCK_STRUCT(CallError, code, message)

class CallSession {
public:
    /// Completion of a call at the message level (used by generic tools; typed calls decode it).
    using RawCompletion = std::function<void(Result<Message>)>;
    /// Sends the reply to the request being handled; a raw handler calls it at most once.
    class Responder {
    public:
        Responder(Connection& connection, std::uint16_t tag, std::uint32_t call_id)
            : connection_(connection), tag_(tag), call_id_(call_id) {}
        /// Sends the reply now; `fds` are borrowed and may be closed when this returns.
        Status send(std::span<const std::uint8_t> body, std::span<const int> fds) {
            sent_ = true;
            return connection_.queue(OutgoingMessage{tag_, MessageKind::Reply, call_id_, body, fds});
        }
        [[nodiscard]] bool sent() const { return sent_; }

    private:
        Connection& connection_;
        std::uint16_t tag_;
        std::uint32_t call_id_;
        bool sent_ = false;
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
    /// InvalidState if the method already has a handler; InvalidParameter if the connection's
    /// protocol does not declare it.
    template <class Request, class Reply, class Handler>
    Status on(const Method<Request, Reply>& method, Handler handler) {
        return on_raw(method.tag, typed_handler<Request, Reply>(std::move(handler)));
    }
    /// The raw handler behind `on`: decodes the Request, calls `handler(Request&) -> Reply |
    /// Result<Reply>` and sends the encoded Reply (a failure becomes the error reply). For
    /// methods whose tags are assigned at run time (the plugin SDK's).
    template <class Request, class Reply, class Handler>
    static RawHandler typed_handler(Handler handler) {
        return [handler = std::move(handler)](Message& message, Responder& respond) mutable -> Status {
            Result<Request> request = decode_value<Request>(message.body, std::move(message.fds));
            if (!request) return request.status();
            using Returned = std::invoke_result_t<Handler&, Request&>;
            std::optional<Reply> reply;
            if constexpr (std::is_same_v<Returned, Result<Reply>>) {
                Result<Reply> result = handler(*request);
                if (!result) return result.status();
                reply.emplace(std::move(*result));
            } else {
                reply.emplace(handler(*request));
            }
            std::vector<std::uint8_t> body;
            std::vector<int> fds;
            if (Status s = encode_value(*reply, body, fds); !s.ok()) return s.with_context("encoding the reply");
            (void)respond.send(body, fds);  // the reply's descriptors stay open until sent
            return {};
        };
    }
    /// Handles notification `kind` with `handler(Payload&)`. Undecodable ones are dropped.
    template <class Payload, class Handler>
    Status on(const Notification<Payload>& kind, Handler handler) {
        return on_raw_notification(kind.tag, [handler = std::move(handler)](Message& message) mutable {
            Result<Payload> payload = decode_value<Payload>(message.body, std::move(message.fds));
            if (payload) handler(*payload);
        });
    }
    Status on_raw(std::uint16_t tag, RawHandler handler);
    Status on_raw_notification(std::uint16_t tag, RawNotificationHandler handler);

    // --- calling --------------------------------------------------------------------------
    /// Calls `method` and waits for the reply (serving the peer's calls meanwhile).
    /// `timeout` defaults to the connection's timeout.
    template <class Request, class Reply>
    Result<Reply> call(const Method<Request, Reply>& method, const Request& request,
                       std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        if (Status s = encode_value(request, body, fds); !s.ok()) return s.with_context(method.name);
        Result<Message> reply = call_raw(method.tag, body, fds, timeout);
        if (!reply) return reply.status().with_context(method.name);
        return decode_reply<Reply>(method.name, std::move(*reply));
    }
    /// Starts a call; `done` runs from dispatch_pending/poll_once when the reply arrives or the
    /// connection ends. Returns the send failure, if any (then `done` is not called).
    template <class Request, class Reply>
    Status call_async(const Method<Request, Reply>& method, const Request& request,
                      std::type_identity_t<std::function<void(Result<Reply>)>> done) {
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        if (Status s = encode_value(request, body, fds); !s.ok()) return s.with_context(method.name);
        const char* name = method.name;
        return call_raw_async(method.tag, body, fds, [name, done = std::move(done)](Result<Message> reply) {
            if (!reply) done(reply.status().with_context(name));
            else done(decode_reply<Reply>(name, std::move(*reply)));
        });
    }
    /// Sends a one-way notification.
    template <class Payload>
    Status notify(const Notification<Payload>& kind, const Payload& payload) {
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        if (Status s = encode_value(payload, body, fds); !s.ok()) return s.with_context(kind.name);
        return connection_.queue(OutgoingMessage{kind.tag, MessageKind::OneWay, 0, body, fds});
    }

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

private:
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
    std::map<std::uint32_t, RawCompletion> pending_;
    std::uint32_t next_call_id_ = 1;
};

} // namespace airlock
