#include "airlock/connection/call_session.hpp"
#include "airlock/connection/printable_text.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <limits>

namespace airlock {
namespace {

StatusCode remote_code(std::uint8_t code) {
    if (code == 0 || code > static_cast<std::uint8_t>(StatusCode::SystemError)) return StatusCode::HandlerFailed;
    return static_cast<StatusCode>(code);
}

/// A timeout as the wire's deadline field (milliseconds, clamped to u32).
std::uint32_t wire_timeout(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) return 0;
    return static_cast<std::uint32_t>(
        std::min<std::chrono::milliseconds::rep>(timeout.count(), std::numeric_limits<std::uint32_t>::max()));
}

Status cancelled_status() { return Status(StatusCode::Cancelled, "the caller cancelled the call"); }

} // namespace

// --- posting from other threads ---------------------------------------------------------------

bool detail::SessionMailbox::post(std::function<void(CallSession&)> job) {
    std::lock_guard lock(mutex);
    if (!open) return false;
    work.push_back(std::move(job));
    std::uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);  // EAGAIN only when already readable
    return true;
}

int CallSession::wake_fd() const { return mailbox_ ? mailbox_->wake.get() : -1; }

void CallSession::run_posted() {
    if (!mailbox_) return;
    std::vector<std::function<void(CallSession&)>> work;
    {
        std::lock_guard lock(mailbox_->mutex);
        work.swap(mailbox_->work);
        std::uint64_t count = 0;
        (void)!::read(mailbox_->wake.get(), &count, sizeof count);
    }
    for (auto& job : work) job(*this);
}

CallSession::~CallSession() {
    if (mailbox_) {
        std::lock_guard lock(mailbox_->mutex);
        mailbox_->open = false;
        mailbox_->work.clear();
        mailbox_->wake.reset();
    }
    for (auto& [id, call] : deferred_) {
        std::lock_guard lock(call->mutex);
        call->phase = detail::DeferredCall::Phase::Cancelled;  // completions now fail, and send nothing
    }
}

// --- deferred replies -------------------------------------------------------------------------

CallSession::Responder::Responder(CallSession& session, const Message& request)
    : connection_(session.connection_), tag_(request.tag), call_id_(request.call_id), session_(&session) {
    if (request.timeout_ms) deadline_ = CallClock::now() + std::chrono::milliseconds(*request.timeout_ms);
}

RawPendingReply CallSession::Responder::pend() {
    if (!session_ || sent_ || pended_) return RawPendingReply();
    pended_ = true;
    Message request;
    request.tag = tag_;
    request.call_id = call_id_;
    return session_->defer(request, deadline_);
}

RawPendingReply CallSession::defer(const Message& request, std::optional<CallClock::time_point> deadline) {
    if (!mailbox_) {
        auto mailbox = std::make_shared<detail::SessionMailbox>();
        mailbox->wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!mailbox->wake) throw std::system_error(errno, std::generic_category(), "eventfd for deferred replies");
        mailbox_ = std::move(mailbox);
    }
    auto call = std::make_shared<detail::DeferredCall>();
    call->tag = request.tag;
    call->call_id = request.call_id;
    call->deadline = deadline;
    call->mailbox = mailbox_;
    deferred_[request.call_id] = call;
    return RawPendingReply(std::move(call));
}

void CallSession::cancelled_by_peer(CallId id) {
    auto found = deferred_.find(id);
    if (found == deferred_.end()) return;  // answered already, or never deferred
    std::shared_ptr<detail::DeferredCall> call = std::move(found->second);
    deferred_.erase(found);
    std::function<void()> callback;
    {
        std::lock_guard lock(call->mutex);
        if (call->phase != detail::DeferredCall::Phase::Waiting) return;
        call->phase = detail::DeferredCall::Phase::Cancelled;
        callback = std::move(call->on_cancel);
    }
    if (callback) callback();
}

RawPendingReply& RawPendingReply::operator=(RawPendingReply&& other) noexcept {
    if (this != &other) {
        RawPendingReply dropped(std::move(*this));
        call_ = std::move(other.call_);
    }
    return *this;
}

