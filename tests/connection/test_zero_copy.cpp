// Zero-copy large members (encode in place, decode to views) and lent descriptors, over real
// socketpairs and a real forked peer.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

using airlock::CallSession;
using airlock::Connection;
using airlock::StatusCode;
using airlock::UniqueFd;

namespace zero_copy_test {

constexpr std::size_t kBig = std::size_t(1) << 20;

/// The owning form, as a sender (or a receiver that keeps the bytes) declares it.
struct Document {
    airlock::String<64> title;
    airlock::Bytes<4 * kBig> content;
    airlock::Vector<airlock::Bytes<kBig>, 8> parts;
    UniqueFd attachment;
};
AIRLOCK_STRUCT(Document, title, content, parts, attachment)

/// The same wire type, decoded in place.
struct DocumentView {
    airlock::StringView<64> title;
    airlock::BytesView<4 * kBig> content;
    airlock::Vector<airlock::BytesView<kBig>, 8> parts;
    UniqueFd attachment;
};
AIRLOCK_STRUCT(DocumentView, title, content, parts, attachment)

struct Digest {
    std::uint64_t sum = 0;
    std::uint64_t size = 0;
    bool pointed_into_message = false;  // the handler's view lay inside the request body
};
AIRLOCK_STRUCT(Digest, sum, size, pointed_into_message)

/// A descriptor member the sender keeps (LentFd) and the receiver's view of it (UniqueFd):
/// the same wire type.
struct ShareFd {
    airlock::LentFd fd;
};
AIRLOCK_STRUCT(ShareFd, fd)
struct TakeFd {
    UniqueFd fd;
};
AIRLOCK_STRUCT(TakeFd, fd)
struct Done {
    std::int32_t code = 0;
};
AIRLOCK_STRUCT(Done, code)

inline constexpr airlock::Method<Document, Digest> digest{1, "digest"};
inline constexpr airlock::Notification<Document> publish{2, "publish"};
inline constexpr airlock::Method<ShareFd, Done> write_through{3, "write_through"};

const airlock::Protocol& protocol() {
    static const airlock::Protocol p =
        airlock::Protocol("airlock.test.zero_copy").add(digest).add(publish).add(write_through);
    return p;
}

Connection established(UniqueFd fd, std::size_t packet_size = Connection::kMaxPacketSize) {
    Connection connection(protocol());
    if (auto s = connection.set_packet_size(packet_size); !s.ok()) throw std::runtime_error(s.to_string());
    if (auto s = connection.set_fd(airlock::ConnectionMode::Pair, std::move(fd)); !s.ok())
        throw std::runtime_error(s.to_string());
    connection.set_timeout(std::chrono::milliseconds(20000));
    if (auto s = connection.establish(); !s.ok()) throw std::runtime_error(s.to_string());
    return connection;
}

std::uint8_t pattern(std::size_t i, unsigned seed) { return static_cast<std::uint8_t>((i * 131 + seed) % 251); }

template <class Container>
void fill(Container& bytes, std::size_t size, unsigned seed) {
    bytes.resize(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = pattern(i, seed);
}

std::uint64_t sum(std::span<const std::uint8_t> bytes) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) total += bytes[i] * (i % 7 + 1);
    return total;
}

Document sample(unsigned seed = 1) {
    Document document;
    document.title = "report";
    fill(document.content, 3 * kBig + 4321, seed);
    document.parts.resize(3);
    fill(document.parts[0], 100, seed + 1);          // small: copied
    fill(document.parts[1], kBig, seed + 2);         // large: in place
    fill(document.parts[2], 3 * 4096, seed + 3);     // above kInPlaceMinimum: in place
    document.attachment = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    return document;
}

