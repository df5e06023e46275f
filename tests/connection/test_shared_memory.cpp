// Shared memory for bulk data: sealed one-shot buffers and reusable read-only regions, passed
// between real processes over a Connection.
#include "test_support.hpp"

#include "airlock/connection/shared_memory.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

using airlock::SealedBuffer;
using airlock::SharedRegion;
using airlock::StatusCode;
using airlock::UniqueFd;

namespace shm_test {

struct Handoff {
    airlock::UniqueFd fd;
    std::uint64_t size = 0;
    std::uint32_t step = 0;
};
AIRLOCK_STRUCT(Handoff, fd, size, step)

struct Answer {
    std::uint64_t checksum = 0;
    std::int32_t code = 0;  // a StatusCode, or an errno, depending on the step
    airlock::String<512> message;
};
AIRLOCK_STRUCT(Answer, checksum, code, message)

inline constexpr airlock::Notification<Handoff> handoff{1, "handoff"};
inline constexpr airlock::Notification<Answer> answer{2, "answer"};

const airlock::Protocol& protocol() {
    static const airlock::Protocol p = airlock::Protocol("airlock.test.shm").add(handoff).add(answer);
    return p;
}

airlock::Connection established(UniqueFd fd) {
    airlock::Connection connection(protocol());
    if (auto s = connection.set_fd(airlock::ConnectionMode::Pair, std::move(fd)); !s.ok())
        throw std::runtime_error(s.to_string());
    connection.set_timeout(std::chrono::milliseconds(20000));
    if (auto s = connection.establish(); !s.ok()) throw std::runtime_error(s.to_string());
    return connection;
}

std::uint8_t pattern(std::size_t i, std::uint32_t seed = 0) { return static_cast<std::uint8_t>((i * 131 + seed) % 251); }

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes) {
    std::uint64_t hash = 1469598103934665603ull;
    for (std::uint8_t b : bytes) hash = (hash ^ b) * 1099511628211ull;
    return hash;
}

void fill(std::span<std::uint8_t> bytes, std::uint32_t seed = 0) {
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern(i, seed);
}

/// Sends `fd` (may be invalid) to the peer and returns its answer.
Answer exchange(airlock::Connection& connection, UniqueFd fd, std::uint64_t size, std::uint32_t step) {
    Handoff message{std::move(fd), size, step};
    if (auto s = connection.send_value(handoff.tag, message); !s.ok()) throw std::runtime_error(s.to_string());
    auto reply = connection.receive_value<Answer>(answer.tag);
    if (!reply) throw std::runtime_error(reply.status().to_string());
    return std::move(*reply);
}

void reply(airlock::Connection& connection, std::uint64_t checksum, int code, std::string message = {}) {
    if (message.size() > 512) message.resize(512);
    if (auto s = connection.send_value(answer.tag, Answer{checksum, code, std::move(message)}); !s.ok())
        throw std::runtime_error(s.to_string());
}

Handoff next(airlock::Connection& connection) {
    auto message = connection.receive_value<Handoff>(handoff.tag);
    if (!message) throw std::runtime_error(message.status().to_string());
    return std::move(*message);
}

/// errno of a call that is expected to fail (0 when it succeeded).
int failure_errno(int result) { return result == -1 ? errno : 0; }

} // namespace shm_test

using namespace shm_test;

TEST_CASE("shared memory, sealed buffer: filled, sealed, sent and verified by another process", "[shared-memory][sealed]") {
    const std::size_t size = (3u << 20) + 12345;  // not a page multiple
    auto buffer = SealedBuffer::create(size);
    REQUIRE(buffer.ok());
    REQUIRE(buffer->writable().size() == size);
    fill(buffer->writable());
    const std::uint64_t expected = fnv1a(buffer->bytes());
    REQUIRE(buffer->seal().ok());
    CHECK(buffer->sealed());
    CHECK(buffer->writable().empty());
    CHECK(fnv1a(buffer->bytes()) == expected);  // mapped again, read-only, same bytes
    CHECK(buffer->seal().code() == StatusCode::InvalidState);

    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        airlock::Connection connection = established(std::move(fd));
        Handoff message = next(connection);
        auto received = SealedBuffer::adopt_verified(std::move(message.fd));
        if (!received) {
            reply(connection, 0, static_cast<int>(received.status().code()), received.status().message());
            return 1;
        }
        if (received->size() != message.size) return 2;
        // The receiver cannot change the bytes either, through any path.
        int fd2 = received->fd();
        std::uint8_t byte = 0;
        if (failure_errno(static_cast<int>(::pwrite(fd2, &byte, 1, 0))) != EPERM) return 3;
        void* writable = ::mmap(nullptr, message.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
        if (writable != MAP_FAILED || errno != EPERM) return 4;
        reply(connection, fnv1a(received->bytes()), 0);
        return 0;
    });
    airlock::Connection connection = established(std::move(ends.first));
    auto shared = buffer->share();
    REQUIRE(shared.ok());
    Answer result = exchange(connection, std::move(*shared), size, 0);
    INFO(result.message);
    CHECK(result.code == 0);
    CHECK(result.checksum == expected);
    CHECK(peer.wait() == 0);
}

