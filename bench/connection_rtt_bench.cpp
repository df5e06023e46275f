// Round-trip benchmarks: a CallSession call between two processes against a hand-written
// ping-pong over a raw socketpair doing the same exchange, measured in the same run.
//
// Both processes are pinned to one CPU. Each round runs `calls` library calls and `calls` raw
// round trips (order alternating between rounds); the per-round mean round-trip times give a
// per-round ratio, and the medians over the rounds are reported.
//
//   call_rtt_*     64-byte request, 64-byte reply (CallSession::call / CallSession::poll_once)
//                  vs write(64) + read(64) on a raw SOCK_SEQPACKET socketpair.
//   fd_call_rtt_*  one descriptor per request (a dup of /dev/null in a UniqueFd member; the
//                  handler takes and closes it), 4-byte reply, vs sendmsg(4 bytes + SCM_RIGHTS)
//                  + recvmsg(4 bytes), the receiver closing the descriptor.
//   call_rtt_cross_cpu_*, raw_rtt_cross_cpu_us
//                  the call benchmark again with the two processes pinned to two different
//                  CPUs, as a host and its plugins really run: every hop is a cross-CPU
//                  wake-up (50-70 us on these VMs), which the same-CPU numbers leave out.
//                  Fewer calls per round (AIRLOCK_BENCH_CROSS_CALLS, default 500).
//
// Environment: AIRLOCK_BENCH_ROUNDS (default 25), AIRLOCK_BENCH_CALLS (calls per side per
// round, default 2000), AIRLOCK_BENCH_CPU (default: the highest allowed CPU),
// AIRLOCK_BENCH_OTHER_CPU (the serving process's CPU in the cross-CPU pass; default: the
// lowest allowed CPU other than AIRLOCK_BENCH_CPU; the pass is skipped with one CPU).

#include "bench_protocol.hpp"
#include "support.hpp"

#include "airlock/connection/call_session.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

/// One round-trip benchmark: what each side does for one exchange.
struct RoundTrip {
    std::string name;                                         ///< result prefix, e.g. "call"
    std::string raw_name;                                     ///< e.g. "raw"
    std::function<void(airlock::CallSession&)> register_handler;  ///< serving process, once
    std::function<void(airlock::CallSession&)> library_call;      ///< calling process, one call
    std::function<void(int)> raw_call;                           ///< calling process, one round trip
    std::function<void(int)> raw_answer;                          ///< serving process, one round trip
};

enum Side { kLibrary = 0, kRaw = 1 };

/// Runs `bench` with this process on the CPU it is pinned to and the serving process on
/// `peer_cpu`; result names get `suffix` (e.g. "_cross_cpu").
void run(const RoundTrip& bench, int peer_cpu, int rounds, int calls, const std::string& suffix = "") {
    auto [library_here, library_there] = seqpacket_pair();
    auto [raw_here, raw_there] = seqpacket_pair();

    Child peer(peer_cpu, [&] {
        library_here.reset();
        raw_here.reset();
        airlock::Connection connection = established(std::move(library_there));
        airlock::CallSession session(connection);
        bench.register_handler(session);
        interleave(rounds, 2, [&](int, int side) {
            for (int i = 0; i < calls; ++i) {
                if (side == kRaw) {
                    bench.raw_answer(raw_there.get());
                } else if (airlock::Status s = session.poll_once(); !s.ok()) {
                    throw std::runtime_error("serving: " + s.to_string());
                }
            }
        });
    });
    library_there.reset();
    raw_there.reset();

    airlock::Connection connection = established(std::move(library_here));
    airlock::CallSession session(connection);
    PairedRounds rounds_us;  // side kLibrary, then kRaw
    interleave(rounds, 2, [&](int round, int side) {
        Clock::time_point start = Clock::now();
        for (int i = 0; i < calls; ++i) {
            if (side == kRaw) bench.raw_call(raw_here.get());
            else bench.library_call(session);
        }
        rounds_us.record(round, side, seconds_since(start) * 1e6 / calls);
    });
    connection.close();
    peer.join();

    print_result(bench.name + "_rtt" + suffix + "_ratio_vs_raw", median(rounds_us.ratios), "ratio");
    print_result(bench.name + "_rtt" + suffix + "_us", median(rounds_us.subject), "us");
    print_result(bench.raw_name + "_rtt" + suffix + "_us", median(rounds_us.raw), "us");
}

/// The CPU for the serving process in the cross-CPU pass: $AIRLOCK_BENCH_OTHER_CPU, else the
/// lowest allowed CPU other than `cpu`; -1 when this process may run on `cpu` only.
int other_cpu(int cpu) {
    if (const char* chosen = std::getenv("AIRLOCK_BENCH_OTHER_CPU"); chosen && *chosen) return std::atoi(chosen);
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) throw_errno("sched_getaffinity");
    for (int candidate = 0; candidate < CPU_SETSIZE; ++candidate)
        if (candidate != cpu && CPU_ISSET(candidate, &allowed)) return candidate;
    return -1;
}

void write_all(int fd, const void* data, std::size_t size) {
    ssize_t n = ::write(fd, data, size);
    if (n != static_cast<ssize_t>(size)) throw_errno("raw write");
}

