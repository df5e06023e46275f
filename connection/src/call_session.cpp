#include "airlock/connection/call_session.hpp"

namespace airlock {
namespace {

StatusCode remote_code(std::uint8_t code) {
    if (code == 0 || code > static_cast<std::uint8_t>(StatusCode::SystemError)) return StatusCode::HandlerFailed;
    return static_cast<StatusCode>(code);
}

} // namespace

Status CallSession::on_raw(std::uint16_t tag, RawHandler handler) {
    const Protocol& protocol = connection_.protocol();
    const MessageSpec* spec = protocol.find(tag);
    if (!protocol.accepts(tag) || (spec && !spec->reply))
        return Status(StatusCode::InvalidParameter, "protocol " + protocol.name() +
                                                        " declares no method with tag " + std::to_string(tag));
    if (!handlers_.emplace(tag, std::move(handler)).second)
        return Status(StatusCode::InvalidState, "method " + (spec ? spec->name : "with tag " + std::to_string(tag)) +
                                                    " already has a handler");
    return {};
}

Status CallSession::on_raw_notification(std::uint16_t tag, RawNotificationHandler handler) {
    const Protocol& protocol = connection_.protocol();
    const MessageSpec* spec = protocol.find(tag);
    if (!protocol.accepts(tag) || (spec && spec->reply))
        return Status(StatusCode::InvalidParameter, "protocol " + protocol.name() +
                                                        " declares no notification with tag " + std::to_string(tag));
    if (!notification_handlers_.emplace(tag, std::move(handler)).second)
        return Status(StatusCode::InvalidState, "notification " +
                                                    (spec ? spec->name : "with tag " + std::to_string(tag)) +
                                                    " already has a handler");
    return {};
}

Status CallSession::call_raw_async(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                                   RawCompletion done) {
    return call_outgoing_async(OutgoingMessage{tag, MessageKind::Request, 0, body, fds}, std::move(done));
}

Status CallSession::call_outgoing_async(OutgoingMessage request, RawCompletion done) {
    std::uint32_t call_id = next_call_id_++;
    if (next_call_id_ == 0) next_call_id_ = 1;
    request.kind = MessageKind::Request;
    request.call_id = call_id;
    if (Status s = connection_.queue(request); !s.ok()) return s;
    pending_.emplace(call_id, std::move(done));
    return {};
}

Result<Message> CallSession::call_raw(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                                      std::optional<std::chrono::milliseconds> timeout) {
    return call_outgoing(OutgoingMessage{tag, MessageKind::Request, 0, body, fds}, timeout);
}

Result<Message> CallSession::call_outgoing(OutgoingMessage request, std::optional<std::chrono::milliseconds> timeout) {
    if (!timeout) timeout = connection_.timeout();
    auto until = timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
    std::uint32_t call_id = next_call_id_++;
    if (next_call_id_ == 0) next_call_id_ = 1;
    request.kind = MessageKind::Request;
    request.call_id = call_id;
    if (Status s = connection_.send(request); !s.ok()) return after_connection_error(s);
    std::optional<Result<Message>> outcome;
    pending_.emplace(call_id, [&outcome](Result<Message> reply) { outcome.emplace(std::move(reply)); });
    while (!outcome) {
        std::optional<std::chrono::milliseconds> left;
        if (timeout) {
            left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left->count() <= 0) {
                pending_.erase(call_id);  // a late reply is dropped, its descriptors closed
                return Status(StatusCode::Timeout, "no reply within " + std::to_string(timeout->count()) + " ms");
            }
        }
        Result<Message> message = connection_.receive_for(left);
        if (!message) {
            if (message.status().code() == StatusCode::Timeout) continue;  // re-checks the deadline
            outcome.emplace(after_connection_error(message.status()));
            break;
        }
        handle(*message);
    }
    return std::move(*outcome);
}

Status CallSession::dispatch_pending() {
    while (connection_.has_message()) {
        Message message = connection_.take_message();
        handle(message);
    }
    if (connection_.state() == ConnectionState::Closed) return after_connection_error(connection_.close_reason());
    return {};
}

Status CallSession::poll_once(std::optional<std::chrono::milliseconds> timeout) {
    Result<Message> message = connection_.receive_for(timeout);
    if (!message) {
        if (message.status().code() == StatusCode::Timeout) return message.status();
        return after_connection_error(message.status());
    }
    handle(*message);
    return {};
}

Status CallSession::serve() {
    for (;;) {
        Status status = poll_once();
        if (!status.ok()) return status;
    }
}

Status CallSession::after_connection_error(Status status) {
    if (connection_.state() == ConnectionState::Closed) fail_pending(status);
    return status;
}

void CallSession::fail_pending(const Status& reason) {
    std::map<std::uint32_t, RawCompletion> pending;
    pending.swap(pending_);
    for (auto& [id, done] : pending) done(reason);
}

void CallSession::handle(Message& message) {
    switch (message.kind) {
    case MessageKind::Request:
        answer(message);
        return;
    case MessageKind::OneWay: {
        auto handler = notification_handlers_.find(message.tag);
        if (handler != notification_handlers_.end()) handler->second(message);
        return;  // unhandled notifications are dropped (their descriptors closed)
    }
    case MessageKind::Reply:
    case MessageKind::ErrorReply: {
        auto pending = pending_.find(message.call_id);
        if (pending == pending_.end()) return;  // late reply to a call that timed out
        RawCompletion done = std::move(pending->second);
        pending_.erase(pending);
        if (message.kind == MessageKind::Reply) {
            done(std::move(message));
            return;
        }
        Result<CallError> error = decode_value<CallError>(message.body, std::move(message.fds));
        if (!error) done(error.status().with_context("undecodable error reply"));
        else done(Status(remote_code(error->code), "remote: " + error->message));
        return;
    }
    }
}

void CallSession::answer(Message& request) {
    Status status;
    Responder respond(connection_, request.tag, request.call_id);
    auto handler = handlers_.find(request.tag);
    if (handler == handlers_.end()) {
        const MessageSpec* spec = connection_.protocol().find(request.tag);
        status = Status(StatusCode::NotFound, spec ? "method " + spec->name + " has no handler on this side"
                                                   : "no method with tag " + std::to_string(request.tag));
    } else {
        try {
            status = handler->second(request, respond);
            if (status.ok() && !respond.sent())
                status = Status(StatusCode::HandlerFailed, "the handler returned without replying");
        } catch (const std::exception& error) {
            status = Status(StatusCode::HandlerFailed, error.what());
        } catch (...) {
            status = Status(StatusCode::HandlerFailed, "the handler threw a non-standard exception");
        }
    }
    if (status.ok() || respond.sent()) return;
    CallError error{static_cast<std::uint8_t>(status.code()), {}};
    std::string text = status.message();
    if (text.size() > error.message.max_length) text.resize(error.message.max_length);
    error.message = std::move(text);
    std::vector<std::uint8_t> body;
    std::vector<int> no_fds;
    (void)encode_value(error, body, no_fds);
    // A failed send closes the connection; the session sees that on its next read.
    (void)connection_.queue(OutgoingMessage{request.tag, MessageKind::ErrorReply, request.call_id, body, no_fds});
}

} // namespace airlock