TEST_CASE("shared memory, sealed buffer: a receiver refuses an unsealed or partly sealed buffer, or a non-memfd", "[shared-memory][sealed]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        airlock::Connection connection = established(std::move(fd));
        for (int i = 0; i < 4; ++i) {
            Handoff message = next(connection);
            auto received = SealedBuffer::adopt_verified(std::move(message.fd));
            if (received) reply(connection, fnv1a(received->bytes()), 0, "accepted");
            else reply(connection, 0, static_cast<int>(received.status().code()), received.status().message());
        }
        return 0;
    });
    airlock::Connection connection = established(std::move(ends.first));

    // 1. never sealed: the sender keeps a writable mapping and could change the bytes later.
    auto unsealed = SealedBuffer::create(4096);
    REQUIRE(unsealed.ok());
    fill(unsealed->writable());
    CHECK(unsealed->share().status().code() == StatusCode::InvalidState);  // the API will not send it
    Answer a = exchange(connection, UniqueFd(::fcntl(unsealed->fd(), F_DUPFD_CLOEXEC, 3)), 4096, 1);
    CHECK(a.code == static_cast<int>(StatusCode::PermissionDenied));
    CHECK_THAT(std::string(a.message), Catch::Contains("not sealed") && Catch::Contains("missing F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE"));

    // 2. sealed against resizing but not against writes.
    auto partly = SealedBuffer::create(4096);
    REQUIRE(partly.ok());
    REQUIRE(::fcntl(partly->fd(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    Answer b = exchange(connection, UniqueFd(::fcntl(partly->fd(), F_DUPFD_CLOEXEC, 3)), 4096, 2);
    CHECK(b.code == static_cast<int>(StatusCode::PermissionDenied));
    CHECK_THAT(std::string(b.message), Catch::Contains("missing F_SEAL_WRITE"));

    // 3. a memfd created without MFD_ALLOW_SEALING reports only F_SEAL_SEAL: refused too.
    UniqueFd plain(::memfd_create("plain", MFD_CLOEXEC));
    REQUIRE(plain);
    REQUIRE(::ftruncate(plain.get(), 4096) == 0);
    Answer c = exchange(connection, std::move(plain), 4096, 3);
    CHECK(c.code == static_cast<int>(StatusCode::PermissionDenied));

    // 4. not a memfd at all.
    Answer d = exchange(connection, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)), 0, 4);
    CHECK(d.code == static_cast<int>(StatusCode::InvalidParameter));
    CHECK_THAT(std::string(d.message), Catch::Contains("not a memfd"));
    CHECK(peer.wait() == 0);
}

TEST_CASE("shared memory, sealed buffer: truncating, growing, writing and re-sealing are refused", "[shared-memory][sealed]") {
    auto buffer = SealedBuffer::create(64 * 1024);
    REQUIRE(buffer.ok());
    fill(buffer->writable());
    REQUIRE(buffer->seal().ok());
    auto shared = buffer->share();
    REQUIRE(shared.ok());
    const int fd = shared->get();
    // In another process holding only the received descriptor (as a hostile peer would).
    test::ForkedPeer peer([fd] {
        if (failure_errno(::ftruncate(fd, 0)) != EPERM) return 1;          // shrink
        if (failure_errno(::ftruncate(fd, 1 << 20)) != EPERM) return 2;    // grow
        if (failure_errno(::fallocate(fd, 0, 0, 1 << 20)) != EPERM) return 3;
        std::uint8_t byte = 1;
        if (failure_errno(static_cast<int>(::pwrite(fd, &byte, 1, 0))) != EPERM) return 4;
        if (failure_errno(::fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)) != EPERM) return 5;  // F_SEAL_SEAL
        struct stat info {};
        if (::fstat(fd, &info) != 0 || info.st_size != 64 * 1024) return 6;
        return 0;
    });
    CHECK(peer.wait() == 0);
    CHECK(buffer->bytes().size() == 64 * 1024);
    CHECK(buffer->bytes()[100] == pattern(100));
}