RawPendingReply::~RawPendingReply() {
    if (pending())
        (void)fail(Status(StatusCode::HandlerFailed, "the handler dropped its pending reply without completing it"));
}

Status RawPendingReply::settle(std::function<void(CallSession&)> job) {
    if (!call_) return Status(StatusCode::InvalidState, "an empty pending reply");
    {
        std::lock_guard lock(call_->mutex);
        if (call_->phase == detail::DeferredCall::Phase::Cancelled) return cancelled_status();
        if (call_->phase == detail::DeferredCall::Phase::Completed)
            return Status(StatusCode::InvalidState, "the reply was already completed");
        call_->phase = detail::DeferredCall::Phase::Completed;
    }
    if (!call_->mailbox->post(std::move(job)))
        return Status(StatusCode::Cancelled, "the call session is gone");
    return {};
}

Status RawPendingReply::complete(std::vector<std::uint8_t> body, std::vector<UniqueFd> fds) {
    auto owned = std::make_shared<std::pair<std::vector<std::uint8_t>, std::vector<UniqueFd>>>(std::move(body),
                                                                                                std::move(fds));
    return complete_with([owned](CallSession::Responder& respond) {
        std::vector<int> raw;
        for (const UniqueFd& fd : owned->second) raw.push_back(fd.get());
        (void)respond.send(owned->first, raw);
        return Status();
    });
}

Status RawPendingReply::complete_with(std::function<Status(CallSession::Responder&)> job) {
    if (!call_) return Status(StatusCode::InvalidState, "an empty pending reply");
    const std::uint16_t tag = call_->tag;
    const CallId id = call_->call_id;
    return settle([tag, id, job = std::move(job)](CallSession& session) {
        session.deferred_.erase(id);
        CallSession::Responder respond(session.connection_, tag, id);
        Status status;
        try {
            status = job(respond);
        } catch (const std::exception& error) {
            status = Status(StatusCode::HandlerFailed, error.what());
        }
        if (!respond.sent())
            session.send_error(tag, id, status.ok() ? Status(StatusCode::HandlerFailed, "no reply was sent") : status);
    });
}

Status RawPendingReply::fail(const Status& error) {
    if (!call_) return Status(StatusCode::InvalidState, "an empty pending reply");
    const std::uint16_t tag = call_->tag;
    const CallId id = call_->call_id;
    return settle([tag, id, error](CallSession& session) {
        session.deferred_.erase(id);
        session.send_error(tag, id, error);
    });
}

bool RawPendingReply::cancelled() const {
    if (!call_) return false;
    std::lock_guard lock(call_->mutex);
    return call_->phase == detail::DeferredCall::Phase::Cancelled;
}

void RawPendingReply::on_cancel(std::function<void()> callback) {
    if (!call_) return;
    {
        std::lock_guard lock(call_->mutex);
        if (call_->phase != detail::DeferredCall::Phase::Cancelled) {
            call_->on_cancel = std::move(callback);
            return;
        }
    }
    if (callback) callback();
}

std::optional<CallClock::time_point> RawPendingReply::deadline() const {
    return call_ ? call_->deadline : std::nullopt;
}

bool RawPendingReply::pending() const {
    if (!call_) return false;
    std::lock_guard lock(call_->mutex);
    return call_->phase == detail::DeferredCall::Phase::Waiting;
}

// --- serving and calling ----------------------------------------------------------------------

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

CallId CallSession::take_call_id() {
    std::uint32_t call_id = next_call_id_++;
    if (next_call_id_ == 0) next_call_id_ = 1;
    return call_id;
}

Status CallSession::call_outgoing_async(OutgoingMessage request, RawCompletion done) {
    Result<CallId> started = start_outgoing(request, std::move(done), {});
    return started ? Status() : started.status();
}

Result<CallId> CallSession::start_call_raw(std::uint16_t tag, std::span<const std::uint8_t> body,
                                           std::span<const int> fds, RawCompletion done, CallOptions options) {
    return start_outgoing(OutgoingMessage{tag, MessageKind::Request, 0, body, fds}, std::move(done), options);
}

