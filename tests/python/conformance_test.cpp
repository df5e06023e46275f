// C++ <-> Python conformance: airlock::Connection/CallSession and the Python SDK's own
// implementation (plugin-sdk/python) exchange every type kind of docs/wire-format.md, with
// descriptors and the largest bounds, in both directions; and the Python side refuses bad
// packets and bad bodies cleanly. Real processes over a real socketpair.
#include "conformance_api.hpp"
#include "python_peer.hpp"

#include "../support/read_fd.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/codec.hpp>
#include <airlock/connection/connection.hpp>

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

using namespace airlock;
using namespace conformance;
using airlock::python_test::PythonPeer;

namespace {

constexpr auto kCallTimeout = std::chrono::seconds(60);
const std::string kPeer = std::string(AIRLOCK_PYTHON_TEST_DIR) + "/conformance_peer.py";

UniqueFd labelled_memfd(const std::string& label) {
    UniqueFd fd(::memfd_create("conformance", MFD_CLOEXEC));
    REQUIRE(fd);
    REQUIRE(::write(fd.get(), label.data(), label.size()) == static_cast<ssize_t>(label.size()));
    return fd;
}

std::string label_of(const UniqueFd& fd) { return fd ? test_support::read_memfd(fd.get()) : "<none>"; }

// The same recipe as expected_everything() in conformance_peer.py.
Everything expected_everything(bool with_fds) {
    auto memfd = [&](const std::string& label) { return with_fds ? labelled_memfd(label) : UniqueFd(); };
    Everything value;
    value.i8 = INT8_MIN;
    value.i16 = INT16_MIN;
    value.i32 = INT32_MIN;
    value.i64 = INT64_MIN;
    value.u8 = UINT8_MAX;
    value.u16 = UINT16_MAX;
    value.u32 = UINT32_MAX;
    value.u64 = UINT64_MAX;
    value.yes = true;
    value.no = false;
    value.color = Color::Blue;
    value.delta = Delta::Down;
    value.text = "grüße, 世界";
    value.blob = {0, 1, 2, 0x7f, 0x80, 0xff};
    value.present = 4660;
    value.leaf = Leaf{"leaf", -7, memfd("leaf")};
    for (int i = 0; i < 3; ++i) {
        Leaf leaf{"leaf " + std::to_string(i), std::nullopt, {}};
        if (i % 2 == 0) leaf.weight = i * 1000;
        if (i != 1) leaf.fd = memfd("leaf " + std::to_string(i));
        value.leaves.push_back(std::move(leaf));
    }
    value.grid = {{}, {1}, {1, 2, 3, 4}};
    value.single = memfd("single");
    return value;
}

Largest expected_largest(bool with_fds) {
    Largest value;
    value.bytes.resize(16777216);
    for (std::size_t i = 0; i < value.bytes.size(); ++i) value.bytes[i] = static_cast<std::uint8_t>((i % 256) * 7 + 3);
    for (int i = 0; i < 524288; ++i) value.text += "é";
    if (with_fds) {
        for (int i = 0; i < 300; ++i) value.fds.push_back(labelled_memfd("fd " + std::to_string(i)));
    }
    return value;
}

// What differs, descriptors compared by their content ("" when equal).
std::string differences(const Everything& got, const Everything& want) {
    std::string problems;
    auto check = [&](bool same, const std::string& what) {
        if (!same) problems += what + "; ";
    };
    check(got.i8 == want.i8 && got.i16 == want.i16 && got.i32 == want.i32 && got.i64 == want.i64, "signed integers");
    check(got.u8 == want.u8 && got.u16 == want.u16 && got.u32 == want.u32 && got.u64 == want.u64, "unsigned integers");
    check(got.yes == want.yes && got.no == want.no, "bools");
    check(got.color == want.color && got.delta == want.delta, "enums");
    check(got.text == want.text, "text: got \"" + got.text + "\"");
    check(got.blob == want.blob, "blob");
    check(got.present == want.present && got.absent == want.absent, "optionals");
    check(got.leaf.label == want.leaf.label && got.leaf.weight == want.leaf.weight, "leaf");
    check(label_of(got.leaf.fd) == "leaf", "leaf.fd: " + label_of(got.leaf.fd));
    check(got.leaves.size() == want.leaves.size(), "leaves count");
    for (std::size_t i = 0; i < got.leaves.size() && i < want.leaves.size(); ++i) {
        check(got.leaves[i].label == want.leaves[i].label && got.leaves[i].weight == want.leaves[i].weight,
              "leaves[" + std::to_string(i) + "]");
        check(label_of(got.leaves[i].fd) == (i == 1 ? "<none>" : "leaf " + std::to_string(i)),
              "leaves[" + std::to_string(i) + "].fd: " + label_of(got.leaves[i].fd));
    }
    check(got.grid == want.grid, "grid");
    check(label_of(got.single) == "single" && !got.none, "single/none: " + label_of(got.single));
    return problems;
}

std::string largest_differences(const Largest& got, const Largest& want) {
    if (got.bytes != want.bytes) return "bytes differ (" + std::to_string(got.bytes.size()) + " bytes)";
    if (got.text != want.text) return "text differs (" + std::to_string(got.text.size()) + " bytes)";
    if (got.fds.size() != 300) return std::to_string(got.fds.size()) + " descriptors";
    for (std::size_t i = 0; i < got.fds.size(); ++i) {
        if (label_of(got.fds[i]) != "fd " + std::to_string(i)) return "fds[" + std::to_string(i) + "]: " + label_of(got.fds[i]);
    }
    return "";
}

/// A Python peer with an established connection and a session serving the C++ methods.
struct Conformance {
    explicit Conformance(std::size_t packet_size)
        : peer(kPeer, {std::to_string(packet_size)}), connection(conformance_protocol()), session(connection) {
        REQUIRE(connection.set_packet_size(packet_size).ok());
        REQUIRE(connection.set_fd(ConnectionMode::Pair, peer.take_connection()).ok());
        connection.set_timeout(kCallTimeout);
        const Status established = connection.establish();
        INFO(established.to_string());
        REQUIRE(established.ok());
        REQUIRE(session.on(check_everything, [](Everything& value) {
                           const Everything want = expected_everything(false);
                           const std::string problems = differences(value, want);
                           return Verdict{problems.empty(), problems};
                       }).ok());
        REQUIRE(session.on(check_largest, [](Largest& value) {
                           const std::string problems = largest_differences(value, expected_largest(false));
                           return Verdict{problems.empty(), problems};
                       }).ok());
    }
    std::uint32_t open_fds() {
        auto count = session.call(conformance::open_fds, Probe{}, kCallTimeout);
        INFO(count.status().to_string());
        REQUIRE(count.ok());
        return count->open_fds;
    }
    PythonPeer peer;
    Connection connection;
    CallSession session;
};

} // namespace

