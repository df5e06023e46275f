// Bulk throughput: 1 GiB sent as 64 messages of 16 MiB from one process to another, end to
// end (the time runs until the receiver holds all the bytes and has acknowledged them).
//
//   bulk_GBps        Connection::send of a borrowed 16 MiB body / Connection::receive
//                    (message level: no encoding, the receiver gets Message::body)
//   raw_bulk_GBps    the same 1 GiB through a raw SOCK_SEQPACKET socketpair in datagrams of
//                    the same size, reassembled into one reused 16 MiB buffer
//   bulk_typed_GBps  16 MiB messages as a typed message, struct BulkChunk { Bytes<16 MiB> },
//                    sent with send_value (the 16 MiB member goes out in place, no encode
//                    copy) and received with receive_viewed<BulkChunkView> (the same wire
//                    type with a BytesView member pointing into the received body, no decode
//                    copy), in a separate pass against its own raw baseline
//                    (raw_bulk_256MiB_GBps), 256 MiB per side and round.
//
// Both connections use the maximum packet size (Connection::kMaxPacketSize, 212960 bytes per
// datagram including the 8-byte packet header); the raw baseline sends 212960-byte datagrams.
// Both processes are pinned to the same CPU (as for the round-trip benchmarks). Each pass runs
// in its own pair of processes; its rounds run the library and the raw side once each
// (alternating which goes first); medians of per-round values are reported.
// GBps means 10^9 bytes per second.
//
// Environment: AIRLOCK_BENCH_BULK_ROUNDS (default 5), AIRLOCK_BENCH_TYPED_ROUNDS (default 3),
// AIRLOCK_BENCH_CPU.

#include "bench_protocol.hpp"
#include "support.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t kDatagramSize = airlock::Connection::kMaxPacketSize;

/// What the library side of a pass sends.
enum class Variant { MessageLevel, Typed };

std::uint8_t pattern(std::size_t i) { return static_cast<std::uint8_t>(i * 131 % 251); }

std::vector<std::uint8_t> make_payload() {
    std::vector<std::uint8_t> bytes(kBulkMessageSize);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i);
    return bytes;
}

/// Cheap end-to-end check that the receiver holds the right bytes (first, middle, last).
void check_payload(const std::uint8_t* data, std::size_t size) {
    if (size != kBulkMessageSize) throw std::runtime_error("received " + std::to_string(size) + " bytes, expected 16 MiB");
    for (std::size_t i : {std::size_t(0), size / 2 + 7, size - 1})
        if (data[i] != pattern(i)) throw std::runtime_error("received bytes differ at offset " + std::to_string(i));
}

void check(const airlock::Status& status, const char* what) {
    if (!status.ok()) throw std::runtime_error(std::string(what) + ": " + status.to_string());
}

// --- the sending process -------------------------------------------------------------------

void wait_for_acknowledgement(airlock::Connection& connection, std::size_t messages) {
    airlock::Result<BulkDone> done = connection.receive_value<BulkDone>(bulk_done.tag);
    if (!done) throw std::runtime_error("bulk acknowledgement: " + done.status().to_string());
    if (done->bytes != messages * kBulkMessageSize) throw std::runtime_error("bulk acknowledgement: wrong byte count");
}

void send_message_level(airlock::Connection& connection, const std::vector<std::uint8_t>& payload, std::size_t messages) {
    for (std::size_t m = 0; m < messages; ++m)
        check(connection.send(airlock::OutgoingMessage{bulk_chunk.tag, airlock::MessageKind::OneWay, 0, payload, {}}),
              "sending a chunk");
    wait_for_acknowledgement(connection, messages);
}

void send_typed(airlock::Connection& connection, const BulkChunk& chunk, std::size_t messages) {
    for (std::size_t m = 0; m < messages; ++m) check(connection.send_value(bulk_chunk.tag, chunk), "sending a chunk");
    wait_for_acknowledgement(connection, messages);
}

void send_raw(int fd, const std::vector<std::uint8_t>& payload, std::size_t messages) {
    for (std::size_t m = 0; m < messages; ++m) {
        for (std::size_t offset = 0; offset < payload.size(); offset += kDatagramSize) {
            std::size_t size = std::min(kDatagramSize, payload.size() - offset);
            if (::send(fd, payload.data() + offset, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size))
                throw_errno("raw send");
        }
    }
    std::uint64_t acknowledged = 0;
    if (::read(fd, &acknowledged, sizeof acknowledged) != sizeof acknowledged || acknowledged != messages * kBulkMessageSize)
        throw std::runtime_error("raw bulk acknowledgement missing");
}

// --- the receiving process -----------------------------------------------------------------

void receive_message_level(airlock::Connection& connection, std::size_t messages) {
    std::uint64_t bytes = 0;
    for (std::size_t m = 0; m < messages; ++m) {
        airlock::Result<airlock::Message> message = connection.receive();
        if (!message) throw std::runtime_error("receiving a chunk: " + message.status().to_string());
        check_payload(message->body.data(), message->body.size());
        bytes += message->body.size();
    }
    check(connection.send_value(bulk_done.tag, BulkDone{bytes}), "acknowledging");
}