Result<CallId> CallSession::start_outgoing(OutgoingMessage request, RawCompletion done, CallOptions options) {
    const CallId call_id = take_call_id();
    request.kind = MessageKind::Request;
    request.call_id = call_id;
    std::optional<CallClock::time_point> deadline;
    if (options.timeout) {
        request.timeout_ms = wire_timeout(*options.timeout);
        deadline = CallClock::now() + *options.timeout;
    }
    if (Status s = connection_.queue(request); !s.ok()) return s;
    pending_.emplace(call_id, Outstanding{std::move(done), request.tag, deadline});
    return call_id;
}

void CallSession::send_cancel(std::uint16_t tag, CallId id) {
    if (!connection_.peer_supports_call_control() || connection_.state() != ConnectionState::Ready) return;
    (void)connection_.queue(OutgoingMessage{tag, MessageKind::Cancel, id, {}, {}});
}

bool CallSession::cancel(CallId id) {
    auto found = pending_.find(id);
    if (found == pending_.end()) return false;
    Outstanding call = std::move(found->second);
    pending_.erase(found);
    send_cancel(call.tag, id);
    call.done(Status(StatusCode::Cancelled, "the call was cancelled"));
    return true;
}

std::optional<CallClock::time_point> CallSession::next_deadline() const {
    std::optional<CallClock::time_point> next;
    for (const auto& [id, call] : pending_)
        if (call.deadline && (!next || *call.deadline < *next)) next = call.deadline;
    return next;
}

void CallSession::expire_overdue() {
    std::optional<CallClock::time_point> next = next_deadline();
    if (!next) return;  // the common case: no clock read
    const auto now = CallClock::now();
    if (*next > now) return;
    std::vector<CallId> overdue;
    for (const auto& [id, call] : pending_)
        if (call.deadline && *call.deadline <= now) overdue.push_back(id);
    for (CallId id : overdue) {
        auto found = pending_.find(id);
        if (found == pending_.end()) continue;  // an earlier completion cancelled it
        Outstanding call = std::move(found->second);
        pending_.erase(found);
        // No Cancel: the peer got the deadline with the request. Its late reply is dropped.
        call.done(Status(StatusCode::Timeout, "no reply before the call's deadline"));
    }
}

Result<Message> CallSession::call_raw(std::uint16_t tag, std::span<const std::uint8_t> body, std::span<const int> fds,
                                      std::optional<std::chrono::milliseconds> timeout) {
    return call_outgoing(OutgoingMessage{tag, MessageKind::Request, 0, body, fds}, timeout);
}