TEST_CASE("conformance: every type kind from C++ to Python and back, at the smallest packet size", "[python][conformance]") {
    Conformance test(Connection::kMinPacketSize);  // 512 bytes: every message is fragmented
    REQUIRE(test.connection.packet_size() == Connection::kMinPacketSize);
    const Everything sent = expected_everything(true);
    auto mirrored = test.session.call(mirror_everything, sent, kCallTimeout);
    INFO(mirrored.status().to_string());
    REQUIRE(mirrored.ok());
    CHECK(differences(*mirrored, sent) == "");
    // The descriptors came back as new descriptors (the kernel's duplicates), not ours.
    CHECK(mirrored->single.get() != sent.single.get());
}

TEST_CASE("conformance: the largest values and 300 descriptors both ways, at the largest packet size", "[python][conformance]") {
    Conformance test(Connection::kMaxPacketSize);
    const Largest sent = expected_largest(true);
    auto mirrored = test.session.call(mirror_largest, sent, kCallTimeout);
    INFO(mirrored.status().to_string());
    REQUIRE(mirrored.ok());
    CHECK(largest_differences(*mirrored, sent) == "");
}

TEST_CASE("conformance: Python calls C++ with every type kind and the largest values", "[python][conformance]") {
    Conformance test(Connection::kDefaultPacketSize);
    // The peer's call_back handler calls check_everything and check_largest on this side with
    // the values it built itself; this blocking call serves them meanwhile.
    auto verdict = test.session.call(call_back, Probe{}, kCallTimeout);
    INFO(verdict.status().to_string());
    REQUIRE(verdict.ok());
    INFO(verdict->why);
    CHECK(verdict->ok);
}

TEST_CASE("conformance: a closed connection ends the Python peer cleanly", "[python][conformance]") {
    Conformance test(Connection::kDefaultPacketSize);
    test.connection.close();
    CHECK(test.peer.wait() == 0);
    CHECK(test.peer.stderr_text() == "");
}

