// Rule 2 under attack: every truncation and single-byte corruption of a valid message with
// descriptors is rejected or decoded without crashing, and no descriptor leaks.
#include "test_support.hpp"

#include <catch2/catch.hpp>

using airlock::Connection;
using airlock::ConnectionMode;
using airlock::UniqueFd;

namespace {

test::Outer sample_message() {
    test::Outer out;
    out.id = 77;
    out.label = "sample";
    out.blob = airlock::Bytes<1 << 21>{9, 8, 7};
    for (int i = 0; i < 3; ++i)
        out.grants.push_back(test::Grant{"g" + std::to_string(i), test::Access::Write, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC))});
    out.inner = test::Inner{3, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC))};
    return out;
}

std::vector<UniqueFd> duplicates(const std::vector<int>& fds) {
    std::vector<UniqueFd> copies;
    for (int fd : fds) copies.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    return copies;
}

// Sends one raw datagram with descriptors on `socket`.
void send_raw(int socket, const std::vector<std::uint8_t>& bytes, const std::vector<int>& fds) {
    char control[CMSG_SPACE(16 * sizeof(int))] = {};
    iovec part{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};
    msghdr header{};
    header.msg_iov = &part;
    header.msg_iovlen = 1;
    if (!fds.empty()) {
        header.msg_control = control;
        header.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), fds.data(), fds.size() * sizeof(int));
    }
    REQUIRE(::sendmsg(socket, &header, MSG_NOSIGNAL) >= 0);
}

} // namespace

TEST_CASE("malformed: every truncation and single-byte corruption of a body decodes safely", "[malformed][wire]") {
    test::Outer message = sample_message();
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(airlock::encode_value(message, body, fds).ok());
    REQUIRE(fds.size() == 4);
    int before = test::open_fd_count();
    std::size_t rejected = 0, accepted = 0;
    for (std::size_t length = 0; length < body.size(); ++length) {
        auto decoded = airlock::decode_value<test::Outer>(std::span(body.data(), length), duplicates(fds));
        CHECK_FALSE(decoded.ok());  // any truncation is an error
        CHECK(decoded.status().code() == airlock::StatusCode::Malformed);
    }
    for (std::size_t at = 0; at < body.size(); ++at) {
        for (int value = 0; value < 256; ++value) {
            if (value == body[at]) continue;
            std::vector<std::uint8_t> corrupt = body;
            corrupt[at] = static_cast<std::uint8_t>(value);
            auto decoded = airlock::decode_value<test::Outer>(corrupt, duplicates(fds));
            (decoded.ok() ? accepted : rejected) += 1;
        }
    }
    CHECK(rejected > 0);
    CHECK(accepted > 0);  // e.g. a changed id or label byte is still a valid message
    CHECK(test::open_fd_count() == before);
}

TEST_CASE("malformed: corrupted packets close the connection with Malformed and leak nothing", "[malformed][wire]") {
    test::Outer message = sample_message();
    // Capture the valid packet a real sender produces.
    std::vector<std::uint8_t> packet;
    {
        auto [left, right] = test::ready_pair();
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        REQUIRE(airlock::encode_value(message, body, fds).ok());
        REQUIRE(left.send({5, airlock::MessageKind::OneWay, 0, body, fds}).ok());
        packet = test::receive_raw_packet(right.fd());
    }
    std::vector<int> fds;
    for (auto& grant : message.grants) fds.push_back(grant.fd.get());
    fds.push_back(message.inner->fd.get());

    int before = test::open_fd_count();
    auto deliver = [&](const std::vector<std::uint8_t>& bytes) {
        auto [left, right] = test::ready_pair();
        send_raw(left.fd(), bytes, fds);
        airlock::Status status = right.on_readable();
        std::optional<airlock::Result<test::Outer>> decoded;
        if (status.ok() && right.has_message()) {
            airlock::Message m = right.take_message();
            decoded.emplace(airlock::decode_value<test::Outer>(m.body, std::move(m.fds)));
        }
        return std::pair{status, decoded.has_value() && decoded->ok()};
    };
    // The untouched packet is accepted: the harness itself is sound.
    CHECK(deliver(packet).second);
    for (std::size_t length = 0; length < packet.size(); ++length) {
        auto [status, ok] = deliver(std::vector<std::uint8_t>(packet.begin(), packet.begin() + length));
        CHECK_FALSE(ok);
    }
    // Every value of every header byte (packet header + message header).
    for (std::size_t at = 0; at < 24; ++at) {
        for (int value = 0; value < 256; ++value) {
            if (value == packet[at]) continue;
            std::vector<std::uint8_t> corrupt = packet;
            corrupt[at] = static_cast<std::uint8_t>(value);
            (void)deliver(corrupt);
        }
    }
    CHECK(test::open_fd_count() == before);
}
