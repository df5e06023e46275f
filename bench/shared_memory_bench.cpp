// Bulk data host→plugin through shared memory, against plain messages and memcpy.
//
//   memcpy_GBps        1 GiB copied in-process, 16 MiB at a time, from a source buffer into a
//                      reused destination (the ceiling: what one copy of the data costs)
//   shared_ring_GBps   1 GiB host→reader through one reusable SharedRegion of 16 MiB: the
//                      writer copies each 16 MiB slice into its writable mapping and says so
//                      (offset, length); the reader, which holds only a read-only re-opened
//                      descriptor, sums every byte in place and acknowledges with the sum
//   sealed_GBps        the same 1 GiB through one-shot SealedBuffers: per 16 MiB slice the
//                      writer makes one with SealedBuffer::create_from (memfd, pwrite of the
//                      slice, seals) and sends the descriptor; the reader adopt_verified()s it
//                      (checks the seals and the announced size, maps it) and sums it
//   sealed_in_place_GBps  the same, filled in place: SealedBuffer::create, memcpy into
//                      writable(), seal() (zeroed pages, a writable mapping torn down to seal)
//   socket_bulk_GBps   the same 1 GiB as 16 MiB Connection messages (message level), the
//                      reader summing each received body
//   shared_ring_vs_memcpy, sealed_vs_memcpy, sealed_vs_socket  ratios of the medians
//
// Each transfer ends when the reader has acknowledged the last slice with the right sum (every
// sum is checked). Both processes are pinned to the same CPU, like the connection benchmarks,
// so every variant is serial: the writer's work plus the reader's. All five variants run in the
// same pair of processes, interleaved round by round (bench::interleave); medians are reported.
// GBps means 10^9 bytes per second.
//
// Environment: AIRLOCK_BENCH_SHM_ROUNDS (default 5), AIRLOCK_BENCH_CPU.

#include "support.hpp"

#include "airlock/connection/connection.hpp"
#include "airlock/connection/protocol.hpp"
#include "airlock/connection/shared_memory.hpp"
#include "airlock/connection/types.hpp"

#include <sys/socket.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t kSlice = std::size_t(16) << 20;
constexpr std::size_t kTotal = std::size_t(1) << 30;
constexpr std::size_t kSlices = kTotal / kSlice;

/// "Bytes [offset, offset + length) of the region (or of the descriptor sent along) are ready."
struct SliceReady {
    airlock::UniqueFd fd;  // the region once, or a sealed buffer per slice
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};
AIRLOCK_STRUCT(SliceReady, fd, offset, length)

struct SliceSum {
    std::uint64_t sum = 0;
};
AIRLOCK_STRUCT(SliceSum, sum)

/// The socket variant's body: 16 MiB of raw bytes (sent untyped, at message level).
struct SliceBytes {
    airlock::Bytes<kSlice> data;
};
AIRLOCK_STRUCT(SliceBytes, data)

inline constexpr airlock::Notification<SliceReady> region_handoff{1, "region_handoff"};
inline constexpr airlock::Notification<SliceReady> region_slice{2, "region_slice"};
inline constexpr airlock::Notification<SliceReady> sealed_slice{3, "sealed_slice"};
inline constexpr airlock::Notification<SliceBytes> socket_slice{4, "socket_slice"};
inline constexpr airlock::Notification<SliceSum> slice_sum{5, "slice_sum"};

const airlock::Protocol& protocol() {
    static const airlock::Protocol p = airlock::Protocol("airlock.bench.shm")
                                           .add(region_handoff)
                                           .add(region_slice)
                                           .add(sealed_slice)
                                           .add(socket_slice)
                                           .add(slice_sum);
    return p;
}

void check(const airlock::Status& status, const char* what) {
    if (!status.ok()) throw std::runtime_error(std::string(what) + ": " + status.to_string());
}

airlock::Connection established(airlock::UniqueFd socket) {
    airlock::Connection connection(protocol());
    check(connection.set_packet_size(airlock::Connection::kMaxPacketSize), "packet size");
    check(connection.set_fd(airlock::ConnectionMode::Pair, std::move(socket)), "set_fd");
    check(connection.establish(), "handshake");
    return connection;
}

std::pair<airlock::UniqueFd, airlock::UniqueFd> seqpacket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) throw_errno("socketpair");
    return {airlock::UniqueFd(fds[0]), airlock::UniqueFd(fds[1])};
}