Result<Message> CallSession::call_outgoing(OutgoingMessage request, std::optional<std::chrono::milliseconds> timeout) {
    if (!timeout) timeout = connection_.timeout();
    auto until = timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
    const CallId call_id = take_call_id();
    request.kind = MessageKind::Request;
    request.call_id = call_id;
    if (timeout) request.timeout_ms = wire_timeout(*timeout);
    if (Status s = connection_.send(request); !s.ok()) return after_connection_error(s);
    std::optional<Result<Message>> outcome;
    pending_.emplace(call_id,
                     Outstanding{[&outcome](Result<Message> reply) { outcome.emplace(std::move(reply)); }, request.tag, {}});
    while (!outcome) {
        if (mailbox_ || !pending_.empty()) {
            run_posted();
            expire_overdue();
            if (outcome) break;
        }
        std::optional<std::chrono::milliseconds> left;
        if (timeout) {
            left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left->count() <= 0) {
                pending_.erase(call_id);  // a late reply is dropped, its descriptors closed
                return Status(StatusCode::Timeout, "no reply within " + std::to_string(timeout->count()) + " ms");
            }
        }
        if (mailbox_ || next_deadline()) {
            // Also wakes for completions posted from other threads and other calls' deadlines.
            Status waited = wait_for_work(until);
            if (!waited.ok() && waited.code() != StatusCode::Timeout) {
                outcome.emplace(after_connection_error(waited));
                break;
            }
            while (connection_.has_message() && !outcome) {
                Message message = connection_.take_message();
                handle(message);
            }
            if (connection_.state() == ConnectionState::Closed && !outcome)
                outcome.emplace(after_connection_error(connection_.close_reason()));
            continue;
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

Status CallSession::wait_for_work(CallClock::time_point until) {
    if (auto next = next_deadline(); next && *next < until) until = *next;
    for (;;) {
        if (connection_.has_message()) return {};
        if (connection_.state() == ConnectionState::Closed) return connection_.close_reason();
        pollfd entries[2] = {{connection_.fd(), static_cast<short>(POLLIN | (connection_.wants_write() ? POLLOUT : 0)), 0},
                             {wake_fd(), POLLIN, 0}};
        int wait_ms = -1;
        if (until != CallClock::time_point::max()) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(until - CallClock::now());
            if (left.count() <= 0) return Status(StatusCode::Timeout, "waiting");
            wait_ms = static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), 1 << 30));
        }
        int ready = ::poll(entries, mailbox_ ? 2 : 1, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return Status(StatusCode::SystemError, std::string("poll: ") + std::strerror(errno));
        }
        if (ready == 0) return Status(StatusCode::Timeout, "waiting");
        if (entries[0].revents & POLLOUT) {
            if (Status s = connection_.on_writable(); !s.ok()) return s;
        }
        if (entries[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            if (Status s = connection_.on_readable(); !s.ok()) return s;
        }
        if (mailbox_ && (entries[1].revents & POLLIN)) return {};
    }
}

Status CallSession::dispatch_pending() {
    run_posted();
    while (connection_.has_message()) {
        Message message = connection_.take_message();
        handle(message);
    }
    expire_overdue();
    if (connection_.state() == ConnectionState::Closed) return after_connection_error(connection_.close_reason());
    return {};
}

Status CallSession::poll_once(std::optional<std::chrono::milliseconds> timeout) {
    if (!mailbox_ && !next_deadline()) {
        Result<Message> message = connection_.receive_for(timeout);
        if (!message) {
            if (message.status().code() == StatusCode::Timeout) return message.status();
            return after_connection_error(message.status());
        }
        handle(*message);
        return {};
    }
    // Deferred replies or deadlines: also wake for posted completions and expiring calls.
    run_posted();
    expire_overdue();
    Status waited = wait_for_work(timeout ? CallClock::now() + *timeout : CallClock::time_point::max());
    if (!waited.ok() && waited.code() != StatusCode::Timeout) return after_connection_error(waited);
    run_posted();
    if (connection_.has_message()) {
        Message message = connection_.take_message();
        handle(message);
    }
    expire_overdue();
    if (connection_.state() == ConnectionState::Closed) return after_connection_error(connection_.close_reason());
    return timeout && waited.code() == StatusCode::Timeout ? waited : Status();
}

Status CallSession::serve() {
    for (;;) {
        Status status = poll_once();
        if (!status.ok()) return status;
    }
}

Status CallSession::after_connection_error(Status status) {
    if (connection_.state() == ConnectionState::Closed) {
        fail_pending(status);
        // The callers are gone: their deferred calls count as cancelled.
        std::vector<CallId> owed;
        for (const auto& [id, call] : deferred_) owed.push_back(id);
        for (CallId id : owed) cancelled_by_peer(id);
    }
    return status;
}

void CallSession::fail_pending(const Status& reason) {
    std::map<std::uint32_t, Outstanding> pending;
    pending.swap(pending_);
    for (auto& [id, call] : pending) call.done(reason);
}