/// Two in-process connections over a fresh socketpair, handshaken through the non-blocking core.
std::pair<Connection, Connection> ready_pair(std::size_t sender_packet_size) {
    auto [here, there] = test::seqpacket_pair();
    Connection sender(protocol()), receiver(protocol());
    auto check = [](airlock::Status s) {
        if (!s.ok()) throw std::runtime_error(s.to_string());
    };
    check(sender.set_packet_size(sender_packet_size));
    check(sender.set_fd(airlock::ConnectionMode::Pair, std::move(here)));
    check(receiver.set_fd(airlock::ConnectionMode::Pair, std::move(there)));
    check(sender.start());
    check(receiver.start());
    check(sender.on_readable());
    check(receiver.on_readable());
    return {std::move(sender), std::move(receiver)};
}

/// Queues `message` on `sender` and drives both ends until `receiver` holds it.
airlock::Message transfer(Connection& sender, Connection& receiver, const airlock::OutgoingMessage& message) {
    if (auto s = sender.queue(message); !s.ok()) throw std::runtime_error(s.to_string());
    while (!receiver.has_message()) {
        if (auto s = receiver.on_readable(); !s.ok()) throw std::runtime_error(s.to_string());
        if (auto s = sender.on_writable(); !s.ok()) throw std::runtime_error(s.to_string());
    }
    return receiver.take_message();
}

void store_u32(std::uint8_t* out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

bool inside(const void* pointer, std::span<const std::uint8_t> range) {
    auto* p = static_cast<const std::uint8_t*>(pointer);
    return p >= range.data() && p <= range.data() + range.size();
}

} // namespace zero_copy_test

using namespace zero_copy_test;

TEST_CASE("zero copy: encode_message leaves large members in place and produces exactly encode_value's bytes",
          "[zero-copy][wire]") {
    Document document = sample();
    std::vector<std::uint8_t> contiguous;
    std::vector<int> contiguous_fds;
    REQUIRE(airlock::encode_value(document, contiguous, contiguous_fds).ok());

    airlock::EncodedMessage encoded;
    REQUIRE(airlock::encode_message(document, encoded).ok());
    CHECK(encoded.in_place_count() == 3);  // content, parts[1], parts[2]; title and parts[0] copied
    std::vector<std::uint8_t> gathered;
    bool content_in_place = false;
    for (std::span<const std::uint8_t> piece : encoded.pieces()) {
        if (piece.data() == document.content.data()) content_in_place = true;
        gathered.insert(gathered.end(), piece.begin(), piece.end());
    }
    CHECK(content_in_place);  // the very bytes of the value, not a copy
    CHECK(gathered == contiguous);
    CHECK(encoded.body_size() == contiguous.size());
    CHECK(std::vector<int>(encoded.fds().begin(), encoded.fds().end()) == contiguous_fds);

    // A view encodes to the same bytes as the owning form.
    DocumentView view;
    view.title = std::string_view(document.title);
    view.content = std::span<const std::uint8_t>(document.content);
    for (const auto& part : document.parts) view.parts.push_back(std::span<const std::uint8_t>(part));
    view.attachment = UniqueFd(::fcntl(document.attachment.get(), F_DUPFD_CLOEXEC, 3));
    std::vector<std::uint8_t> from_view;
    std::vector<int> view_fds;
    REQUIRE(airlock::encode_value(view, from_view, view_fds).ok());
    CHECK(from_view == contiguous);
    CHECK(airlock::describe(airlock::spec_of<DocumentView>()) ==
          airlock::describe(airlock::spec_of<Document>()).replace(7, 8, "DocumentView"));
}