// --- bad bodies: refused with an error reply naming the member, and the peer keeps serving --

namespace {

std::vector<std::uint8_t> encoded(const Everything& value) {
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(encode_value(value, body, fds).ok());
    return body;
}

CallError refused_request(Conformance& test, std::uint16_t tag, const std::vector<std::uint8_t>& body,
                          const std::vector<int>& fds = {}) {
    static std::uint32_t call_id = 1000;
    ++call_id;
    REQUIRE(test.connection.send(OutgoingMessage{tag, MessageKind::Request, call_id, body, fds}).ok());
    auto reply = test.connection.receive();
    INFO(reply.status().to_string());
    REQUIRE(reply.ok());
    REQUIRE(reply->call_id == call_id);
    REQUIRE(reply->kind == MessageKind::ErrorReply);
    auto error = decode_value<CallError>(reply->body, std::move(reply->fds));
    REQUIRE(error.ok());
    return std::move(*error);
}

} // namespace

TEST_CASE("conformance: the Python side refuses malformed bodies with the member path and leaks nothing", "[python][conformance]") {
    Conformance test(Connection::kDefaultPacketSize);
    const std::uint32_t fds_before = test.open_fds();
    const std::vector<std::uint8_t> good = encoded(expected_everything(false));
    const std::size_t yes_at = 1 + 2 + 4 + 8 + 1 + 2 + 4 + 8, color_at = yes_at + 2, single_at = good.size() - 8;

    struct Case {
        const char* what;
        std::vector<std::uint8_t> body;
        int descriptors;
        const char* message;
    };
    std::vector<Case> cases;
    auto changed = [&](std::size_t at, std::vector<std::uint8_t> bytes) {
        std::vector<std::uint8_t> body = good;
        std::copy(bytes.begin(), bytes.end(), body.begin() + static_cast<std::ptrdiff_t>(at));
        return body;
    };
    cases.push_back({"bool byte 2", changed(yes_at, {2}), 0, "yes: bool byte is 2, not 0 or 1"});
    cases.push_back({"undeclared enumerator", changed(color_at, {7}), 0, "color: 7 is not an enumerator of Color"});
    cases.push_back({"truncated", std::vector<std::uint8_t>(good.begin(), good.end() - 1), 0, "none: truncated: needs 1 more bytes"});
    std::vector<std::uint8_t> trailing = good;
    trailing.push_back(0);
    cases.push_back({"trailing byte", trailing, 0, "1 trailing bytes after the value"});
    cases.push_back({"descriptor index out of range", changed(single_at, {5, 0, 0, 0}), 2,
                     "single: descriptor index 5 is out of range (message carries 2)"});
    cases.push_back({"descriptor never referenced", good, 1, "descriptor index 0 was received but not referenced"});

    for (const Case& c : cases) {
        SECTION(c.what) {
            std::vector<UniqueFd> sent;
            std::vector<int> fds;
            for (int i = 0; i < c.descriptors; ++i) {
                sent.push_back(labelled_memfd("stray"));
                fds.push_back(sent.back().get());
            }
            const CallError error = refused_request(test, mirror_everything.tag, c.body, fds);
            CHECK(error.code == static_cast<std::uint8_t>(StatusCode::Malformed));
            CHECK_THAT(std::string(error.message), Catch::Contains(c.message));
        }
    }
    SECTION("a hostile vector count") {
        // Largest{bytes: 0, text: 0, fds: count 300 and nothing after}.
        const std::vector<std::uint8_t> body{0, 0, 0, 0, 0, 0, 0, 0, 44, 1, 0, 0};
        const CallError error = refused_request(test, mirror_largest.tag, body);
        CHECK(error.code == static_cast<std::uint8_t>(StatusCode::Malformed));
        CHECK_THAT(std::string(error.message), Catch::Contains("fds: count 300 needs at least 1200 bytes, 0 remain"));
    }
    // Still serving, and every descriptor of the refused requests was closed.
    auto mirrored = test.session.call(mirror_everything, expected_everything(true), kCallTimeout);
    INFO(mirrored.status().to_string());
    REQUIRE(mirrored.ok());
    CHECK(test.open_fds() == fds_before + 4);  // + the 4 descriptors of the last mirrored value, kept by the peer
}

// --- bad packets: the Python side closes the connection and says why ----------------------