void read_exact(int fd, void* data, std::size_t size) {
    ssize_t n = ::read(fd, data, size);
    if (n != static_cast<ssize_t>(size)) {
        if (n >= 0) throw std::runtime_error("raw read: got " + std::to_string(n) + " bytes");
        throw_errno("raw read");
    }
}

RoundTrip call_benchmark() {
    RoundTrip bench;
    bench.name = "call";
    bench.raw_name = "raw";
    bench.register_handler = [](airlock::CallSession& session) {
        airlock::Status s = session.on(echo64, [](Payload64& request) { return Payload64{std::move(request.data)}; });
        if (!s.ok()) throw std::runtime_error(s.to_string());
    };
    auto request = std::make_shared<Payload64>();
    request->data.assign(64, 0x5a);
    bench.library_call = [request](airlock::CallSession& session) {
        airlock::Result<Payload64> reply = session.call(echo64, *request);
        if (!reply) throw std::runtime_error("echo64: " + reply.status().to_string());
        if (reply->data.size() != 64) throw std::runtime_error("echo64: short reply");
    };
    bench.raw_call = [](int fd) {
        unsigned char buffer[64];
        std::memset(buffer, 0x5a, sizeof buffer);
        write_all(fd, buffer, sizeof buffer);
        read_exact(fd, buffer, sizeof buffer);
    };
    bench.raw_answer = [](int fd) {
        unsigned char buffer[64];
        read_exact(fd, buffer, sizeof buffer);
        write_all(fd, buffer, sizeof buffer);
    };
    return bench;
}

RoundTrip fd_call_benchmark(int file) {
    RoundTrip bench;
    bench.name = "fd_call";
    bench.raw_name = "raw_fd";
    bench.register_handler = [](airlock::CallSession& session) {
        airlock::Status s = session.on(take_fd, [](FdRequest& request) {
            airlock::UniqueFd owned = std::move(request.fd);
            if (!owned) throw std::runtime_error("no descriptor arrived");
            owned.reset();
            return FdReply{1};
        });
        if (!s.ok()) throw std::runtime_error(s.to_string());
    };
    bench.library_call = [file](airlock::CallSession& session) {
        FdRequest request;
        request.fd = airlock::UniqueFd(::fcntl(file, F_DUPFD_CLOEXEC, 3));
        if (!request.fd) throw_errno("dup");
        airlock::Result<FdReply> reply = session.call(take_fd, request);
        if (!reply) throw std::runtime_error("take_fd: " + reply.status().to_string());
    };
    bench.raw_call = [file](int fd) {
        int copy = ::fcntl(file, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) throw_errno("dup");
        std::uint32_t index = 0;
        iovec part{&index, sizeof index};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr header{};
        header.msg_iov = &part;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &copy, sizeof copy);
        if (::sendmsg(fd, &header, MSG_NOSIGNAL) != sizeof index) throw_errno("raw sendmsg");
        ::close(copy);
        std::uint32_t reply = 0;
        read_exact(fd, &reply, sizeof reply);
    };
    bench.raw_answer = [](int fd) {
        std::uint32_t index = 0;
        iovec part{&index, sizeof index};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr header{};
        header.msg_iov = &part;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        if (::recvmsg(fd, &header, MSG_CMSG_CLOEXEC) != sizeof index) throw_errno("raw recvmsg");
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || (header.msg_flags & MSG_CTRUNC))
            throw std::runtime_error("raw recvmsg: no descriptor arrived");
        int received;
        std::memcpy(&received, CMSG_DATA(cmsg), sizeof received);
        ::close(received);
        std::uint32_t reply = 1;
        write_all(fd, &reply, sizeof reply);
    };
    return bench;
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int cpu = choose_cpu();
        int peer_cpu = other_cpu(cpu);  // asked before pinning narrows the allowed set
        int rounds = env_int("AIRLOCK_BENCH_ROUNDS", 25);
        int calls = env_int("AIRLOCK_BENCH_CALLS", 2000);
        pin_to_cpu(cpu);
        note("round trips: both processes pinned to CPU " + std::to_string(cpu) + "; " + std::to_string(rounds) +
             " rounds (+1 warm-up) of " + std::to_string(calls) +
             " round trips per side, interleaved; medians of per-round values");
        run(call_benchmark(), cpu, rounds, calls);

        int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (file < 0) throw_errno("open /dev/null");
        run(fd_call_benchmark(file), cpu, rounds, calls);
        ::close(file);

        if (peer_cpu < 0) {
            note("cross-CPU round trips skipped: this process may use one CPU only");
        } else {
            int cross_calls = env_int("AIRLOCK_BENCH_CROSS_CALLS", 500);
            note("cross-CPU round trips: caller on CPU " + std::to_string(cpu) + ", server on CPU " +
                 std::to_string(peer_cpu) + "; " + std::to_string(rounds) + " rounds (+1 warm-up) of " +
                 std::to_string(cross_calls) + " round trips per side");
            run(call_benchmark(), peer_cpu, rounds, cross_calls, "_cross_cpu");
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "connection_rtt_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
