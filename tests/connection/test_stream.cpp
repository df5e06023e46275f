// SOCK_STREAM sockets (LWMsg's transport): the same packets, framed by their headers.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/un.h>

#include <cstring>

using airlock::Connection;
using airlock::ConnectionMode;
using airlock::StatusCode;
using airlock::UniqueFd;

namespace {

std::pair<UniqueFd, UniqueFd> stream_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw std::runtime_error("socketpair");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Connection established_stream(UniqueFd fd, std::size_t packet_size, ConnectionMode mode = ConnectionMode::Pair) {
    Connection connection(test::protocol());
    (void)connection.set_packet_size(packet_size);
    if (airlock::Status s = connection.set_fd(mode, std::move(fd)); !s.ok()) throw std::runtime_error(s.to_string());
    if (airlock::Status s = connection.establish(); !s.ok()) throw std::runtime_error(s.to_string());
    return connection;
}

} // namespace

TEST_CASE("stream: fragmented messages with hundreds of descriptors round-trip over a stream pair",
          "[connection][stream]") {
    auto ends = stream_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = established_stream(std::move(fd), 4096);
        for (int round = 0; round < 3; ++round) {
            auto message = c.receive_value<test::Outer>(1);
            if (!message) return 1;
            if (!c.send_value(1, *message).ok()) return 2;
        }
        return 0;
    });
    Connection c = established_stream(std::move(ends.first), 8192);
    CHECK(c.packet_size() == 4096);  // the smaller of both peers'
    UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    for (int round = 0; round < 3; ++round) {
        test::Outer out;
        out.id = 1000 + round;
        out.blob.resize(300000 + round);
        for (std::size_t i = 0; i < out.blob.size(); ++i) out.blob[i] = static_cast<std::uint8_t>(i * 7 + round);
        for (int i = 0; i < 300; ++i)
            out.grants.push_back(test::Grant{"g", test::Access::Read, UniqueFd(::fcntl(file.get(), F_DUPFD_CLOEXEC, 3))});
        REQUIRE(c.send_value(1, out).ok());
        auto back = c.receive_value<test::Outer>(1);
        REQUIRE(back.ok());
        CHECK(back->id == out.id);
        CHECK(back->blob == out.blob);
        REQUIRE(back->grants.size() == 300);
        for (const auto& grant : back->grants) CHECK(test::identity(grant.fd.get()) == test::identity(file.get()));
    }
    CHECK(peer.wait() == 0);
}

TEST_CASE("stream: a Pair token over a stream names the forked child", "[connection][stream][token]") {
    auto ends = stream_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = established_stream(std::move(fd), 65536);
        return c.send_value(1, test::Echo{}).ok() ? 0 : 2;
    });
    Connection c = established_stream(std::move(ends.first), 65536);
    auto token = c.peer_token();
    REQUIRE(token.ok());
    CHECK(token->pid == peer.pid());
    CHECK(c.receive_value<test::Echo>(1).ok());
    CHECK(peer.wait() == 0);
}

TEST_CASE("stream: set_endpoint reaches a SOCK_STREAM listener, and a peer gone mid-packet is PeerClosed",
          "[connection][stream][local]") {
    std::string path = "/tmp/airlock-stream-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size());
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener.get(), 4) == 0);
    test::ForkedPeer peer([&] {
        Connection c(test::protocol());
        if (!c.set_endpoint(ConnectionMode::Local, path).ok() || !c.establish().ok()) return 1;
        auto message = c.receive_value<test::Echo>(2);
        if (!message || message->data.size() != 5) return 2;
        return c.send_value(2, *message).ok() ? 0 : 3;
    });
    // Wait for the child's connection, or for the child to give up (no hang if it cannot connect).
    pollfd ready{listener.get(), POLLIN, 0};
    int child_status = 0;
    while (::poll(&ready, 1, 100) == 0) REQUIRE(::waitpid(peer.pid(), &child_status, WNOHANG) == 0);
    UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(accepted.valid());
    Connection c = established_stream(std::move(accepted), 65536, ConnectionMode::Local);
    auto token = c.peer_token();
    REQUIRE(token.ok());
    CHECK(token->pid == peer.pid());
    REQUIRE(c.send_value(2, test::Echo{{1, 2, 3, 4, 5}}).ok());
    auto back = c.receive_value<test::Echo>(2);
    REQUIRE(back.ok());
    CHECK(back->data.size() == 5);
    CHECK(peer.wait() == 0);
    ::unlink(path.c_str());

    // A peer that writes half a packet header and exits: the reader reports PeerClosed.
    auto ends = stream_pair();
    test::ForkedPeer half(ends, [](UniqueFd fd) {
        Connection c = established_stream(std::move(fd), 65536);
        std::uint8_t partial[5] = {2, 3, 0, 0, 40};
        return ::write(c.fd(), partial, sizeof partial) == 5 ? 0 : 1;
    });
    Connection reader = established_stream(std::move(ends.first), 65536);
    auto message = reader.receive();
    REQUIRE_FALSE(message.ok());
    CHECK(message.status().code() == StatusCode::PeerClosed);
    CHECK(half.wait() == 0);
}
