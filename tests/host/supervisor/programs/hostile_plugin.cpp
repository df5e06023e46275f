// A protocol "airlock" plugin that attacks the host through what it announces and what it
// replies, written against the connection library (no SDK, which would refuse most of this).
// Modes (argv[1]):
//   empty-struct    announces `explode` whose reply type is
//                   vector<vector<struct E{},4294967295>,4294967295> and answers it with
//                   64 KiB that decode to ~1.5 GB of JSON where 0-byte elements are counted
//   reserved-tag    announces `shadow` under tag 4, the protocol's own `stop`
//   duplicate-name  announces `echo` twice, under tags 100 and 101
//   bad-name        announces a method whose name holds a newline
//   escaping-type   announces a method whose request type is terminal escapes (OSC, CSI),
//                   a newline starting a forged host line, C1 CSI and invalid UTF-8
//   wide-reply      announces `wide` (request struct WideRequest{count:uint32}); replies with
//                   `count` one-byte elements of a struct whose member name is 128 bytes long,
//                   so the reply as JSON is 130 times the body
//   wide-types      announces 100 methods whose request and reply types are 16 KiB
//                   descriptions of structs of 256 fd members each (the most names one
//                   struct may have), 3.2 MiB in all
//   plain-types     the same, but structs of 16 members: as long, as many members
//   many-fds        once ready, sends the host a message carrying 65 descriptors
//   forward-received  once ready, receives one descriptor on its first grant (a connect
//                   grant) and sends it to the host in a malformed packet (one byte), then
//                   closes its own copy: the host's is the last reference
//   late-reply      announces `echo` (bytes<16>); leaves the first call unanswered; on the
//                   second call first replies to the first one ("late", with a descriptor),
//                   then echoes the second, then replies to it again and to a call id never
//                   issued (each "stray", with a descriptor); once ready, it also sends a
//                   notification under a tag the host has no handler for (107)
//   unfinished      once ready, starts a message announcing 64 MiB, sends all of it but the
//                   last byte (hand-made packets), says so on stderr and never finishes it
//   fd-reply        announces `handle` (reply struct HandleReply{f:fd}), answered with a
//                   descriptor of the plugin's (its stderr), and `fail`, answered with an
//                   error whose text holds terminal escapes (ESC, C1 CSI, a newline)
//   no-handshake    never does the handshake (keeps the connection open, sends nothing)
//   data-first      sends a data packet before its handshake
//   huge-packets    its handshake proposes packets of 4 GiB
//   second-hello    completes the handshake, then sends another one
//   wrong-protocol  does the handshake speaking the control protocol instead of the plugin one
// Every mode then serves until the stop request.
#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/control_protocol.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../support/descriptor_passing.hpp"
#include "../../../support/raw_plugin.hpp"
#include "../../../support/type_description_shapes.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace airlock;
using airlock::test::nested_structs;
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

} // namespace