TEST_CASE("shared memory, sealed buffer: sealing is refused while another writable mapping exists, and can be retried", "[shared-memory][sealed]") {
    auto buffer = SealedBuffer::create(8192);
    REQUIRE(buffer.ok());
    void* extra = ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, buffer->fd(), 0);
    REQUIRE(extra != MAP_FAILED);
    airlock::Status s = buffer->seal();
    CHECK(s.code() == StatusCode::SystemError);
    CHECK_THAT(s.message(), Catch::Contains("F_ADD_SEALS"));
    CHECK_FALSE(buffer->sealed());
    CHECK(buffer->writable().size() == 8192);  // still usable
    ::munmap(extra, 8192);
    CHECK(buffer->seal().ok());
}

TEST_CASE("shared memory, sealed buffer: create_from makes a sealed copy that another process verifies and cannot change",
          "[shared-memory][sealed]") {
    std::vector<std::uint8_t> source((2u << 20) + 777);  // not a page multiple
    fill(source, 5);
    const std::uint64_t expected = fnv1a(source);
    auto buffer = SealedBuffer::create_from(source);
    REQUIRE(buffer.ok());
    CHECK(buffer->sealed());
    CHECK(buffer->writable().empty());
    CHECK(buffer->size() == source.size());
    CHECK(fnv1a(buffer->bytes()) == expected);
    CHECK(buffer->seal().code() == StatusCode::InvalidState);
    // The seals a receiver requires, and no way to write through the sender's descriptor.
    CHECK((::fcntl(buffer->fd(), F_GET_SEALS) & airlock::kRequiredSeals) == airlock::kRequiredSeals);
    std::uint8_t byte = 1;
    CHECK(failure_errno(static_cast<int>(::pwrite(buffer->fd(), &byte, 1, 0))) == EPERM);
    CHECK(failure_errno(::ftruncate(buffer->fd(), 1)) == EPERM);

    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        airlock::Connection connection = established(std::move(fd));
        Handoff message = next(connection);
        auto received = SealedBuffer::adopt_verified(std::move(message.fd), message.size);
        if (!received) {
            reply(connection, 0, static_cast<int>(received.status().code()), received.status().message());
            return 1;
        }
        if (received->size() != message.size) return 2;
        reply(connection, fnv1a(received->bytes()), 0);
        return 0;
    });
    airlock::Connection connection = established(std::move(ends.first));
    auto shared = buffer->share();
    REQUIRE(shared.ok());
    Answer result = exchange(connection, std::move(*shared), source.size(), 0);
    INFO(result.message);
    CHECK(result.code == 0);
    CHECK(result.checksum == expected);
    CHECK(peer.wait() == 0);

    auto empty = SealedBuffer::create_from({});
    REQUIRE(empty.ok());
    CHECK(empty->bytes().empty());
    CHECK(SealedBuffer::adopt_verified(std::move(*empty->share())).ok());
}

TEST_CASE("shared memory, sealed buffer: size 0 and receive-side size limit", "[shared-memory][sealed]") {
    auto empty = SealedBuffer::create(0);
    REQUIRE(empty.ok());
    REQUIRE(empty->seal().ok());
    auto shared = empty->share();
    REQUIRE(shared.ok());
    auto adopted = SealedBuffer::adopt_verified(std::move(*shared));
    REQUIRE(adopted.ok());
    CHECK(adopted->bytes().empty());

    auto big = SealedBuffer::create(1 << 20);
    REQUIRE(big.ok());
    REQUIRE(big->seal().ok());
    auto limited = SealedBuffer::adopt_verified(std::move(*big->share()), 4096);
    CHECK(limited.status().code() == StatusCode::TooLarge);
}

