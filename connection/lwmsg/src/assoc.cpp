// Connections, associations, sessions, tokens and calls of the LWMsg-compatible API.
#include "objects.hpp"

#include "status_map.hpp"

#include "airlock/connection/call_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <new>

using airlock::Message;
using airlock::MessageKind;
using airlock::StatusCode;
using airlock::lwmsg::Outcome;
using airlock::lwmsg::to_lwmsg;

namespace {

LWMsgStatus fail(LWMsgAssoc* assoc, LWMsgStatus status, std::string message) {
    assoc->error = std::move(message);
    return status;
}

LWMsgStatus fail(LWMsgAssoc* assoc, const airlock::Status& status) {
    return fail(assoc, to_lwmsg(status.code()), status.message());
}

LWMsgStatus require_established(LWMsgAssoc* assoc) {
    if (assoc->phase == LWMsgAssoc::Phase::Fresh)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "the association is not established: call lwmsg_assoc_connect() or lwmsg_assoc_accept()");
    if (assoc->phase == LWMsgAssoc::Phase::Closed)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "the association is closed");
    return LWMSG_STATUS_SUCCESS;
}

const LWMsgProtocol::Entry* find_entry(LWMsgAssoc* assoc, LWMsgTag tag, LWMsgStatus& status) {
    const LWMsgProtocol::Entry* entry = assoc->protocol->find(tag);
    status = entry ? LWMSG_STATUS_SUCCESS
                   : fail(assoc, LWMSG_STATUS_NOT_FOUND, "tag " + std::to_string(tag) + " is not in the protocol");
    return entry;
}

// Encodes and sends one message of `tag`.
LWMsgStatus send_payload(LWMsgAssoc* assoc, LWMsgTag tag, void* data, MessageKind kind, std::uint32_t call_id) {
    LWMsgStatus status;
    const LWMsgProtocol::Entry* entry = find_entry(assoc, tag, status);
    if (!entry) return status;
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    if (Outcome o = entry->type->encode(data, body, fds); !o.ok()) return fail(assoc, o.status, entry->name + ": " + o.message);
    airlock::Status sent = assoc->connection.send(airlock::OutgoingMessage{airlock::lwmsg::wire_tag(tag), kind, call_id, body, fds});
    return sent.ok() ? LWMSG_STATUS_SUCCESS : fail(assoc, sent);
}

// The status and text an error reply carries.
LWMsgStatus error_reply_status(LWMsgAssoc* assoc, Message& message) {
    auto error = airlock::decode_value<airlock::CallError>(message.body, std::move(message.fds));
    if (!error) return fail(assoc, LWMSG_STATUS_MALFORMED, "undecodable error reply: " + error.status().message());
    StatusCode code = error->code == 0 || error->code > static_cast<std::uint8_t>(StatusCode::SystemError)
                          ? StatusCode::HandlerFailed
                          : static_cast<StatusCode>(error->code);
    return fail(assoc, to_lwmsg(code), "remote: " + error->message);
}

// Turns a received message into tag/data/status; the payload belongs to the caller.
LWMsgStatus unpack(LWMsgAssoc* assoc, Message& message, LWMsgTag& tag, void*& data, LWMsgStatus& message_status) {
    tag = airlock::lwmsg::lwmsg_tag(message.tag);
    data = nullptr;
    message_status = LWMSG_STATUS_SUCCESS;
    if (message.kind == MessageKind::ErrorReply) {
        message_status = error_reply_status(assoc, message);
        return LWMSG_STATUS_SUCCESS;
    }
    LWMsgStatus status;
    const LWMsgProtocol::Entry* entry = find_entry(assoc, tag, status);
    if (!entry) return fail(assoc, LWMSG_STATUS_MALFORMED, "the peer sent tag " + std::to_string(tag) + ", which the protocol lacks");
    if (Outcome o = entry->type->decode(message.body, message.fds, &data); !o.ok())
        return fail(assoc, o.status, entry->name + ": " + o.message);
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus establish(LWMsgAssoc* assoc, LWMsgSession* session) {
    if (!assoc) return LWMSG_STATUS_INVALID_PARAMETER;
    if (session && session != &assoc->session)
        return fail(assoc, LWMSG_STATUS_INVALID_PARAMETER, "a connection uses its own session; pass NULL");
    if (assoc->phase != LWMsgAssoc::Phase::Fresh)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "the association was already established or closed");
    if (assoc->connection.state() == airlock::ConnectionState::Unattached)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "set a descriptor or an endpoint first");
    airlock::Status status = assoc->connection.establish();
    if (!status.ok()) {
        assoc->phase = LWMsgAssoc::Phase::Closed;
        if (status.code() == StatusCode::NotFound) return fail(assoc, LWMSG_STATUS_CONNECTION_REFUSED, status.message());
        return fail(assoc, status);
    }
    auto token = assoc->connection.peer_token();
    if (!token) {
        assoc->phase = LWMsgAssoc::Phase::Closed;
        return fail(assoc, token.status());
    }
    assoc->session.token.local = *token;
    assoc->phase = LWMsgAssoc::Phase::Established;
    return LWMSG_STATUS_SUCCESS;
}