void receive_typed(airlock::Connection& connection, std::size_t messages) {
    std::uint64_t bytes = 0;
    for (std::size_t m = 0; m < messages; ++m) {
        airlock::Result<airlock::Received<BulkChunkView>> chunk = connection.receive_viewed<BulkChunkView>(bulk_chunk.tag);
        if (!chunk) throw std::runtime_error("receiving a chunk: " + chunk.status().to_string());
        check_payload((*chunk)->data.data(), (*chunk)->data.size());
        bytes += (*chunk)->data.size();
    }
    check(connection.send_value(bulk_done.tag, BulkDone{bytes}), "acknowledging");
}

void receive_raw(int fd, std::vector<std::uint8_t>& buffer, std::size_t messages) {
    std::uint64_t bytes = 0;
    for (std::size_t m = 0; m < messages; ++m) {
        for (std::size_t offset = 0; offset < buffer.size();) {
            std::size_t room = std::min(kDatagramSize, buffer.size() - offset);
            ssize_t n = ::recv(fd, buffer.data() + offset, room, 0);
            if (n <= 0) throw_errno("raw recv");
            offset += static_cast<std::size_t>(n);
        }
        check_payload(buffer.data(), buffer.size());
        bytes += buffer.size();
    }
    if (::write(fd, &bytes, sizeof bytes) != sizeof bytes) throw_errno("raw acknowledgement");
}

struct PassResult {
    double library_gbps = 0;
    double raw_gbps = 0;
    double ratio = 0;
};

/// One interleaved pass: `bytes` through the library (`variant`) and through the raw socket,
/// alternating, in a fresh pair of processes (so one variant's heap state cannot affect another).
PassResult run_pass(Variant variant, std::size_t bytes, int cpu, int rounds) {
    enum Side { kLibrary = 0, kRaw = 1 };
    const std::size_t messages = bytes / kBulkMessageSize;
    auto [library_here, library_there] = seqpacket_pair();
    auto [raw_here, raw_there] = seqpacket_pair();

    Child receiver(cpu, [&] {
        library_here.reset();
        raw_here.reset();
        airlock::Connection connection = established(std::move(library_there), airlock::Connection::kMaxPacketSize);
        std::vector<std::uint8_t> buffer(kBulkMessageSize);
        interleave(rounds, 2, [&](int, int side) {
            if (side == kRaw) receive_raw(raw_there.get(), buffer, messages);
            else if (variant == Variant::MessageLevel) receive_message_level(connection, messages);
            else receive_typed(connection, messages);
        });
    });
    library_there.reset();
    raw_there.reset();

    airlock::Connection connection = established(std::move(library_here), airlock::Connection::kMaxPacketSize);
    if (connection.packet_size() != kDatagramSize) throw std::runtime_error("the maximum packet size was not agreed");
    const std::vector<std::uint8_t> payload = make_payload();
    BulkChunk chunk;
    if (variant == Variant::Typed) chunk.data = payload;

    double per_round[2] = {};
    std::vector<double> library_gbps, raw_gbps, ratios;
    interleave(rounds, 2, [&](int round, int side) {
        Clock::time_point start = Clock::now();
        if (side == kRaw) send_raw(raw_here.get(), payload, messages);
        else if (variant == Variant::MessageLevel) send_message_level(connection, payload, messages);
        else send_typed(connection, chunk, messages);
        per_round[side] = static_cast<double>(bytes) / seconds_since(start) / 1e9;
        bool round_done = side != round % 2;  // the second segment of this round
        if (round > 0 && round_done) {
            library_gbps.push_back(per_round[kLibrary]);
            raw_gbps.push_back(per_round[kRaw]);
            ratios.push_back(per_round[kLibrary] / per_round[kRaw]);
        }
    });
    connection.close();
    receiver.join();
    return {median(library_gbps), median(raw_gbps), median(ratios)};
}

void run(int cpu, int rounds, int typed_rounds) {
    PassResult bulk = run_pass(Variant::MessageLevel, std::size_t(1) << 30, cpu, rounds);
    print_result("bulk_GBps", bulk.library_gbps, "GBps");
    print_result("raw_bulk_GBps", bulk.raw_gbps, "GBps");
    print_result("bulk_ratio_vs_raw", bulk.ratio, "ratio");

    PassResult typed = run_pass(Variant::Typed, std::size_t(256) << 20, cpu, typed_rounds);
    print_result("bulk_typed_GBps", typed.library_gbps, "GBps");
    print_result("raw_bulk_256MiB_GBps", typed.raw_gbps, "GBps");
    print_result("bulk_typed_ratio_vs_raw", typed.ratio, "ratio");
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int cpu = choose_cpu();
        int rounds = env_int("AIRLOCK_BENCH_BULK_ROUNDS", 5);
        int typed_rounds = env_int("AIRLOCK_BENCH_TYPED_ROUNDS", 3);
        pin_to_cpu(cpu);
        note("bulk: 1 GiB as 64 x 16 MiB messages, packet size " + std::to_string(kDatagramSize) +
             " (Connection::kMaxPacketSize), both processes pinned to CPU " + std::to_string(cpu) + "; " +
             std::to_string(rounds) + " rounds (+1 warm-up) against raw, medians; typed: 256 MiB per side, " +
             std::to_string(typed_rounds) + " rounds (+1 warm-up)");
        run(cpu, rounds, typed_rounds);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "connection_bulk_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
