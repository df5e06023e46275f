// Rule 4: connections — attaching, packet size, handshake, descriptors, peers that go away.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>

using airlock::Connection;
using airlock::ConnectionMode;
using airlock::StatusCode;
using airlock::UniqueFd;
using namespace std::chrono_literals;

TEST_CASE("set_fd: adopts only a connected SEQPACKET or STREAM socket fitting the mode", "[connection][set_fd]") {
    SECTION("not a socket") {
        Connection c(test::protocol());
        airlock::Status s = c.set_fd(ConnectionMode::Pair, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
        CHECK(s.code() == StatusCode::InvalidParameter);
        CHECK_THAT(s.message(), Catch::EndsWith("is not a socket"));
    }
    SECTION("a datagram socketpair (streams are accepted: test_stream.cpp)") {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) == 0);
        UniqueFd other(fds[1]);
        Connection c(test::protocol());
        CHECK(c.set_fd(ConnectionMode::Pair, UniqueFd(fds[0])).code() == StatusCode::InvalidParameter);
    }
    SECTION("a socketpair end offered as Local") {
        auto [a, b] = test::seqpacket_pair();
        Connection c(test::protocol());
        airlock::Status s = c.set_fd(ConnectionMode::Local, std::move(a));
        CHECK(s.code() == StatusCode::InvalidParameter);
        CHECK_THAT(s.message(), Catch::Contains("use Pair mode"));
    }
    SECTION("mode None") {
        auto [a, b] = test::seqpacket_pair();
        Connection c(test::protocol());
        CHECK(c.set_fd(ConnectionMode::None, std::move(a)).code() == StatusCode::InvalidParameter);
    }
    SECTION("twice, or after an endpoint") {
        auto [a, b] = test::seqpacket_pair();
        auto [c1, d1] = test::seqpacket_pair();
        Connection c(test::protocol());
        REQUIRE(c.set_fd(ConnectionMode::Pair, std::move(a)).ok());
        CHECK(c.set_fd(ConnectionMode::Pair, std::move(c1)).code() == StatusCode::InvalidState);
        CHECK(c.set_endpoint(ConnectionMode::Local, "/tmp/x.sock").code() == StatusCode::InvalidState);
        Connection e(test::protocol());
        REQUIRE(e.set_endpoint(ConnectionMode::Local, "/tmp/x.sock").ok());
        CHECK(e.set_endpoint(ConnectionMode::Local, "/tmp/y.sock").code() == StatusCode::InvalidState);
        CHECK(e.set_fd(ConnectionMode::Pair, std::move(d1)).code() == StatusCode::InvalidState);
    }
    SECTION("an endpoint for Pair mode") {
        Connection c(test::protocol());
        CHECK(c.set_endpoint(ConnectionMode::Pair, "/tmp/x.sock").code() == StatusCode::InvalidParameter);
    }
}

TEST_CASE("packet size: settable only before the handshake, within bounds", "[connection][packet-size]") {
    auto [a, b] = test::seqpacket_pair();
    Connection c(test::protocol());
    CHECK(c.set_packet_size(100).code() == StatusCode::InvalidParameter);
    CHECK(c.set_packet_size(Connection::kMaxPacketSize + 1).code() == StatusCode::InvalidParameter);
    REQUIRE(c.set_packet_size(4096).ok());
    REQUIRE(c.set_fd(ConnectionMode::Pair, std::move(a)).ok());
    REQUIRE(c.set_packet_size(8192).ok());  // attached but not started: still allowed
    REQUIRE(c.start().ok());
    CHECK(c.set_packet_size(4096).code() == StatusCode::InvalidState);
}

TEST_CASE("packet size: negotiation picks the smaller size in both directions", "[connection][packet-size]") {
    for (auto [mine, theirs] : {std::pair<std::size_t, std::size_t>{4096, 65536}, {65536, 4096}}) {
        auto ends = test::seqpacket_pair();
        std::size_t peer_size = theirs;
        test::ForkedPeer peer(ends, [&](UniqueFd fd) {
            Connection c = test::established(std::move(fd), peer_size);
            return c.packet_size() == 4096 ? 0 : 1;
        });
        Connection c = test::established(std::move(ends.first), mine);
        CHECK(c.packet_size() == 4096);
        CHECK(peer.wait() == 0);
    }
}