namespace {

std::vector<std::uint8_t> packet(std::uint8_t type, std::uint8_t flags, std::uint16_t fd_count, std::uint32_t payload_length,
                                 const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> bytes{type, flags, static_cast<std::uint8_t>(fd_count), static_cast<std::uint8_t>(fd_count >> 8)};
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<std::uint8_t>(payload_length >> shift));
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    return bytes;
}

// A message header: tag 1, kind, call id 1, body length, fd count.
std::vector<std::uint8_t> message_header(std::uint8_t kind, std::uint32_t body_length, std::uint32_t fd_count = 0) {
    std::vector<std::uint8_t> bytes{1, 0, kind, 0, 1, 0, 0, 0};
    for (std::uint32_t value : {body_length, fd_count})
        for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<std::uint8_t>(value >> shift));
    return bytes;
}

void send_raw(int socket, const std::vector<std::uint8_t>& bytes, int fd = -1) {
    iovec part{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};
    msghdr header{};
    header.msg_iov = &part;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        cmsghdr* message = CMSG_FIRSTHDR(&header);
        message->cmsg_level = SOL_SOCKET;
        message->cmsg_type = SCM_RIGHTS;
        message->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(message), &fd, sizeof fd);
    }
    REQUIRE(::sendmsg(socket, &header, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

} // namespace

TEST_CASE("conformance: the Python side refuses malformed packets, closes the connection and exits cleanly", "[python][conformance]") {
    struct Case {
        const char* what;
        std::vector<std::uint8_t> bytes;
        bool with_descriptor;
        const char* message;
    };
    const std::vector<std::uint8_t> header = message_header(1, 0);
    const std::vector<Case> cases{
        {"shorter than a packet header", {2, 3, 0}, false, "Malformed: a packet of 3 bytes is shorter than its header"},
        {"payload length lies", packet(2, 3, 0, 100, header), false, "Malformed: packet payload length 100 does not match the datagram (24 bytes)"},
        {"unknown packet type", packet(9, 3, 0, 16, header), false, "Malformed: unknown packet type 9"},
        {"a second hello", packet(1, 3, 0, 16, header), false, "Malformed: a second hello"},
        {"an unannounced descriptor", packet(2, 3, 0, 16, header), true, "Malformed: packet announces 0 descriptors, 1 arrived"},
        {"a continuation first", packet(2, 2, 0, 16, header), false, "Malformed: a continuation packet without a message"},
        {"a short message header", packet(2, 3, 0, 4, {1, 0, 1, 0}), false, "Malformed: the first packet is shorter than the message header"},
        {"an unknown message kind", packet(2, 3, 0, 16, message_header(4, 0)), false, "Malformed: unknown message kind 4"},
        {"a body over the size limit", packet(2, 3, 0, 16, message_header(1, 64 * 1024 * 1024 + 1)), false,
         "TooLarge: message body of 67108865 bytes exceeds the maximum of 67108864"},
        {"the last flag on an incomplete message", packet(2, 3, 0, 16, message_header(1, 10)), false,
         "Malformed: the last-fragment flag does not match"},
    };
    for (const Case& c : cases) {
        SECTION(c.what) {
            Conformance test(Connection::kDefaultPacketSize);
            UniqueFd stray = labelled_memfd("stray");
            send_raw(test.connection.fd(), c.bytes, c.with_descriptor ? stray.get() : -1);
            CHECK(test.peer.wait() == 3);
            const std::string said = test.peer.stderr_text();
            CHECK_THAT(said, Catch::Contains("conformance peer: connection refused: " + std::string(c.message)));
            CHECK_THAT(said, !Catch::Contains("Traceback"));
        }
    }
}

TEST_CASE("conformance: a protocol mismatch is refused on both sides, naming both fingerprints", "[python][conformance]") {
    PythonPeer peer(kPeer);
    Connection connection(Protocol("airlock.other/1"));
    REQUIRE(connection.set_fd(ConnectionMode::Pair, peer.take_connection()).ok());
    connection.set_timeout(kCallTimeout);
    const Status status = connection.establish();
    CHECK(status.code() == StatusCode::ProtocolMismatch);
    CHECK(peer.wait() == 3);
    const std::string said = peer.stderr_text();
    CHECK_THAT(said, Catch::Contains("ProtocolMismatch: protocol mismatch: this side speaks \"airlock.conformance/1\""));
    CHECK_THAT(said, Catch::Contains("the peer speaks \"airlock.other/1\""));
}