/// The sum of all bytes (what the reader computes: it touches every byte once).
std::uint64_t sum_bytes(const std::uint8_t* data, std::size_t size) {
    std::uint64_t total = 0;
    std::size_t i = 0;
#if defined(__SSE2__)
    __m128i accumulator = _mm_setzero_si128();
    const __m128i zero = _mm_setzero_si128();
    for (; i + 64 <= size; i += 64) {
        const auto* p = reinterpret_cast<const __m128i*>(data + i);
        __m128i a = _mm_sad_epu8(_mm_loadu_si128(p), zero);
        __m128i b = _mm_sad_epu8(_mm_loadu_si128(p + 1), zero);
        __m128i c = _mm_sad_epu8(_mm_loadu_si128(p + 2), zero);
        __m128i d = _mm_sad_epu8(_mm_loadu_si128(p + 3), zero);
        accumulator = _mm_add_epi64(accumulator, _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d)));
    }
    std::uint64_t lanes[2];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes), accumulator);
    total = lanes[0] + lanes[1];
#endif
    for (; i < size; ++i) total += data[i];
    return total;
}

std::vector<std::uint8_t> make_source() {
    std::vector<std::uint8_t> bytes(kSlice);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 131 % 251);
    return bytes;
}

enum Side { kMemcpy = 0, kRing = 1, kSealed = 2, kSocket = 3, kSealedInPlace = 4, kSides = 5 };

// --- writer (the host) -----------------------------------------------------------------------

void wait_for_sum(airlock::Connection& connection, std::uint64_t expected) {
    airlock::Result<SliceSum> sum = connection.receive_value<SliceSum>(slice_sum.tag);
    if (!sum) throw std::runtime_error("acknowledgement: " + sum.status().to_string());
    if (sum->sum != expected) throw std::runtime_error("the reader's sum differs from the writer's");
}

void write_memcpy(const std::vector<std::uint8_t>& source, std::vector<std::uint8_t>& destination) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        std::memcpy(destination.data(), source.data(), kSlice);
        asm volatile("" : : "r"(destination.data()) : "memory");  // keep the copy
    }
}

void write_ring(airlock::Connection& connection, airlock::SharedRegion& region, const std::vector<std::uint8_t>& source,
                std::uint64_t expected) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        std::memcpy(region.writable().data(), source.data(), kSlice);
        check(connection.send_value(region_slice.tag, SliceReady{airlock::UniqueFd(), 0, kSlice}), "announcing a slice");
        wait_for_sum(connection, expected);  // the slice is consumed: the region may be reused
    }
}

airlock::SealedBuffer sealed_copy(const std::vector<std::uint8_t>& source, bool in_place) {
    if (!in_place) {
        airlock::Result<airlock::SealedBuffer> buffer = airlock::SealedBuffer::create_from(source, "bench-slice");
        if (!buffer) throw std::runtime_error(buffer.status().to_string());
        return std::move(*buffer);
    }
    airlock::Result<airlock::SealedBuffer> buffer = airlock::SealedBuffer::create(kSlice, "bench-slice");
    if (!buffer) throw std::runtime_error(buffer.status().to_string());
    std::memcpy(buffer->writable().data(), source.data(), kSlice);
    check(buffer->seal(), "sealing");
    return std::move(*buffer);
}

void write_sealed(airlock::Connection& connection, const std::vector<std::uint8_t>& source, std::uint64_t expected,
                  bool in_place) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        airlock::SealedBuffer buffer = sealed_copy(source, in_place);
        airlock::Result<airlock::UniqueFd> fd = buffer.share();
        if (!fd) throw std::runtime_error(fd.status().to_string());
        check(connection.send_value(sealed_slice.tag, SliceReady{std::move(*fd), 0, kSlice}), "sending a sealed slice");
        wait_for_sum(connection, expected);
    }
}

void write_socket(airlock::Connection& connection, const std::vector<std::uint8_t>& source, std::uint64_t expected) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        check(connection.send(airlock::OutgoingMessage{socket_slice.tag, airlock::MessageKind::OneWay, 0, source, {}}),
              "sending a slice");
        wait_for_sum(connection, expected);
    }
}

// --- reader (the plugin) ---------------------------------------------------------------------

SliceReady next_slice(airlock::Connection& connection, std::uint16_t tag) {
    airlock::Result<SliceReady> slice = connection.receive_value<SliceReady>(tag);
    if (!slice) throw std::runtime_error("receiving a slice: " + slice.status().to_string());
    return std::move(*slice);
}

void read_ring(airlock::Connection& connection, const airlock::SharedRegion& region) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        SliceReady slice = next_slice(connection, region_slice.tag);
        if (slice.offset + slice.length > region.size()) throw std::runtime_error("slice outside the region");
        std::uint64_t sum = sum_bytes(region.bytes().data() + slice.offset, slice.length);
        check(connection.send_value(slice_sum.tag, SliceSum{sum}), "acknowledging");
    }
}

