// The C API's synchronous call (<lwmsg/lwmsg.h>: lwmsg_call_dispatch, the peer answering with
// lwmsg_assoc_recv_message + lwmsg_assoc_send_message) against a raw SOCK_SEQPACKET ping-pong
// doing the same exchange, with the method of connection_rtt_bench.cpp: both processes pinned
// to one CPU, library and raw segments interleaved round by round, medians of per-round values.
//
//   c_call_rtt_*   64-byte request, 64-byte reply (a struct with a length-member byte array)
//                  vs write(64) + read(64).
//
// Environment: AIRLOCK_BENCH_ROUNDS (default 25), AIRLOCK_BENCH_CALLS (default 2000),
// AIRLOCK_BENCH_CPU (default: the highest allowed CPU).

#include "support.hpp"

#include <lwmsg/lwmsg.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

struct Payload {
    std::uint32_t length;
    std::uint8_t* data;
};

LWMsgTypeSpec payload_spec[] = {
    LWMSG_STRUCT_BEGIN(Payload),
    LWMSG_MEMBER_UINT32(Payload, length),
    LWMSG_MEMBER_POINTER(Payload, data, LWMSG_UINT8(std::uint8_t)),
    LWMSG_ATTR_LENGTH_MEMBER(Payload, length),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END
};

enum { ECHO = 0, ECHO_REPLY = 1 };
LWMsgProtocolSpec protocol_spec[] = {
    LWMSG_MESSAGE(ECHO, payload_spec),
    LWMSG_MESSAGE(ECHO_REPLY, payload_spec),
    LWMSG_PROTOCOL_END
};

void check(LWMsgStatus status, const char* what) {
    if (status != LWMSG_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + " failed with status " + std::to_string(status));
}

LWMsgAssoc* open_assoc(LWMsgProtocol* protocol, int fd) {
    LWMsgAssoc* assoc = nullptr;
    check(lwmsg_connection_new(nullptr, protocol, &assoc), "lwmsg_connection_new");
    check(lwmsg_connection_set_fd(assoc, LWMSG_CONNECTION_MODE_PAIR, fd), "lwmsg_connection_set_fd");
    check(lwmsg_assoc_connect(assoc, nullptr), "lwmsg_assoc_connect");
    return assoc;
}

void raw_transfer(int fd, bool ask) {
    unsigned char buffer[64];
    std::memset(buffer, 0x5a, sizeof buffer);
    if (ask && ::write(fd, buffer, sizeof buffer) != 64) throw_errno("raw write");
    if (::read(fd, buffer, sizeof buffer) != 64) throw_errno("raw read");
    if (!ask && ::write(fd, buffer, sizeof buffer) != 64) throw_errno("raw write");
}

enum Side { kLibrary = 0, kRaw = 1 };

void run(int cpu, int rounds, int calls) {
    LWMsgProtocol* protocol = nullptr;
    check(lwmsg_protocol_new(nullptr, &protocol), "lwmsg_protocol_new");
    check(lwmsg_protocol_add_protocol_spec(protocol, protocol_spec), "lwmsg_protocol_add_protocol_spec");
    int library[2], raw[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, library) != 0 ||
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, raw) != 0)
        throw_errno("socketpair");

    Child peer(cpu, [&] {
        ::close(library[0]);
        ::close(raw[0]);
        LWMsgAssoc* assoc = open_assoc(protocol, library[1]);
        interleave(rounds, 2, [&](int, int side) {
            for (int i = 0; i < calls; ++i) {
                if (side == kRaw) {
                    raw_transfer(raw[1], false);
                    continue;
                }
                LWMsgMessage request = LWMSG_MESSAGE_INITIALIZER;
                check(lwmsg_assoc_recv_message(assoc, &request), "lwmsg_assoc_recv_message");
                LWMsgMessage reply = LWMSG_MESSAGE_INITIALIZER;
                reply.tag = ECHO_REPLY;
                reply.cookie = request.cookie;
                reply.data = request.data;
                check(lwmsg_assoc_send_message(assoc, &reply), "lwmsg_assoc_send_message");
                check(lwmsg_assoc_destroy_message(assoc, &request), "lwmsg_assoc_destroy_message");
            }
        });
        lwmsg_assoc_delete(assoc);
    });
    ::close(library[1]);
    ::close(raw[1]);

    LWMsgAssoc* assoc = open_assoc(protocol, library[0]);
    LWMsgSession* session = nullptr;
    LWMsgCall* call = nullptr;
    check(lwmsg_assoc_get_session(assoc, &session), "lwmsg_assoc_get_session");
    check(lwmsg_session_acquire_call(session, &call), "lwmsg_session_acquire_call");
    std::uint8_t bytes[64];
    std::memset(bytes, 0x5a, sizeof bytes);
    Payload payload{64, bytes};
    LWMsgParams in = {ECHO, &payload};

    PairedRounds rounds_us;  // side kLibrary, then kRaw
    interleave(rounds, 2, [&](int round, int side) {
        Clock::time_point start = Clock::now();
        for (int i = 0; i < calls; ++i) {
            if (side == kRaw) {
                raw_transfer(raw[0], true);
                continue;
            }
            LWMsgParams out = LWMSG_PARAMS_INITIALIZER;
            check(lwmsg_call_dispatch(call, &in, &out, nullptr, nullptr), "lwmsg_call_dispatch");
            if (out.tag != ECHO_REPLY || static_cast<Payload*>(out.data)->length != 64)
                throw std::runtime_error("echo: unexpected reply");
            check(lwmsg_call_destroy_params(call, &out), "lwmsg_call_destroy_params");
        }
        rounds_us.record(round, side, seconds_since(start) * 1e6 / calls);
    });
    lwmsg_call_release(call);
    lwmsg_assoc_delete(assoc);
    ::close(raw[0]);
    peer.join();
    lwmsg_protocol_delete(protocol);

    print_result("c_call_rtt_ratio_vs_raw", median(rounds_us.ratios), "ratio");
    print_result("c_call_rtt_us", median(rounds_us.subject), "us");
    print_result("c_raw_rtt_us", median(rounds_us.raw), "us");
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int cpu = choose_cpu();
        int rounds = env_int("AIRLOCK_BENCH_ROUNDS", 25);
        int calls = env_int("AIRLOCK_BENCH_CALLS", 2000);
        pin_to_cpu(cpu);
        note("C API round trips: both processes pinned to CPU " + std::to_string(cpu) + "; " + std::to_string(rounds) +
             " rounds (+1 warm-up) of " + std::to_string(calls) +
             " round trips per side, interleaved; medians of per-round values");
        run(cpu, rounds, calls);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "c_call_rtt_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