TEST_CASE("fragmentation: a 1 MiB message with 4 KiB packets round-trips", "[connection][packet-size]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd), 4096);
        auto message = c.receive_value<test::Echo>(7);
        if (!message) return 1;
        return c.send_value(7, *message).ok() ? 0 : 2;
    });
    Connection c = test::established(std::move(ends.first), 4096);
    test::Echo big;
    big.data.resize(1 << 20);
    for (std::size_t i = 0; i < big.data.size(); ++i) big.data[i] = static_cast<std::uint8_t>(i * 131 + 7);
    REQUIRE(c.send_value(7, big).ok());
    auto back = c.receive_value<test::Echo>(7);
    REQUIRE(back.ok());
    CHECK(back->data == big.data);
    CHECK(peer.wait() == 0);
}

TEST_CASE("descriptors: nested and vector members arrive and refer to the same files", "[connection][fd]") {
    char directory[] = "/tmp/airlock-fd-XXXXXX";
    REQUIRE(::mkdtemp(directory));
    test::Outer out;
    std::vector<std::pair<dev_t, ino_t>> sent;
    for (int i = 0; i < 3; ++i) {
        std::string path = std::string(directory) + "/f" + std::to_string(i);
        UniqueFd file(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
        sent.push_back(test::identity(file.get()));
        out.grants.push_back(test::Grant{"f" + std::to_string(i), test::Access::Read, std::move(file)});
    }
    out.grants.push_back(test::Grant{"none", test::Access::Read, UniqueFd(-1)});
    out.inner = test::Inner{1, UniqueFd(::open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC))};
    sent.push_back(test::identity(out.inner->fd.get()));

    auto ends = test::seqpacket_pair();
    // The peer sends back, for each received descriptor, its (dev, ino) and whether it is close-on-exec.
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        auto message = c.receive_value<test::Outer>(9);
        if (!message) return 1;
        test::Echo report;
        auto add = [&](const UniqueFd& f) {
            auto [dev, ino] = test::identity(f.get());
            std::uint64_t values[3] = {static_cast<std::uint64_t>(dev), static_cast<std::uint64_t>(ino),
                                       static_cast<std::uint64_t>(::fcntl(f.get(), F_GETFD) & FD_CLOEXEC)};
            auto* bytes = reinterpret_cast<std::uint8_t*>(values);
            report.data.insert(report.data.end(), bytes, bytes + sizeof values);
        };
        for (std::size_t i = 0; i < 3; ++i) add(message->grants[i].fd);
        if (message->grants[3].fd.valid() || message->direct.valid()) return 3;
        add(message->inner->fd);
        return c.send_value(9, report).ok() ? 0 : 2;
    });
    Connection c = test::established(std::move(ends.first));
    REQUIRE(c.send_value(9, out).ok());
    auto report = c.receive_value<test::Echo>(9);
    REQUIRE(report.ok());
    REQUIRE(report->data.size() == 4 * 24);
    for (std::size_t i = 0; i < 4; ++i) {
        std::uint64_t values[3];
        std::memcpy(values, report->data.data() + i * 24, 24);
        CHECK(values[0] == static_cast<std::uint64_t>(sent[i].first));
        CHECK(values[1] == static_cast<std::uint64_t>(sent[i].second));
        CHECK(values[2] == FD_CLOEXEC);
    }
    CHECK(peer.wait() == 0);
    std::string cleanup = std::string("rm -rf ") + directory;
    CHECK(std::system(cleanup.c_str()) == 0);
}

TEST_CASE("descriptors: 1024 in one message, split across packets", "[connection][fd]") {
    auto ends = test::seqpacket_pair();
    UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    auto expected = test::identity(file.get());
    test::ForkedPeer peer(ends, [expected](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        auto message = c.receive_value<test::Outer>(3);
        if (!message) return 1;
        if (message->grants.size() != 1024) return 2;
        for (auto& grant : message->grants)
            if (test::identity(grant.fd.get()) != expected) return 3;
        return 0;
    });
    Connection c = test::established(std::move(ends.first));
    test::Outer out;
    for (int i = 0; i < 1024; ++i) out.grants.push_back(test::Grant{"n", test::Access::Read, UniqueFd(::dup(file.get()))});
    REQUIRE(c.send_value(3, out).ok());
    CHECK(peer.wait() == 0);
}