TEST_CASE("shared memory, region: the reader sees every update but can never write or map it writable", "[shared-memory][region]") {
    const std::size_t size = 1 << 20;
    auto region = SharedRegion::create(size);
    REQUIRE(region.ok());
    CHECK(region->is_writer());

    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [size](UniqueFd fd) {
        airlock::Connection connection = established(std::move(fd));
        Handoff first = next(connection);
        const int raw = first.fd.get();
        auto mapped = SharedRegion::map_read_only(std::move(first.fd));
        if (!mapped) {
            reply(connection, 0, -1, mapped.status().to_string());
            return 1;
        }
        if (mapped->size() != size || mapped->is_writer() || !mapped->writable().empty()) return 2;
        reply(connection, fnv1a(mapped->bytes()), 0);

        // Every way of writing through the reader's descriptor or mapping fails.
        std::string failures;
        void* w = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, raw, 0);
        if (w != MAP_FAILED || errno != EACCES) failures += "mmap(PROT_WRITE, MAP_SHARED) was not EACCES; ";
        std::uint8_t byte = 7;
        if (failure_errno(static_cast<int>(::pwrite(raw, &byte, 1, 0))) != EBADF) failures += "pwrite was not EBADF; ";
        if (failure_errno(::ftruncate(raw, 0)) == 0) failures += "ftruncate succeeded; ";
        if (failure_errno(::mprotect(const_cast<std::uint8_t*>(mapped->bytes().data()), 4096, PROT_READ | PROT_WRITE)) != EACCES)
            failures += "mprotect(PROT_WRITE) was not EACCES; ";
        // Even a read-write re-open (if /proc is reachable) cannot write: F_SEAL_FUTURE_WRITE.
        std::string path = "/proc/self/fd/" + std::to_string(raw);
        UniqueFd reopened(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (reopened) {
            void* w2 = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, reopened.get(), 0);
            if (w2 != MAP_FAILED || errno != EPERM) failures += "mmap of a read-write re-open was not EPERM; ";
            if (failure_errno(static_cast<int>(::pwrite(reopened.get(), &byte, 1, 0))) != EPERM)
                failures += "pwrite through a read-write re-open was not EPERM; ";
            if (failure_errno(::ftruncate(reopened.get(), 0)) != EPERM) failures += "ftruncate of a re-open was not EPERM; ";
        }
        // A private writable mapping is allowed, but its writes never reach the writer.
        void* cow = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, raw, 0);
        if (cow != MAP_FAILED) static_cast<std::uint8_t*>(cow)[0] = 0xEE;
        reply(connection, 0, failures.empty() ? 0 : 1, failures);

        // Reuse: the writer rewrites the region; the reader sees the new bytes in place.
        (void)next(connection);
        reply(connection, fnv1a(mapped->bytes()), 0);
        return 0;
    });
    airlock::Connection connection = established(std::move(ends.first));

    fill(region->writable(), 1);
    auto reader_fd = region->read_only_fd();
    REQUIRE(reader_fd.ok());
    CHECK((::fcntl(reader_fd->get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
    Answer first = exchange(connection, std::move(*reader_fd), size, 1);
    INFO(first.message);
    REQUIRE(first.code == 0);
    CHECK(first.checksum == fnv1a(region->bytes()));

    auto attempts = connection.receive_value<Answer>(answer.tag);
    REQUIRE(attempts.ok());
    INFO(std::string(attempts->message));
    CHECK(attempts->code == 0);
    CHECK(region->bytes()[0] == pattern(0, 1));  // the reader's private copy-on-write stayed private

    fill(region->writable(), 2);
    Answer second = exchange(connection, UniqueFd(), size, 2);
    CHECK(second.checksum == fnv1a(region->bytes()));
    CHECK(peer.wait() == 0);
}

TEST_CASE("shared memory, region: map_read_only refuses a writable descriptor, and the writer cannot be resized", "[shared-memory][region]") {
    auto region = SharedRegion::create(16384);
    REQUIRE(region.ok());
    auto refused = SharedRegion::map_read_only(UniqueFd(::fcntl(region->fd(), F_DUPFD_CLOEXEC, 3)));
    CHECK(refused.status().code() == StatusCode::InvalidParameter);
    CHECK_THAT(refused.status().message(), Catch::Contains("open for writing"));
    CHECK(failure_errno(::ftruncate(region->fd(), 0)) == EPERM);
    CHECK(SharedRegion::create(0).status().code() == StatusCode::InvalidParameter);

    // An unsealed memfd could be truncated under the reader (SIGBUS): refused.
    UniqueFd loose(::memfd_create("loose", MFD_CLOEXEC));
    REQUIRE(::ftruncate(loose.get(), 4096) == 0);
    UniqueFd loose_ro(::open(("/proc/self/fd/" + std::to_string(loose.get())).c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(loose_ro);
    CHECK(SharedRegion::map_read_only(std::move(loose_ro)).status().code() == StatusCode::PermissionDenied);
}