bool is_local(LWMsgSecurityToken* token) { return token != nullptr; }  // every token here is "local"

} // namespace

extern "C" {

void lwmsg_message_init(LWMsgMessage* message) {
    if (!message) return;
    *message = LWMsgMessage{};
    message->tag = LWMSG_TAG_INVALID;
}

// --- connections ------------------------------------------------------------------------

LWMsgStatus lwmsg_connection_new(const LWMsgContext*, LWMsgProtocol* prot, LWMsgAssoc** assoc) {
    if (!prot || !assoc) return LWMSG_STATUS_INVALID_PARAMETER;
    try {
        *assoc = new LWMsgAssoc(prot);
    } catch (const std::bad_alloc&) {
        return LWMSG_STATUS_MEMORY;
    }
    ++prot->connections;
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus lwmsg_connection_set_packet_size(LWMsgAssoc* assoc, size_t size) {
    if (!assoc) return LWMSG_STATUS_INVALID_PARAMETER;
    if (assoc->phase != LWMsgAssoc::Phase::Fresh)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "the packet size cannot change once the connection is established");
    airlock::Status status = assoc->connection.set_packet_size(size);
    return status.ok() ? LWMSG_STATUS_SUCCESS : fail(assoc, status);
}

LWMsgStatus lwmsg_connection_set_fd(LWMsgAssoc* assoc, LWMsgConnectionMode mode, int fd) {
    if (!assoc) return LWMSG_STATUS_INVALID_PARAMETER;
    if (assoc->phase != LWMsgAssoc::Phase::Fresh || assoc->connection.state() != airlock::ConnectionState::Unattached)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "the connection already has a descriptor or endpoint");
    airlock::ConnectionMode airlock_mode;
    switch (mode) {
    case LWMSG_CONNECTION_MODE_LOCAL: airlock_mode = airlock::ConnectionMode::Local; break;
    case LWMSG_CONNECTION_MODE_PAIR: airlock_mode = airlock::ConnectionMode::Pair; break;
    default: return fail(assoc, LWMSG_STATUS_INVALID_PARAMETER, "mode must be LWMSG_CONNECTION_MODE_LOCAL or _PAIR");
    }
    if (fd < 0) return fail(assoc, LWMSG_STATUS_INVALID_PARAMETER, "descriptor " + std::to_string(fd) + " is not open");
    // The connection adopts a duplicate, so on failure the caller's descriptor stays open.
    airlock::UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!copy) return fail(assoc, LWMSG_STATUS_INVALID_PARAMETER, "descriptor " + std::to_string(fd) + " is not open");
    airlock::Status status = assoc->connection.set_fd(airlock_mode, std::move(copy));
    if (!status.ok()) return fail(assoc, status);
    ::close(fd);
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus lwmsg_connection_set_endpoint(LWMsgAssoc* assoc, LWMsgConnectionMode mode, const char* endpoint) {
    if (!assoc) return LWMSG_STATUS_INVALID_PARAMETER;
    if (assoc->phase != LWMsgAssoc::Phase::Fresh || assoc->connection.state() != airlock::ConnectionState::Unattached)
        return fail(assoc, LWMSG_STATUS_INVALID_STATE, "the connection already has a descriptor or endpoint");
    if (mode != LWMSG_CONNECTION_MODE_LOCAL)
        return fail(assoc, LWMSG_STATUS_INVALID_PARAMETER, "only LWMSG_CONNECTION_MODE_LOCAL connections have endpoints");
    if (!endpoint) return fail(assoc, LWMSG_STATUS_INVALID_PARAMETER, "the endpoint is NULL");
    airlock::Status status = assoc->connection.set_endpoint(airlock::ConnectionMode::Local, endpoint);
    return status.ok() ? LWMSG_STATUS_SUCCESS : fail(assoc, status);
}

// --- tokens and sessions ----------------------------------------------------------------

const char* lwmsg_security_token_get_type(LWMsgSecurityToken* token) { return token ? "local" : nullptr; }