int main(int argc, char** argv) {
    const char* fd_text = std::getenv(wire::kConnectionFdVariable);
    if (!fd_text || argc < 2) return 64;
    const std::string mode = argv[1];
    if (mode == "no-handshake") {
        for (;;) ::pause();
    }
    if (mode == "data-first" || mode == "huge-packets" || mode == "second-hello") {
        // Hand-made packets (docs/wire-format.md §2): an 8-byte packet header, then for a
        // hello magic, version, reserved, packet size, features, fingerprint, name length, name.
        const int fd = std::atoi(fd_text);
        auto hello = [&](std::uint32_t packet_size) {
            const std::string& name = wire::plugin_host_protocol().name();
            std::vector<std::uint8_t> packet(8 + 26 + name.size(), 0);
            auto put = [&](std::size_t at, std::uint64_t value, int width) {
                for (int i = 0; i < width; ++i) packet[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
            };
            put(0, 1, 1);  // hello
            put(1, 3, 1);  // first and last
            put(4, 26 + name.size(), 4);
            put(8, 0x4b434c41, 4);
            put(12, 1, 2);
            put(16, packet_size, 4);
            put(20, 1, 4);
            put(24, wire::plugin_host_protocol().fingerprint(), 8);
            put(32, name.size(), 2);
            std::memcpy(packet.data() + 34, name.data(), name.size());
            return ::send(fd, packet.data(), packet.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(packet.size());
        };
        if (mode == "data-first") {
            const std::uint8_t data[8 + 16] = {2, 3, 0, 0, 16};
            if (::send(fd, data, sizeof data, MSG_NOSIGNAL) < 0) return 2;
        } else if (mode == "huge-packets") {
            if (!hello(0xFFFFFFFFu)) return 2;
        } else {
            Connection connection(wire::plugin_host_protocol());
            if (auto start = test_support::start_raw_plugin(connection, fd_text); start.step) return fail(start.step, start.status);
            if (!hello(4096)) return 2;
        }
        for (;;) ::pause();
    }
    if (mode == "wrong-protocol") {
        Connection other(wire::control_protocol());
        if (auto start = test_support::start_raw_plugin(other, fd_text); start.step) return fail(start.step, start.status);
        return 0;
    }
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
    } else if (mode == "wide-types" || mode == "plain-types") {
        const std::string type = nested_structs(mode == "wide-types" ? 256 : 16, 16384);
        for (int i = 0; i < 100; ++i) announce("m" + std::to_string(i), static_cast<std::uint16_t>(first + i), type, type);
    } else if (mode == "reserved-tag") {
        announce("shadow", wire::stop.tag, "struct StopRequest{timeout_ms:uint32}", "struct StopReply{calls_in_flight:uint32}");
    } else if (mode == "duplicate-name") {
        announce("echo", first, "bytes<16>", "bytes<16>");
        announce("echo", first + 1, "bytes<16>", "bytes<16>");
    } else if (mode == "bad-name") {
        announce("bad\nname", first, "bytes<16>", "bytes<16>");
    } else if (mode == "escaping-type") {
        announce("esc", first, "\x1b]0;owned\x07\x1b[2J\n[host] plugin good: state forged\r\xc2\x9b" "1m\xff", "bytes<16>");
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
    } else if (mode == "late-reply") {
        announce("echo", first, "bytes<16>", "bytes<16>");
        (void)session.on_raw(first, [&connection, first](Message& request, CallSession::Responder& respond) -> Status {
            static std::vector<RawPendingReply> unanswered;
            static std::optional<CallId> first_call;
            if (!first_call) {
                first_call = request.call_id;
                unanswered.push_back(respond.pend());  // never completed
                return {};
            }
            // A reply out of band, as a hostile plugin writes it: any call id, any body, a descriptor.
            auto raw_reply = [&](CallId id, const char* text) {
                const std::vector<std::uint8_t> bytes(text, text + std::strlen(text));
                const int fds[1] = {2};
                return connection.queue(OutgoingMessage{first, MessageKind::Reply, id, bytes, fds});
            };
            if (Status s = raw_reply(*first_call, "late"); !s.ok()) return s;
            if (Status s = respond.send(request.body, {}); !s.ok()) return s;
            if (Status s = raw_reply(request.call_id, "stray"); !s.ok()) return s;
            return raw_reply(request.call_id + 1000, "stray");
        });
    } else if (mode == "fd-reply") {
        announce("handle", first, "struct HandleRequest{n:uint32}", "struct HandleReply{f:fd}");
        announce("fail", first + 1, "struct HandleRequest{n:uint32}", "struct HandleReply{f:fd}");
        (void)session.on_raw(first, [](Message&, CallSession::Responder& respond) -> Status {
            const std::vector<std::uint8_t> index{0, 0, 0, 0};  // descriptor 0 of the message
            const int fds[1] = {2};
            return respond.send(index, fds);
        });
        (void)session.on_raw(first + 1, [](Message&, CallSession::Responder&) -> Status {
            return Status(StatusCode::HandlerFailed, "owned\x1b[2J\x1b]0;title\x07\xc2\x9b" "31m\nFAKE: host line");
        });
    } else if (mode != "many-fds" && mode != "unfinished" && mode != "forward-received") {
        return 64;
    }
    if (Status s = session.notify(wire::ready, ready); !s.ok()) return fail("ready", s);
    if (mode == "late-reply") {
        // A notification the host never asked for, under a tag it has no handler for.
        const int fds[1] = {2};
        if (Status s = connection.send(OutgoingMessage{static_cast<std::uint16_t>(first + 7), MessageKind::OneWay, 0, {}, fds});
            !s.ok())
            return fail("notification", s);
    }
    if (mode == "many-fds") {
        std::vector<int> fds(65, 2);  // stderr 65 times: the kernel passes a reference per entry
        OutgoingMessage message;
        message.tag = first;
        message.fds = fds;
        if (Status s = connection.send(message); !s.ok()) return fail("many-fds", s);
    }
    if (mode == "forward-received") {
        if (grants.grants.empty()) return 64;
        const int received = test_support::receive_descriptor(grants.grants[0].fd.get());
        if (received < 0) return fail("forward-received", Status(StatusCode::PeerClosed, "no descriptor arrived"));
        // One byte: shorter than a packet header, so the host refuses the packet and drops it.
        const char byte = 'x';
        if (!test_support::send_descriptor(connection.fd(), received, &byte, 1))
            return fail("forward-received", Status(StatusCode::PeerClosed, "sendmsg"));
        ::close(received);
    }
    if (mode == "unfinished") {
        // Packets as the wire format lays them out (docs/wire-format.md): an 8-byte packet
        // header (type 2 = data, flags 1 = first / 0 = continuation, fd count, payload
        // length), on the first one a 16-byte message header (tag, kind, flags, call id, body
        // length, fd count).
        constexpr std::uint32_t kBody = 64u << 20;
        std::vector<std::uint8_t> packet(connection.packet_size(), 'x');
        auto put = [&](std::size_t at, std::uint64_t value, int width) {
            for (int i = 0; i < width; ++i) packet[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
        };
        std::size_t sent = 0;
        while (sent < kBody - 1) {
            const bool first_packet = sent == 0;
            const std::size_t header = first_packet ? 24 : 8;
            const std::size_t chunk = std::min(packet.size() - header, std::size_t{kBody - 1} - sent);
            put(0, 2, 1);
            put(1, first_packet ? 1 : 0, 1);
            put(2, 0, 2);
            put(4, header - 8 + chunk, 4);
            if (first_packet) {
                put(8, first, 2);
                put(10, 0, 1);  // a notification
                put(11, 0, 1);
                put(12, 0, 4);
                put(16, kBody, 4);
                put(20, 0, 4);
            }
            while (::send(connection.fd(), packet.data(), header + chunk, MSG_NOSIGNAL) < 0) {
                pollfd room{connection.fd(), POLLOUT, 0};
                if ((errno != EAGAIN && errno != EINTR) || ::poll(&room, 1, -1) < 0) return 2;
            }
            sent += chunk;
        }
        std::fprintf(stderr, "sent %zu of %u bytes\n", sent, kBody);
        for (;;) ::pause();
    }
    connection.set_timeout(std::nullopt);
    while (!stopping) {
        if (Status s = session.poll_once(); !s.ok()) return fail("serving", s);
    }
    return 0;
}
