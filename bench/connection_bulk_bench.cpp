// Bulk throughput: 1 GiB sent as 64 messages of 16 MiB from one process to another, end to
// end (the time runs until the receiver holds all the bytes and has acknowledged them).
//
//   bulk_GBps        Connection::send of a borrowed 16 MiB body / Connection::receive
//                    (message level: no encoding, the receiver gets Message::body)
//   bulk_typed_GBps  16 MiB messages as a typed message, struct BulkChunk { Bytes<16 MiB> },
//                    via send_value / receive_value (includes encoding and decoding). Only
//                    256 MiB per round: each message costs two fresh 16 MiB buffers per side,
//                    and first-touch page faults make that path ~40x slower on these VMs.
//   raw_bulk_GBps    the same 1 GiB through a raw SOCK_SEQPACKET socketpair in datagrams of
//                    the same size, reassembled into one reused 16 MiB buffer
//
// Both connections use the maximum packet size (Connection::kMaxPacketSize, 212960 bytes per
// datagram including the 8-byte packet header); the raw baseline sends 212960-byte datagrams.
// Both processes are pinned to the same CPU (as for the round-trip benchmarks). Each round
// runs the three variants once (rotating order); medians of per-round values are reported.
// GBps means 10^9 bytes per second.
//
// Environment: AIRLOCK_BENCH_BULK_ROUNDS (default 5), AIRLOCK_BENCH_CPU.

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

constexpr std::size_t kTotalBytes = std::size_t(1) << 30;
constexpr std::size_t kMessages = kTotalBytes / kBulkMessageSize;
constexpr std::size_t kTypedBytes = std::size_t(256) << 20;
constexpr std::size_t kTypedMessages = kTypedBytes / kBulkMessageSize;
constexpr std::size_t kDatagramSize = airlock::Connection::kMaxPacketSize;

enum Side { kMessageLevel = 0, kTyped = 1, kRaw = 2 };
constexpr int kSides = 3;

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

void send_message_level(airlock::Connection& connection, const std::vector<std::uint8_t>& payload) {
    for (std::size_t m = 0; m < kMessages; ++m)
        check(connection.send(airlock::OutgoingMessage{bulk_chunk.tag, airlock::MessageKind::OneWay, 0, payload, {}}),
              "sending a chunk");
    airlock::Result<BulkDone> done = connection.receive_value<BulkDone>(bulk_done.tag);
    if (!done || done->bytes != kTotalBytes) throw std::runtime_error("bulk acknowledgement missing");
}

void send_typed(airlock::Connection& connection, const BulkChunk& chunk) {
    for (std::size_t m = 0; m < kTypedMessages; ++m) check(connection.send_value(bulk_chunk.tag, chunk), "sending a chunk");
    airlock::Result<BulkDone> done = connection.receive_value<BulkDone>(bulk_done.tag);
    if (!done || done->bytes != kTypedBytes) throw std::runtime_error("bulk acknowledgement missing");
}

void send_raw(int fd, const std::vector<std::uint8_t>& payload) {
    for (std::size_t m = 0; m < kMessages; ++m) {
        for (std::size_t offset = 0; offset < payload.size(); offset += kDatagramSize) {
            std::size_t size = std::min(kDatagramSize, payload.size() - offset);
            if (::send(fd, payload.data() + offset, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size))
                throw_errno("raw send");
        }
    }
    std::uint64_t acknowledged = 0;
    if (::read(fd, &acknowledged, sizeof acknowledged) != sizeof acknowledged || acknowledged != kTotalBytes)
        throw std::runtime_error("raw bulk acknowledgement missing");
}

// --- the receiving process -----------------------------------------------------------------

void receive_message_level(airlock::Connection& connection) {
    std::uint64_t bytes = 0;
    for (std::size_t m = 0; m < kMessages; ++m) {
        airlock::Result<airlock::Message> message = connection.receive();
        if (!message) throw std::runtime_error("receiving a chunk: " + message.status().to_string());
        check_payload(message->body.data(), message->body.size());
        bytes += message->body.size();
    }
    check(connection.send_value(bulk_done.tag, BulkDone{bytes}), "acknowledging");
}