TEST_CASE("descriptors: MSG_CTRUNC at the open-file limit is reported and nothing leaks", "[connection][fd]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        int before = test::open_fd_count();
        rlimit limit{static_cast<rlim_t>(before + 10 + 3), static_cast<rlim_t>(before + 10 + 3)};
        ::setrlimit(RLIMIT_NOFILE, &limit);
        // Tell the parent we are ready, then receive 40 descriptors with room for about 10.
        if (!c.send_value(1, test::Echo{}).ok()) return 1;
        auto message = c.receive();
        if (message.ok()) return 2;
        if (message.status().code() != StatusCode::TooLarge) return 3;
        if (message.status().message().find("MSG_CTRUNC") == std::string::npos) return 4;
        return test::open_fd_count() == before - 1 ? 0 : 5;  // only the closed connection's socket is gone
    });
    Connection c = test::established(std::move(ends.first));
    REQUIRE(c.receive_value<test::Echo>(1).ok());
    test::Outer out;
    for (int i = 0; i < 40; ++i) out.grants.push_back(test::Grant{"n", test::Access::Read, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC))});
    (void)c.send_value(3, out);
    CHECK(peer.wait() == 0);
}

TEST_CASE("protocol: a mismatch fails on both sides with a clear message", "[connection][protocol]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c(airlock::Protocol("airlock.other").add(test::echo));
        if (!c.set_fd(ConnectionMode::Pair, std::move(fd)).ok()) return 1;
        airlock::Status s = c.establish();
        if (s.code() != StatusCode::ProtocolMismatch) return 2;
        return s.message().find("protocol mismatch: this side speaks \"airlock.other\"") == 0 ? 0 : 3;
    });
    Connection c(test::protocol());
    REQUIRE(c.set_fd(ConnectionMode::Pair, std::move(ends.first)).ok());
    airlock::Status s = c.establish();
    CHECK(s.code() == StatusCode::ProtocolMismatch);
    CHECK_THAT(s.message(), Catch::StartsWith("protocol mismatch: this side speaks \"airlock.test\"") &&
                                Catch::Contains("the peer speaks \"airlock.other\""));
    CHECK(peer.wait() == 0);
}

TEST_CASE("peer token: a Pair token names the forked child, not the creator", "[connection][token]") {
    auto ends = test::seqpacket_pair();  // created by this process: SO_PEERCRED would name us
    bool as_root = ::geteuid() == 0;
    test::ForkedPeer peer(ends, [as_root](UniqueFd fd) {
        if (as_root && (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)) return 10;
        Connection c = test::established(std::move(fd));
        auto token = c.peer_token();
        if (!token || token->pid != ::getppid()) return 1;
        return c.send_value(1, test::Echo{}).ok() ? 0 : 2;
    });
    Connection c = test::established(std::move(ends.first));
    auto token = c.peer_token();
    REQUIRE(token.ok());
    CHECK(token->pid == peer.pid());
    CHECK(token->pid != ::getpid());
    if (as_root) {
        CHECK(token->euid == 65534u);
        CHECK(token->egid == 65534u);
    } else {
        CHECK(token->euid == ::geteuid());
        CHECK(token->egid == ::getegid());
    }
    CHECK(c.receive_value<test::Echo>(1).ok());
    CHECK(peer.wait() == 0);
}

TEST_CASE("peer closed: a peer that exits gives PeerClosed promptly, never SIGPIPE", "[connection][closed]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        return 0;  // exits right after the handshake
    });
    Connection c = test::established(std::move(ends.first));
    CHECK(peer.wait() == 0);
    auto received = c.receive();
    CHECK(received.status().code() == StatusCode::PeerClosed);
    // Sending after the peer is gone: an error, not a signal.
    CHECK(c.send_value(1, test::Echo{}).code() == StatusCode::PeerClosed);
    CHECK(c.state() == airlock::ConnectionState::Closed);
}

TEST_CASE("peer closed: a killed peer mid-send gives PeerClosed, not a hang", "[connection][closed]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        ::pause();
        return 0;
    });
    Connection c = test::established(std::move(ends.first));
    ::kill(peer.pid(), SIGKILL);
    CHECK(peer.wait() == 128 + SIGKILL);
    test::Echo big;
    big.data.resize(8 << 20);  // more than the socket buffer holds
    airlock::Status s = c.send_value(1, big);
    CHECK(s.code() == StatusCode::PeerClosed);
}