void CallSession::handle(Message& message) {
    switch (message.kind) {
    case MessageKind::Request:
        answer(message);
        return;
    case MessageKind::OneWay: {
        auto handler = notification_handlers_.find(message.tag);
        if (handler != notification_handlers_.end()) {
            handler->second(message);
            return;
        }
        // Dropped (its descriptors closed), never queued; counted for the owner.
        ++unhandled_notifications_;
        if (unhandled_handler_) unhandled_handler_(message.tag, unhandled_notifications_);
        return;
    }
    case MessageKind::Cancel:
        cancelled_by_peer(message.call_id);
        return;
    case MessageKind::Reply:
    case MessageKind::ErrorReply: {
        auto pending = pending_.find(message.call_id);
        if (pending == pending_.end()) {
            // Late (the call timed out or was cancelled), a duplicate, or never asked for:
            // dropped, never kept for a later call, and counted for the owner.
            ++stray_replies_;
            if (stray_reply_handler_) stray_reply_handler_(message.call_id, stray_replies_);
            return;
        }
        RawCompletion done = std::move(pending->second.done);
        const std::optional<CallClock::time_point> deadline = pending->second.deadline;
        pending_.erase(pending);
        if (deadline && *deadline <= CallClock::now()) {
            // Its deadline passed before the reply was read (expire_overdue had not run yet):
            // the call timed out, as it would have a moment earlier; the reply is a late one.
            done(Status(StatusCode::Timeout, "no reply before the call's deadline"));
            ++stray_replies_;
            if (stray_reply_handler_) stray_reply_handler_(message.call_id, stray_replies_);
            return;
        }
        if (message.kind == MessageKind::Reply) {
            done(std::move(message));
            return;
        }
        Result<CallError> error = decode_value<CallError>(message.body, std::move(message.fds));
        if (!error) done(error.status().with_context("undecodable error reply"));
        // The peer's text reaches logs and terminals (airlockctl prints it): no escapes get through.
        else done(Status(remote_code(error->code), "remote: " + printable_text(error->message)));
        return;
    }
    }
}

void CallSession::answer(Message& request) {
    // The peer picks call ids: one reused while its first call still waits for a deferred reply
    // would take over that call's entry (its cancel, its completion's bookkeeping).
    if (deferred_.count(request.call_id)) {
        send_error(request.tag, request.call_id,
                   Status(StatusCode::InvalidParameter, "call id " + std::to_string(request.call_id) +
                                                            " is already waiting for a reply"));
        return;
    }
    Status status;
    Responder respond(*this, request);
    auto handler = handlers_.find(request.tag);
    if (handler == handlers_.end()) {
        const MessageSpec* spec = connection_.protocol().find(request.tag);
        status = Status(StatusCode::NotFound, spec ? "method " + spec->name + " has no handler on this side"
                                                   : "no method with tag " + std::to_string(request.tag));
    } else {
        try {
            status = handler->second(request, respond);
            if (status.ok() && !respond.sent() && !respond.pended())
                status = Status(StatusCode::HandlerFailed, "the handler returned without replying");
        } catch (const std::exception& error) {
            status = Status(StatusCode::HandlerFailed, error.what());
        } catch (...) {
            status = Status(StatusCode::HandlerFailed, "the handler threw a non-standard exception");
        }
    }
    if (respond.pended() && !status.ok()) {
        // The handler deferred, then failed: its error is the answer and the handle is spent.
        auto found = deferred_.find(request.call_id);
        if (found == deferred_.end()) return;
        std::shared_ptr<detail::DeferredCall> call = std::move(found->second);
        deferred_.erase(found);
        std::lock_guard lock(call->mutex);
        if (call->phase != detail::DeferredCall::Phase::Waiting) return;  // completed before failing
        call->phase = detail::DeferredCall::Phase::Completed;
    } else if (status.ok() || respond.sent()) {
        return;
    }
    send_error(request.tag, request.call_id, status);
}

void CallSession::send_error(std::uint16_t tag, CallId id, const Status& status) {
    CallError error{static_cast<std::uint8_t>(status.code()), {}};
    std::string text = status.message();
    if (text.size() > error.message.max_length) text.resize(error.message.max_length);
    error.message = std::move(text);
    std::vector<std::uint8_t> body;
    std::vector<int> no_fds;
    (void)encode_value(error, body, no_fds);
    // A failed send closes the connection; the session sees that on its next read.
    (void)connection_.queue(OutgoingMessage{tag, MessageKind::ErrorReply, id, body, no_fds});
}

} // namespace airlock
