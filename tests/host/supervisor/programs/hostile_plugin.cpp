// A protocol "airlock" plugin that attacks the host through what it announces and what it
// replies, written against the connection library (no SDK, which would refuse most of this).
// Modes (argv[1]):
//   empty-struct    announces `explode` whose reply type is
//                   vector<vector<struct E{},4294967295>,4294967295> and answers it with
//                   64 KiB that decode to ~1.5 GB of JSON where 0-byte elements are counted
//   reserved-tag    announces `shadow` under tag 4, the protocol's own `stop`
//   duplicate-name  announces `echo` twice, under tags 100 and 101
//   bad-name        announces a method whose name holds a newline
//   wide-reply      announces `wide` (request struct WideRequest{count:uint32}); replies with
//                   `count` one-byte elements of a struct whose member name is 128 bytes long,
//                   so the reply as JSON is 130 times the body
//   many-fds        once ready, sends the host a message carrying 65 descriptors
//   forward-received  once ready, receives one descriptor on its first grant (a connect
//                   grant) and sends it to the host in a malformed packet (one byte), then
//                   closes its own copy: the host's is the last reference
// Every mode then serves until the stop request.
#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include "../../../support/raw_plugin.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace airlock;
namespace wire = airlock::protocol;

namespace {

int fail(const char* what, const Status& status) {
    std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
    return 2;
}

void put_u32(std::vector<std::uint8_t>& body, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) body.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

// The `explode` reply: an outer count, then inner counts as large as the bytes left allow
// (each inner element takes 0 bytes, so the old bound let every inner vector claim them all).
std::vector<std::uint8_t> explode_reply() {
    constexpr std::uint32_t kInner = 16383;
    std::vector<std::uint8_t> body;
    put_u32(body, kInner);
    for (std::uint32_t i = 0; i < kInner; ++i) put_u32(body, 4 * (kInner - 1 - i));
    return body;
}

// One descriptor received on `socket` (blocking), or -1.
int receive_one_descriptor(int socket) {
    char byte;
    iovec part{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (::recvmsg(socket, &message, MSG_CMSG_CLOEXEC) <= 0) return -1;
    cmsghdr* rights = CMSG_FIRSTHDR(&message);
    if (rights == nullptr || rights->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    std::memcpy(&fd, CMSG_DATA(rights), sizeof fd);
    return fd;
}

// `fd` sent on `socket` with one byte: shorter than a packet header, so the host's connection
// refuses the packet and drops the descriptor.
bool send_one_descriptor(int socket, int fd) {
    char byte = 'x';
    iovec part{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(rights), &fd, sizeof fd);
    return ::sendmsg(socket, &message, MSG_NOSIGNAL) == 1;
}

} // namespace

int main(int argc, char** argv) {
    const char* fd_text = std::getenv(wire::kConnectionFdVariable);
    if (!fd_text || argc < 2) return 64;
    const std::string mode = argv[1];
    Connection connection(wire::plugin_host_protocol());
    wire::GrantTable grants;
    if (auto start = test_support::start_raw_plugin(connection, fd_text, &grants); start.step)
        return fail(start.step, start.status);

    CallSession session(connection);
    bool stopping = false;
    (void)session.on(wire::stop, [&](wire::StopRequest&) {
        stopping = true;
        return wire::StopReply{0};
    });
    wire::ReadyNotice ready;
    auto announce = [&](std::string name, std::uint16_t tag, std::string request_type, std::string reply_type) {
        wire::MethodAnnouncement method;
        method.name = std::move(name);
        method.tag = tag;
        method.request_type = std::move(request_type);
        method.reply_type = std::move(reply_type);
        ready.methods.push_back(std::move(method));
    };
    const std::uint16_t first = wire::kFirstApplicationTag;
    if (mode == "empty-struct") {
        announce("explode", first, "struct ExplodeRequest{n:uint32}", "vector<vector<struct E{},4294967295>,4294967295>");
        (void)session.on_raw(first, [](Message&, CallSession::Responder& respond) -> Status {
            return respond.send(explode_reply(), {});
        });
    } else if (mode == "reserved-tag") {
        announce("shadow", wire::stop.tag, "struct StopRequest{timeout_ms:uint32}", "struct StopReply{calls_in_flight:uint32}");
    } else if (mode == "duplicate-name") {
        announce("echo", first, "bytes<16>", "bytes<16>");
        announce("echo", first + 1, "bytes<16>", "bytes<16>");
    } else if (mode == "bad-name") {
        announce("bad\nname", first, "bytes<16>", "bytes<16>");
    } else if (mode == "wide-reply") {
        announce("wide", first, "struct WideRequest{count:uint32}",
                 "vector<struct Wide{" + std::string(128, 'n') + ":uint8},4294967295>");
        (void)session.on_raw(first, [](Message& request, CallSession::Responder& respond) -> Status {
            std::uint32_t count = 0;
            if (request.body.size() == 4) std::memcpy(&count, request.body.data(), 4);  // little-endian host
            std::vector<std::uint8_t> body;
            put_u32(body, count);
            body.resize(body.size() + count, 7);
            return respond.send(body, {});
        });
    } else if (mode != "many-fds" && mode != "forward-received") {
        return 64;
    }
    if (Status s = session.notify(wire::ready, ready); !s.ok()) return fail("ready", s);
    if (mode == "many-fds") {
        std::vector<int> fds(65, 2);  // stderr 65 times: the kernel passes a reference per entry
        OutgoingMessage message;
        message.tag = first;
        message.fds = fds;
        if (Status s = connection.send(message); !s.ok()) return fail("many-fds", s);
    }
    if (mode == "forward-received") {
        if (grants.grants.empty()) return 64;
        const int received = receive_one_descriptor(grants.grants[0].fd.get());
        if (received < 0) return fail("forward-received", Status(StatusCode::PeerClosed, "no descriptor arrived"));
        if (!send_one_descriptor(connection.fd(), received)) return fail("forward-received", Status(StatusCode::PeerClosed, "sendmsg"));
        ::close(received);
    }
    connection.set_timeout(std::nullopt);
    while (!stopping) {
        if (Status s = session.poll_once(); !s.ok()) return fail("serving", s);
    }
    return 0;
}