LWMsgStatus lwmsg_local_token_get_eid(LWMsgSecurityToken* token, uid_t* out_euid, gid_t* out_egid) {
    if (!is_local(token) || !out_euid || !out_egid) return LWMSG_STATUS_INVALID_PARAMETER;
    *out_euid = token->local.euid;
    *out_egid = token->local.egid;
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus lwmsg_local_token_get_pid(LWMsgSecurityToken* token, pid_t* out_pid) {
    if (!is_local(token) || !out_pid) return LWMSG_STATUS_INVALID_PARAMETER;
    *out_pid = token->local.pid;
    return LWMSG_STATUS_SUCCESS;
}

LWMsgSecurityToken* lwmsg_session_get_peer_security_token(LWMsgSession* session) {
    return session ? &session->token : nullptr;
}

LWMsgStatus lwmsg_session_acquire_call(LWMsgSession* session, LWMsgCall** call) {
    if (!session || !call) return LWMSG_STATUS_INVALID_PARAMETER;
    LWMsgAssoc* assoc = session->assoc;
    if (LWMsgStatus s = require_established(assoc); s != LWMSG_STATUS_SUCCESS) return s;
    if (assoc->call.acquired) return fail(assoc, LWMSG_STATUS_BUSY, "the session's call handle is already acquired");
    assoc->call.acquired = true;
    *call = &assoc->call;
    return LWMSG_STATUS_SUCCESS;
}

// --- associations -----------------------------------------------------------------------

LWMsgStatus lwmsg_assoc_connect(LWMsgAssoc* assoc, LWMsgSession* session) { return establish(assoc, session); }

LWMsgStatus lwmsg_assoc_accept(LWMsgAssoc* assoc, LWMsgSession* session) { return establish(assoc, session); }

LWMsgStatus lwmsg_assoc_close(LWMsgAssoc* assoc) {
    if (!assoc) return LWMSG_STATUS_INVALID_PARAMETER;
    assoc->connection.close();
    assoc->phase = LWMsgAssoc::Phase::Closed;
    assoc->held.clear();
    assoc->unanswered.clear();
    return LWMSG_STATUS_SUCCESS;
}

void lwmsg_assoc_delete(LWMsgAssoc* assoc) {
    if (!assoc) return;
    --assoc->protocol->connections;
    delete assoc;
}

LWMsgStatus lwmsg_assoc_get_session(LWMsgAssoc* assoc, LWMsgSession** session) {
    if (!assoc || !session) return LWMSG_STATUS_INVALID_PARAMETER;
    if (LWMsgStatus s = require_established(assoc); s != LWMSG_STATUS_SUCCESS) return s;
    *session = &assoc->session;
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus lwmsg_assoc_send_message(LWMsgAssoc* assoc, LWMsgMessage* message) {
    if (!assoc || !message) return LWMSG_STATUS_INVALID_PARAMETER;
    if (LWMsgStatus s = require_established(assoc); s != LWMSG_STATUS_SUCCESS) return s;
    auto request = assoc->unanswered.find(message->cookie);
    bool reply = request != assoc->unanswered.end() || (message->flags & LWMSG_MESSAGE_FLAG_REPLY);
    if (!reply) return send_payload(assoc, message->tag, message->data, MessageKind::OneWay, 0);
    std::uint32_t call_id = request != assoc->unanswered.end() ? request->second : message->cookie;
    LWMsgStatus status;
    if (message->status != LWMSG_STATUS_SUCCESS) {
        if (!find_entry(assoc, message->tag, status)) return status;
        airlock::CallError error{static_cast<std::uint8_t>(airlock::lwmsg::to_airlock(message->status)),
                                 std::string(airlock::lwmsg::status_name(message->status))};
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        (void)airlock::encode_value(error, body, fds);
        airlock::Status sent = assoc->connection.send(
            airlock::OutgoingMessage{airlock::lwmsg::wire_tag(message->tag), MessageKind::ErrorReply, call_id, body, fds});
        status = sent.ok() ? LWMSG_STATUS_SUCCESS : fail(assoc, sent);
    } else {
        status = send_payload(assoc, message->tag, message->data, MessageKind::Reply, call_id);
    }
    if (status == LWMSG_STATUS_SUCCESS && request != assoc->unanswered.end()) assoc->unanswered.erase(request);
    return status;
}

LWMsgStatus lwmsg_assoc_recv_message(LWMsgAssoc* assoc, LWMsgMessage* message) {
    if (!assoc || !message) return LWMSG_STATUS_INVALID_PARAMETER;
    if (LWMsgStatus s = require_established(assoc); s != LWMSG_STATUS_SUCCESS) return s;
    Message received;
    if (!assoc->held.empty()) {
        received = std::move(assoc->held.front());
        assoc->held.pop_front();
    } else {
        auto next = assoc->connection.receive();
        if (!next) return fail(assoc, next.status());
        received = std::move(*next);
    }
    lwmsg_message_init(message);
    LWMsgStatus status = unpack(assoc, received, message->tag, message->data, message->status);
    if (status != LWMSG_STATUS_SUCCESS) {
        message->tag = LWMSG_TAG_INVALID;
        if (received.kind == MessageKind::Request) {
            // The caller is waiting: tell it why its request was refused.
            airlock::CallError error{static_cast<std::uint8_t>(airlock::lwmsg::to_airlock(status)), assoc->error};
            std::vector<std::uint8_t> body;
            std::vector<int> fds;
            (void)airlock::encode_value(error, body, fds);
            (void)assoc->connection.send(
                airlock::OutgoingMessage{received.tag, MessageKind::ErrorReply, received.call_id, body, fds});
        }
        return status;
    }
    message->cookie = static_cast<LWMsgCookie>(received.call_id);
    if (received.kind == MessageKind::Request) assoc->unanswered[message->cookie] = received.call_id;
    if (received.kind == MessageKind::Reply || received.kind == MessageKind::ErrorReply)
        message->flags = LWMSG_MESSAGE_FLAG_REPLY;
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus lwmsg_assoc_destroy_message(LWMsgAssoc* assoc, LWMsgMessage* message) {
    if (!assoc || !message) return LWMSG_STATUS_INVALID_PARAMETER;
    if (message->tag == LWMSG_TAG_INVALID) return LWMSG_STATUS_SUCCESS;
    LWMsgStatus status;
    const LWMsgProtocol::Entry* entry = find_entry(assoc, message->tag, status);
    if (!entry) return status;
    entry->type->destroy(message->data);
    lwmsg_message_init(message);
    return LWMSG_STATUS_SUCCESS;
}

const char* lwmsg_assoc_get_error_message(LWMsgAssoc* assoc, LWMsgStatus status) {
    if (assoc && !assoc->error.empty()) return assoc->error.c_str();
    return airlock::lwmsg::status_name(status);
}

// --- calls ------------------------------------------------------------------------------

LWMsgStatus lwmsg_call_dispatch(LWMsgCall* call, const LWMsgParams* input, LWMsgParams* output,
                                LWMsgCompleteFunction, void*) {
    if (!call || !input || !output) return LWMSG_STATUS_INVALID_PARAMETER;
    LWMsgAssoc* assoc = call->assoc;
    if (LWMsgStatus s = require_established(assoc); s != LWMSG_STATUS_SUCCESS) return s;
    std::uint32_t call_id = assoc->next_call_id++;
    if (assoc->next_call_id == 0) assoc->next_call_id = 1;
    if (LWMsgStatus s = send_payload(assoc, input->tag, input->data, MessageKind::Request, call_id); s != LWMSG_STATUS_SUCCESS)
        return s;
    for (;;) {
        auto next = assoc->connection.receive();
        if (!next) return fail(assoc, next.status());
        bool answer = (next->kind == MessageKind::Reply || next->kind == MessageKind::ErrorReply) && next->call_id == call_id;
        if (!answer) {
            // The peer's own requests and notifications wait for lwmsg_assoc_recv_message();
            // a stray reply (to no call of ours) is dropped.
            if (next->kind == MessageKind::Request || next->kind == MessageKind::OneWay) assoc->held.push_back(std::move(*next));
            continue;
        }
        LWMsgStatus remote = LWMSG_STATUS_SUCCESS;
        output->tag = LWMSG_TAG_INVALID;
        output->data = nullptr;
        LWMsgTag tag;
        void* data;
        if (LWMsgStatus s = unpack(assoc, *next, tag, data, remote); s != LWMSG_STATUS_SUCCESS) return s;
        if (remote != LWMSG_STATUS_SUCCESS) return remote;
        output->tag = tag;
        output->data = data;
        return LWMSG_STATUS_SUCCESS;
    }
}

LWMsgStatus lwmsg_call_destroy_params(LWMsgCall* call, LWMsgParams* params) {
    if (!call || !params) return LWMSG_STATUS_INVALID_PARAMETER;
    if (params->tag == LWMSG_TAG_INVALID) return LWMSG_STATUS_SUCCESS;
    LWMsgStatus status;
    const LWMsgProtocol::Entry* entry = find_entry(call->assoc, params->tag, status);
    if (!entry) return status;
    entry->type->destroy(params->data);
    params->tag = LWMSG_TAG_INVALID;
    params->data = nullptr;
    return LWMSG_STATUS_SUCCESS;
}

void lwmsg_call_release(LWMsgCall* call) {
    if (call) call->acquired = false;
}

LWMsgSession* lwmsg_call_get_session(LWMsgCall* call) { return call ? &call->assoc->session : nullptr; }

} // extern "C"