void receive_typed(airlock::Connection& connection) {
    std::uint64_t bytes = 0;
    for (std::size_t m = 0; m < kTypedMessages; ++m) {
        airlock::Result<BulkChunk> chunk = connection.receive_value<BulkChunk>(bulk_chunk.tag);
        if (!chunk) throw std::runtime_error("receiving a chunk: " + chunk.status().to_string());
        check_payload(chunk->data.data(), chunk->data.size());
        bytes += chunk->data.size();
    }
    check(connection.send_value(bulk_done.tag, BulkDone{bytes}), "acknowledging");
}

void receive_raw(int fd, std::vector<std::uint8_t>& buffer) {
    std::uint64_t bytes = 0;
    for (std::size_t m = 0; m < kMessages; ++m) {
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

void run(int cpu, int rounds) {
    auto [library_here, library_there] = seqpacket_pair();
    auto [raw_here, raw_there] = seqpacket_pair();

    Child receiver(cpu, [&] {
        library_here.reset();
        raw_here.reset();
        airlock::Connection connection = established(std::move(library_there), airlock::Connection::kMaxPacketSize);
        std::vector<std::uint8_t> buffer(kBulkMessageSize);
        interleave(rounds, kSides, [&](int, int side) {
            if (side == kMessageLevel) receive_message_level(connection);
            else if (side == kTyped) receive_typed(connection);
            else receive_raw(raw_there.get(), buffer);
        });
    });
    library_there.reset();
    raw_there.reset();

    airlock::Connection connection = established(std::move(library_here), airlock::Connection::kMaxPacketSize);
    if (connection.packet_size() != kDatagramSize) throw std::runtime_error("the maximum packet size was not agreed");
    const std::vector<std::uint8_t> payload = make_payload();
    BulkChunk chunk;
    chunk.data = payload;

    double per_round[kSides] = {};
    std::vector<double> gbps[kSides], ratios, typed_ratios;
    interleave(rounds, kSides, [&](int round, int side) {
        Clock::time_point start = Clock::now();
        if (side == kMessageLevel) send_message_level(connection, payload);
        else if (side == kTyped) send_typed(connection, chunk);
        else send_raw(raw_here.get(), payload);
        per_round[side] = (side == kTyped ? kTypedBytes : kTotalBytes) / seconds_since(start) / 1e9;
        bool round_done = side == (round + kSides - 1) % kSides;  // the last segment of this round
        if (round > 0 && round_done) {
            for (int s = 0; s < kSides; ++s) gbps[s].push_back(per_round[s]);
            ratios.push_back(per_round[kMessageLevel] / per_round[kRaw]);
            typed_ratios.push_back(per_round[kTyped] / per_round[kRaw]);
        }
    });
    connection.close();
    receiver.join();

    print_result("bulk_GBps", median(gbps[kMessageLevel]), "GBps");
    print_result("raw_bulk_GBps", median(gbps[kRaw]), "GBps");
    print_result("bulk_ratio_vs_raw", median(ratios), "ratio");
    print_result("bulk_typed_GBps", median(gbps[kTyped]), "GBps");
    print_result("bulk_typed_ratio_vs_raw", median(typed_ratios), "ratio");
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int cpu = choose_cpu();
        const char* rounds_text = std::getenv("AIRLOCK_BENCH_BULK_ROUNDS");
        int rounds = rounds_text && *rounds_text ? std::max(1, std::atoi(rounds_text)) : 5;
        pin_to_cpu(cpu);
        note("bulk: 1 GiB as 64 x 16 MiB messages, packet size " + std::to_string(kDatagramSize) +
             " (Connection::kMaxPacketSize), both processes pinned to CPU " + std::to_string(cpu) + "; " +
             std::to_string(rounds) + " rounds (+1 warm-up), medians; typed variant 256 MiB per round");
        run(cpu, rounds);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "connection_bulk_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