TEST_CASE("zero copy: views point into the received body, stay valid while Received lives, and close what arrived",
          "[zero-copy][views]") {
    STATIC_REQUIRE(airlock::holds_views_v<DocumentView>);
    STATIC_REQUIRE(airlock::holds_views_v<airlock::Vector<airlock::BytesView<8>, 2>>);
    STATIC_REQUIRE_FALSE(airlock::holds_views_v<Document>);
    int before = test::open_fd_count();
    {
        Document document = sample(5);
        airlock::Message message;
        {
            // Small packets: the in-place pieces are split across many packets and reassembled.
            auto [sender, receiver] = ready_pair(4096);
            airlock::EncodedMessage encoded;
            REQUIRE(airlock::encode_message(document, encoded).ok());
            message = transfer(sender, receiver, encoded.outgoing(publish.tag));
        }
        const std::uint8_t* body_start = message.body.data();
        const std::span<const std::uint8_t> body(body_start, message.body.size());
        auto received = airlock::decode_message<DocumentView>(std::move(message));
        REQUIRE(received.ok());
        airlock::Received<DocumentView> kept = std::move(*received);  // moving keeps the views valid
        CHECK(inside(kept->content.data(), body));
        CHECK(inside(kept->title.data(), body));
        CHECK(inside(kept->parts[1].data(), body));
        CHECK(kept->title == "report");
        CHECK(std::equal(kept->content.begin(), kept->content.end(), document.content.begin(), document.content.end()));
        REQUIRE(kept->parts.size() == 3);
        for (std::size_t i = 0; i < 3; ++i)
            CHECK(std::equal(kept->parts[i].begin(), kept->parts[i].end(), document.parts[i].begin(),
                             document.parts[i].end()));
        CHECK(kept->attachment.valid());
        CHECK(test::identity(kept->attachment.get()) == test::identity(document.attachment.get()));
    }
    CHECK(test::open_fd_count() == before);  // the received descriptor went with the Received
}

TEST_CASE("zero copy: a handler reads a large request through views while the caller sends it in place", "[zero-copy][calls]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection connection = established(std::move(fd));
        CallSession session(connection);
        // The serving side declares the request with views (the same wire type as Document):
        // they are valid while the handler runs.
        (void)session.on_raw(digest.tag, CallSession::typed_handler<DocumentView, Digest>([](DocumentView& request) {
            Digest result{sum(request.content), request.content.size(), false};
            for (const auto& part : request.parts) result.sum += sum(part);
            return result;
        }));
        return session.serve().code() == StatusCode::PeerClosed ? 0 : 1;
    });
    Connection connection = established(std::move(ends.first));
    CallSession session(connection);
    Document document = sample(9);
    document.attachment.reset();
    std::uint64_t expected = sum(document.content);
    for (const auto& part : document.parts) expected += sum(part);
    auto reply = session.call(digest, document);
    INFO((reply ? std::string() : reply.status().to_string()));
    REQUIRE(reply.ok());
    CHECK(reply->sum == expected);
    CHECK(reply->size == document.content.size());
    connection.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("zero copy: a body in more pieces than one packet's iovecs is split into shorter packets", "[zero-copy][wire]") {
    auto [sender, receiver] = ready_pair(Connection::kMaxPacketSize);
    std::vector<std::uint8_t> storage(300 * 7);
    for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = pattern(i, 3);
    std::vector<std::span<const std::uint8_t>> pieces;
    for (std::size_t i = 0; i < 300; ++i) pieces.emplace_back(storage.data() + 7 * i, 7);
    pieces.emplace_back();  // empty pieces are allowed too
    airlock::OutgoingMessage message{publish.tag, airlock::MessageKind::OneWay, 0, {}, {}, pieces};
    airlock::Message arrived = transfer(sender, receiver, message);
    CHECK(std::equal(arrived.body.begin(), arrived.body.end(), storage.begin(), storage.end()));
}