void read_sealed(airlock::Connection& connection) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        SliceReady slice = next_slice(connection, sealed_slice.tag);
        airlock::Result<airlock::SealedBuffer> buffer = airlock::SealedBuffer::adopt_verified(std::move(slice.fd), kSlice);
        if (!buffer) throw std::runtime_error(buffer.status().to_string());
        if (buffer->size() != slice.length) throw std::runtime_error("the sealed buffer's size differs from the announced one");
        std::uint64_t sum = sum_bytes(buffer->bytes().data(), buffer->size());
        check(connection.send_value(slice_sum.tag, SliceSum{sum}), "acknowledging");
    }
}

void read_socket(airlock::Connection& connection) {
    for (std::size_t s = 0; s < kSlices; ++s) {
        airlock::Result<airlock::Message> message = connection.receive();
        if (!message) throw std::runtime_error("receiving a slice: " + message.status().to_string());
        std::uint64_t sum = sum_bytes(message->body.data(), message->body.size());
        check(connection.send_value(slice_sum.tag, SliceSum{sum}), "acknowledging");
    }
}

void run(int cpu, int rounds) {
    auto [here, there] = seqpacket_pair();
    Child reader(cpu, [&] {
        here.reset();
        airlock::Connection connection = established(std::move(there));
        SliceReady handoff = next_slice(connection, region_handoff.tag);
        airlock::Result<airlock::SharedRegion> region = airlock::SharedRegion::map_read_only(std::move(handoff.fd));
        if (!region) throw std::runtime_error(region.status().to_string());
        interleave(rounds, kSides, [&](int, int side) {
            if (side == kRing) read_ring(connection, *region);
            else if (side == kSealed || side == kSealedInPlace) read_sealed(connection);
            else if (side == kSocket) read_socket(connection);
        });
    });
    there.reset();

    airlock::Connection connection = established(std::move(here));
    const std::vector<std::uint8_t> source = make_source();
    const std::uint64_t expected = sum_bytes(source.data(), source.size());
    std::vector<std::uint8_t> destination(kSlice, 1);
    airlock::Result<airlock::SharedRegion> region = airlock::SharedRegion::create(kSlice, "bench-ring");
    if (!region) throw std::runtime_error(region.status().to_string());
    airlock::Result<airlock::UniqueFd> reader_fd = region->read_only_fd();
    if (!reader_fd) throw std::runtime_error(reader_fd.status().to_string());
    check(connection.send_value(region_handoff.tag, SliceReady{std::move(*reader_fd), 0, kSlice}), "handing over the region");

    std::vector<double> gbps[kSides];
    interleave(rounds, kSides, [&](int round, int side) {
        Clock::time_point start = Clock::now();
        switch (side) {
        case kMemcpy: write_memcpy(source, destination); break;
        case kRing: write_ring(connection, *region, source, expected); break;
        case kSealed: write_sealed(connection, source, expected, false); break;
        case kSealedInPlace: write_sealed(connection, source, expected, true); break;
        case kSocket: write_socket(connection, source, expected); break;
        }
        double value = static_cast<double>(kTotal) / seconds_since(start) / 1e9;
        if (round > 0) gbps[side].push_back(value);
    });
    connection.close();
    reader.join();

    double memcpy_gbps = median(gbps[kMemcpy]);
    double ring_gbps = median(gbps[kRing]);
    print_result("memcpy_GBps", memcpy_gbps, "GBps");
    print_result("shared_ring_GBps", ring_gbps, "GBps");
    double sealed_gbps = median(gbps[kSealed]);
    double socket_gbps = median(gbps[kSocket]);
    print_result("sealed_GBps", sealed_gbps, "GBps");
    print_result("sealed_in_place_GBps", median(gbps[kSealedInPlace]), "GBps");
    print_result("socket_bulk_GBps", socket_gbps, "GBps");
    print_result("shared_ring_vs_memcpy", memcpy_gbps > 0 ? ring_gbps / memcpy_gbps : 0, "ratio");
    print_result("sealed_vs_memcpy", memcpy_gbps > 0 ? sealed_gbps / memcpy_gbps : 0, "ratio");
    print_result("sealed_vs_socket", socket_gbps > 0 ? sealed_gbps / socket_gbps : 0, "ratio");
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int cpu = choose_cpu();
        int rounds = env_int("AIRLOCK_BENCH_SHM_ROUNDS", 5);
        pin_to_cpu(cpu);
        note("shared memory: 1 GiB host->reader in 16 MiB slices, the reader summing every byte; both processes "
             "pinned to CPU " + std::to_string(cpu) + "; " + std::to_string(rounds) +
             " rounds (+1 warm-up) of memcpy / reusable read-only region / sealed one-shot buffers (pwrite-filled, "
             "filled in place) / socket messages, "
             "interleaved, medians");
        run(cpu, rounds);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "shared_memory_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
