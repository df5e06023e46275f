// Rule 5: calls — request/reply with call ids, both directions, error replies, peers that leave.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using airlock::CallSession;
using airlock::Connection;
using airlock::StatusCode;
using airlock::UniqueFd;

namespace {

// A peer that serves echo, fail and ask_back (which calls echo back on the caller first).
int serving_peer(UniqueFd fd) {
    Connection c = test::established(std::move(fd));
    CallSession session(c);
    (void)session.on(test::echo, [](test::Echo& request) { return request; });
    (void)session.on(test::fail_always, [](test::Echo&) -> test::Echo { throw std::runtime_error("disk on fire"); });
    (void)session.on(test::ask_back, [&session](test::Echo& request) -> airlock::Result<test::Echo> {
        auto answer = session.call(test::echo, request);  // nested call in the other direction
        if (!answer) return answer.status();
        answer->data.push_back(42);
        return std::move(*answer);
    });
    airlock::Status end = session.serve();
    return end.code() == StatusCode::PeerClosed ? 0 : 1;
}

test::Echo bytes(std::initializer_list<std::uint8_t> values) {
    test::Echo e;
    e.data.assign(values.begin(), values.end());
    return e;
}

} // namespace

TEST_CASE("calls: request and reply in both directions over one connection", "[calls]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, serving_peer);
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    int served_back = 0;
    REQUIRE(session.on(test::echo, [&](test::Echo& request) {
        ++served_back;
        return request;
    }).ok());
    auto direct = session.call(test::echo, bytes({1, 2, 3}));
    REQUIRE(direct.ok());
    CHECK(direct->data == bytes({1, 2, 3}).data);
    // The peer's handler calls us back while our call is in flight; we serve it meanwhile.
    auto nested = session.call(test::ask_back, bytes({7}));
    REQUIRE(nested.ok());
    CHECK(nested->data == bytes({7, 42}).data);
    CHECK(served_back == 1);
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("calls: many in flight, replies matched by call id", "[calls]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, serving_peer);
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    std::map<int, std::vector<std::uint8_t>> replies;
    for (int i = 0; i < 200; ++i) {
        REQUIRE(session.call_async(test::echo, bytes({static_cast<std::uint8_t>(i), 9}), [&replies, i](airlock::Result<test::Echo> r) {
            REQUIRE(r.ok());
            replies[i] = r->data;
        }).ok());
    }
    CHECK(session.pending_calls() == 200);
    while (session.pending_calls() > 0) REQUIRE(session.poll_once().ok());
    REQUIRE(replies.size() == 200);
    for (auto& [i, data] : replies) CHECK(data == bytes({static_cast<std::uint8_t>(i), 9}).data);
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("calls: an unknown method or a failing handler gives an error reply, serving goes on", "[calls]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, serving_peer);
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    auto unknown = session.call(test::unserved, bytes({1}));
    CHECK(unknown.status().code() == StatusCode::NotFound);
    CHECK(unknown.status().message() == "unserved: remote: method unserved has no handler on this side");
    auto thrown = session.call(test::fail_always, bytes({1}));
    CHECK(thrown.status().code() == StatusCode::HandlerFailed);
    CHECK(thrown.status().message() == "fail: remote: disk on fire");
    auto still = session.call(test::echo, bytes({5}));
    REQUIRE(still.ok());
    CHECK(still->data == bytes({5}).data);
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("calls: a request that does not decode gives a Malformed error reply", "[calls]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, serving_peer);
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    std::vector<std::uint8_t> garbage = {0xff, 0xff, 0xff, 0xff, 1};  // a length far beyond the body
    auto reply = session.call_raw(test::echo.tag, garbage, {});
    CHECK(reply.status().code() == StatusCode::Malformed);
    CHECK_THAT(reply.status().message(), Catch::Contains("data: length 4294967295 exceeds the declared maximum"));
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("calls: pending calls complete with an error when the peer goes away", "[calls]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        (void)c.receive();  // take one request and die without answering
        ::_exit(0);
        return 0;
    });
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    std::optional<airlock::Status> async_outcome;
    REQUIRE(session.call_async(test::echo, bytes({1}), [&](airlock::Result<test::Echo> r) { async_outcome = r.status(); }).ok());
    auto blocking = session.call(test::echo, bytes({2}));
    CHECK(blocking.status().code() == StatusCode::PeerClosed);
    REQUIRE(async_outcome);
    CHECK(async_outcome->code() == StatusCode::PeerClosed);
    CHECK(session.pending_calls() == 0);
    CHECK(peer.wait() == 0);
}

TEST_CASE("calls: handlers are registered once, for declared methods only", "[calls]") {
    auto [a, b] = test::seqpacket_pair();
    Connection c(test::protocol());
    REQUIRE(c.set_fd(airlock::ConnectionMode::Pair, std::move(a)).ok());
    CallSession session(c);
    REQUIRE(session.on(test::echo, [](test::Echo& e) { return e; }).ok());
    CHECK(session.on(test::echo, [](test::Echo& e) { return e; }).code() == StatusCode::InvalidState);
    airlock::Method<test::Echo, test::Echo> undeclared{99, "undeclared"};
    CHECK(session.on(undeclared, [](test::Echo& e) { return e; }).code() == StatusCode::InvalidParameter);
}

TEST_CASE("calls: a timed-out call fails with Timeout and its late reply is dropped", "[calls][timeout]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        auto request = c.receive();
        if (!request) return 1;
        ::usleep(200 * 1000);
        std::vector<std::uint8_t> body;
        std::vector<int> fds;
        (void)airlock::encode_value(test::Echo{}, body, fds);
        (void)c.send({request->tag, airlock::MessageKind::Reply, request->call_id, body, fds});
        auto second = c.receive();  // answer the second call normally
        if (!second) return 2;
        (void)c.send({second->tag, airlock::MessageKind::Reply, second->call_id, second->body, {}});
        (void)c.receive();
        return 0;
    });
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    auto late = session.call(test::echo, bytes({1}), std::chrono::milliseconds(50));
    CHECK(late.status().code() == StatusCode::Timeout);
    auto next = session.call(test::echo, bytes({3, 4}));
    REQUIRE(next.ok());
    CHECK(next->data == bytes({3, 4}).data);  // not the late empty reply of the first call
    c.close();
    CHECK(peer.wait() == 0);
}