TEST_CASE("zero copy: truncated or oversized view members are refused and close every descriptor", "[zero-copy][malformed]") {
    Document document = sample(2);
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(airlock::encode_value(document, body, fds).ok());
    int before = test::open_fd_count();
    auto copies = [&] {
        std::vector<UniqueFd> owned;
        for (int fd : fds) owned.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
        return owned;
    };
    // Every truncation (a step of 997 bytes through the megabytes, and every byte of the end).
    for (std::size_t length = 0; length < body.size(); length += (length + 64 < body.size() ? 997 : 1)) {
        auto decoded = airlock::decode_value<DocumentView>(std::span(body.data(), length), copies());
        REQUIRE_FALSE(decoded.ok());
        CHECK(decoded.status().code() == StatusCode::Malformed);
    }
    // A length beyond the declared maximum (the title's, at offset 0).
    std::vector<std::uint8_t> oversized = body;
    oversized[0] = 65;
    auto decoded = airlock::decode_value<DocumentView>(oversized, copies());
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().message().find("title") != std::string::npos);
    // A content length that runs past the end of the message (and past the maximum).
    std::vector<std::uint8_t> overlong = body;
    std::size_t content_at = 4 + document.title.size();
    store_u32(overlong.data() + content_at, static_cast<std::uint32_t>(body.size()));
    decoded = airlock::decode_value<DocumentView>(overlong, copies());
    REQUIRE_FALSE(decoded.ok());
    INFO(decoded.status().message());
    CHECK(decoded.status().message().find("content") != std::string::npos);
    // decode_message refuses the same way.
    airlock::Message message;
    message.body.assign(overlong.begin(), overlong.end());
    message.fds = copies();
    CHECK(airlock::decode_message<DocumentView>(std::move(message)).status().code() == StatusCode::Malformed);
    CHECK(test::open_fd_count() == before);
}

TEST_CASE("lent descriptors: the sender's descriptor stays open and usable and the receiver owns a working duplicate",
          "[lent-fd]") {
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);

    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection connection = established(std::move(fd));
        CallSession session(connection);
        (void)session.on(write_through, [](ShareFd& request) {
            // The receiver owns what it received; taking it out leaves the message empty.
            if (!request.fd.owned()) return Done{1};
            UniqueFd mine = request.fd.take();
            if (request.fd || !mine) return Done{2};
            const char text[] = "from the peer;";
            if (::write(mine.get(), text, sizeof text - 1) != sizeof text - 1) return Done{3};
            return Done{0};
        });
        return session.serve().code() == StatusCode::PeerClosed ? 0 : 1;
    });
    Connection connection = established(std::move(ends.first));
    CallSession session(connection);
    int before = test::open_fd_count();
    for (int round = 0; round < 3; ++round) {
        auto done = session.call(write_through, ShareFd{airlock::LentFd::borrow(write_end.get())});
        REQUIRE(done.ok());
        CHECK(done->code == 0);
        // Still ours, still open, still the pipe: no dup was made or left behind, none closed.
        CHECK(::fcntl(write_end.get(), F_GETFD) >= 0);
        CHECK(test::open_fd_count() == before);
        const char text[] = "from us;";
        REQUIRE(::write(write_end.get(), text, sizeof text - 1) == sizeof text - 1);
    }
    std::string received(128, '\0');
    ssize_t n = ::read(read_end.get(), received.data(), received.size());
    REQUIRE(n > 0);
    received.resize(static_cast<std::size_t>(n));
    CHECK(received == "from the peer;from us;from the peer;from us;from the peer;from us;");

    // A lent descriptor that is not taken is closed with the received message; one that was
    // only borrowed is never closed by the object.
    {
        airlock::LentFd borrowed = airlock::LentFd::borrow(write_end.get());
        CHECK_FALSE(borrowed.owned());
        CHECK_FALSE(borrowed.take());
    }
    CHECK(::fcntl(write_end.get(), F_GETFD) >= 0);
    {
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        REQUIRE(airlock::encode_value(ShareFd{airlock::LentFd::borrow(write_end.get())}, body, fds).ok());
        REQUIRE(fds == std::vector<int>{write_end.get()});
        std::vector<UniqueFd> arrived;
        arrived.emplace_back(::fcntl(write_end.get(), F_DUPFD_CLOEXEC, 3));
        auto decoded = airlock::decode_value<ShareFd>(body, std::move(arrived));
        REQUIRE(decoded.ok());
        CHECK(decoded->fd.owned());
        CHECK(test::open_fd_count() == before + 1);
    }
    CHECK(test::open_fd_count() == before);  // the received duplicate was closed
    connection.close();
    CHECK(peer.wait() == 0);
}
