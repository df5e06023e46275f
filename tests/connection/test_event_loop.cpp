// Rule 4, non-blocking core: one thread with epoll serves a thousand connections.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/epoll.h>

#include <memory>
#include <thread>

using airlock::CallSession;
using airlock::Connection;
using airlock::ConnectionMode;
using airlock::UniqueFd;

TEST_CASE("non-blocking core: one epoll thread serves 1000 connections from another process", "[nonblocking]") {
    constexpr int kConnections = 1000;
    std::vector<UniqueFd> client_ends;
    std::vector<std::unique_ptr<Connection>> servers;
    std::vector<std::unique_ptr<CallSession>> sessions;
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    for (int i = 0; i < kConnections; ++i) {
        auto [a, b] = test::seqpacket_pair();
        auto server = std::make_unique<Connection>(test::protocol());
        REQUIRE(server->set_fd(ConnectionMode::Pair, std::move(a)).ok());
        REQUIRE(server->start().ok());
        auto session = std::make_unique<CallSession>(*server);
        REQUIRE(session->on(test::echo, [i](test::Echo& e) {
            e.data.push_back(static_cast<std::uint8_t>(i % 251));
            return e;
        }).ok());
        epoll_event event{EPOLLIN, {.u32 = static_cast<std::uint32_t>(i)}};
        REQUIRE(::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, server->fd(), &event) == 0);
        servers.push_back(std::move(server));
        sessions.push_back(std::move(session));
        client_ends.push_back(std::move(b));
    }
    // The clients live in another process: each connection makes two calls.
    test::ForkedPeer clients([&]() {
        servers.clear();
        std::vector<std::unique_ptr<Connection>> connections;
        for (auto& end : client_ends) {
            auto c = std::make_unique<Connection>(test::protocol());
            if (!c->set_fd(ConnectionMode::Pair, std::move(end)).ok() || !c->establish().ok()) return 1;
            connections.push_back(std::move(c));
        }
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < kConnections; ++i) {
                CallSession session(*connections[i]);
                auto reply = session.call(test::echo, test::Echo{{static_cast<std::uint8_t>(round)}});
                if (!reply || reply->data.size() != 2 || reply->data[1] != i % 251) return 2;
            }
        }
        return 0;
    });
    client_ends.clear();

    int closed = 0;
    std::vector<bool> seen_closed(kConnections, false);
    epoll_event events[64];
    while (closed < kConnections) {
        int n = ::epoll_wait(epoll.get(), events, 64, 10000);
        REQUIRE(n > 0);  // no progress for 10 s would mean the loop is stuck
        for (int k = 0; k < n; ++k) {
            std::uint32_t i = events[k].data.u32;
            Connection& server = *servers[i];
            (void)server.on_readable();
            airlock::Status status = sessions[i]->dispatch_pending();
            if (server.wants_write()) (void)server.on_writable();
            if (!status.ok() && !seen_closed[i]) {
                CHECK(status.code() == airlock::StatusCode::PeerClosed);
                seen_closed[i] = true;
                ++closed;
            }
        }
    }
    CHECK(clients.wait() == 0);
}