TEST_CASE("timeouts: a receive with nothing to read times out, the connection stays usable", "[connection][timeout]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        auto first = c.receive_value<test::Echo>(2);
        if (!first) return 1;
        return c.send_value(2, *first).ok() ? 0 : 2;
    });
    Connection c = test::established(std::move(ends.first));
    c.set_timeout(50ms);
    auto started = std::chrono::steady_clock::now();
    auto nothing = c.receive();
    CHECK(nothing.status().code() == StatusCode::Timeout);
    CHECK(std::chrono::steady_clock::now() - started >= 50ms);
    c.set_timeout(std::nullopt);
    REQUIRE(c.send_value(2, test::Echo{{1, 2, 3}}).ok());
    auto back = c.receive_value<test::Echo>(2);
    REQUIRE(back.ok());
    CHECK(back->data == airlock::Bytes<1 << 24>{1, 2, 3});
    CHECK(peer.wait() == 0);
}

TEST_CASE("non-blocking core: a peer that does not read cannot make queue() buffer past its bound",
          "[connection][nonblocking]") {
    auto [sender, receiver] = test::ready_pair();
    sender.set_max_queued_bytes(1 << 20);

    // Small messages, the way replies pile up: the receiver never reads.
    test::Echo small;
    small.data.resize(16);
    std::vector<std::uint8_t> body;
    std::vector<int> none;
    REQUIRE(airlock::encode_value(small, body, none).ok());
    airlock::Status status;
    int queued = 0;
    for (; queued < 1000000 && status.ok(); ++queued) status = sender.queue({1, airlock::MessageKind::OneWay, 0, body, none});
    CHECK(status.code() == StatusCode::TooLarge);
    CHECK_THAT(status.message(), Catch::Contains("the peer is not reading"));
    CHECK(sender.state() == airlock::ConnectionState::Closed);
    // The bound counts each packet's bookkeeping: 1 MiB of 16-byte messages is far fewer
    // than 1 MiB / 16 of them once the socket buffer is full.
    CHECK(queued < 40000);

    // Without a bound (the default) the same succeeds: the limit is what stopped it.
    auto [unbounded, idle] = test::ready_pair();
    for (int i = 0; i < queued + 10; ++i) REQUIRE(unbounded.queue({1, airlock::MessageKind::OneWay, 0, body, none}).ok());
    CHECK(unbounded.wants_write());
}

TEST_CASE("non-blocking core: queued descriptors survive the caller closing them", "[connection][nonblocking]") {
    auto [sender, receiver] = test::ready_pair();

    char path[] = "/tmp/airlock-queued-XXXXXX";
    int raw = ::mkstemp(path);
    REQUIRE(raw >= 0);
    auto expected = test::identity(raw);
    ::unlink(path);
    test::Echo filler;
    filler.data.resize(4 << 20);  // fills the socket buffer, so the descriptor must be queued
    std::vector<std::uint8_t> body;
    std::vector<int> none;
    REQUIRE(airlock::encode_value(filler, body, none).ok());
    REQUIRE(sender.queue({1, airlock::MessageKind::OneWay, 0, body, none}).ok());
    test::Inner inner{5, UniqueFd(raw)};
    std::vector<std::uint8_t> inner_body;
    std::vector<int> inner_fds;
    REQUIRE(airlock::encode_value(inner, inner_body, inner_fds).ok());
    REQUIRE(sender.queue({2, airlock::MessageKind::OneWay, 0, inner_body, inner_fds}).ok());
    CHECK(sender.wants_write());
    inner.fd.reset();  // the caller closes its descriptor; the queued copy must still go out

    std::vector<airlock::Message> received;
    while (received.size() < 2) {
        REQUIRE(sender.on_writable().ok());
        REQUIRE(receiver.on_readable().ok());
        while (receiver.has_message()) received.push_back(receiver.take_message());
    }
    CHECK_FALSE(sender.wants_write());
    auto decoded = airlock::decode_value<test::Inner>(received[1].body, std::move(received[1].fds));
    REQUIRE(decoded.ok());
    CHECK(test::identity(decoded->fd.get()) == expected);
}
