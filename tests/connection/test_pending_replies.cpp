// Replies that come later: deferred replies, per-call deadlines and cancellation in CallSession,
// between real processes (or a real thread) over a real socketpair.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/eventfd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using airlock::CallSession;
using airlock::Connection;
using airlock::PendingReply;
using airlock::StatusCode;
using airlock::UniqueFd;

namespace {

struct Probe {
    std::uint32_t value = 0;
    UniqueFd fd;
};
AIRLOCK_STRUCT(Probe, value, fd)
struct Stats {
    std::uint32_t deadlines_seen = 0;    ///< requests of `hold` that carried a deadline
    std::uint32_t cancels_seen = 0;      ///< on_cancel callbacks run
    std::uint32_t held_completed = 0;    ///< held replies completed by `stats` (late replies sent)
    std::uint32_t held_refused = 0;      ///< held replies whose completion was refused as cancelled
    std::uint32_t second_completion = 0; ///< StatusCode of `slow`'s second completion
};
AIRLOCK_STRUCT(Stats, deadlines_seen, cancels_seen, held_completed, held_refused, second_completion)

inline constexpr airlock::Method<Probe, Probe> slow{1, "slow"};     // answered by a timer thread
inline constexpr airlock::Method<Probe, Probe> quick{2, "quick"};   // answered at once
inline constexpr airlock::Method<Probe, Probe> hold{3, "hold"};     // kept pending until `stats`
inline constexpr airlock::Method<Probe, Probe> drop{4, "drop"};     // the handle is dropped
inline constexpr airlock::Method<Probe, Stats> stats{5, "stats"};

const airlock::Protocol& pending_protocol() {
    static const airlock::Protocol p =
        airlock::Protocol("airlock.test.pending").add(slow).add(quick).add(hold).add(drop).add(stats);
    return p;
}

Connection connect(UniqueFd fd) {
    Connection c(pending_protocol());
    if (!c.set_fd(airlock::ConnectionMode::Pair, std::move(fd)).ok() || !c.establish().ok())
        throw std::runtime_error("handshake failed");
    return c;
}

// The callee: serves until the caller closes. `slow` is completed from a timer thread, and
// only after `quick` has been served, so a session that blocked in `slow` could never answer.
int pending_peer(UniqueFd fd) {
    Connection c = connect(std::move(fd));
    CallSession session(c);
    std::mutex mutex;
    std::condition_variable changed;
    bool quick_served = false;
    std::atomic<std::uint32_t> second_completion{0};
    std::thread timer;
    std::vector<PendingReply<Probe>> held;
    Stats seen;
    (void)session.on(slow, [&](Probe& request, PendingReply<Probe> reply) {
        timer = std::thread([&, reply = std::move(reply), value = request.value]() mutable {
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return quick_served; });
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the timer
            Probe answer;
            answer.value = value + 1;
            answer.fd = UniqueFd(::eventfd(0, EFD_CLOEXEC));  // a descriptor travels with the late reply
            (void)reply.complete(std::move(answer));
            second_completion = static_cast<std::uint32_t>(reply.complete(Probe{}).code());
        });
    });
    (void)session.on(quick, [&](Probe& request) {
        {
            std::lock_guard lock(mutex);
            quick_served = true;
        }
        changed.notify_all();
        Probe answer;
        answer.value = request.value * 2;
        return answer;
    });
    (void)session.on(hold, [&](Probe&, PendingReply<Probe> reply) {
        if (reply.deadline()) ++seen.deadlines_seen;
        reply.on_cancel([&] { ++seen.cancels_seen; });
        held.push_back(std::move(reply));
    });
    (void)session.on(drop, [](Probe&, PendingReply<Probe>) {});
    (void)session.on(stats, [&](Probe&) {
        for (auto& reply : held) {
            airlock::Status done = reply.complete(Probe{});
            if (done.ok()) ++seen.held_completed;
            else if (done.code() == StatusCode::Cancelled) ++seen.held_refused;
        }
        held.clear();
        if (timer.joinable()) timer.join();  // its second completion is done, not merely its first
        seen.second_completion = second_completion;
        return seen;
    });
    airlock::Status end = session.serve();
    if (timer.joinable()) timer.join();
    return end.code() == StatusCode::PeerClosed ? 0 : 1;
}

Probe probe(std::uint32_t value) {
    Probe p;
    p.value = value;
    return p;
}

} // namespace

TEST_CASE("pending replies: a call pending on a timer does not block a second call on the same session",
          "[calls][pending]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, pending_peer);
    Connection c = connect(std::move(ends.first));
    CallSession session(c);
    std::vector<std::string> order;
    bool slow_fd_open = false;
    REQUIRE(session.start_call(slow, probe(10), [&](airlock::Result<Probe> reply) {
        REQUIRE(reply.ok());
        CHECK(reply->value == 11);
        slow_fd_open = reply->fd && ::fcntl(reply->fd.get(), F_GETFD) >= 0;
        order.push_back("slow");
    }).ok());
    REQUIRE(session.start_call(quick, probe(4), [&](airlock::Result<Probe> reply) {
        REQUIRE(reply.ok());
        CHECK(reply->value == 8);
        order.push_back("quick");
    }).ok());
    while (order.size() < 2) REQUIRE(session.poll_once().ok());
    CHECK(order == std::vector<std::string>{"quick", "slow"});
    CHECK(slow_fd_open);
    // Completed from the timer thread; completing again sent nothing and said so.
    auto counters = session.call(stats, probe(0));
    REQUIRE(counters.ok());
    CHECK(counters->second_completion == static_cast<std::uint32_t>(StatusCode::InvalidState));
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("pending replies: the deadline travels with the request, an expired call is a Timeout and its late "
          "reply is dropped", "[calls][pending][timeout]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, pending_peer);
    Connection c = connect(std::move(ends.first));
    CallSession session(c);
    std::optional<airlock::Status> outcome;
    REQUIRE(session.start_call(hold, probe(1), [&](airlock::Result<Probe> reply) { outcome = reply.status(); },
                               airlock::CallOptions{std::chrono::milliseconds(50)}).ok());
    REQUIRE(session.next_deadline());
    while (!outcome) {
        airlock::Status polled = session.poll_once();
        REQUIRE((polled.ok() || polled.code() == StatusCode::Timeout));
    }
    CHECK(outcome->code() == StatusCode::Timeout);
    CHECK(session.pending_calls() == 0);
    // The callee saw the deadline; `stats` completes the held call, whose late reply is dropped.
    auto counters = session.call(stats, probe(0));
    REQUIRE(counters.ok());
    CHECK(counters->deadlines_seen == 1);
    CHECK(counters->held_completed == 1);
    auto next = session.call(quick, probe(21));
    REQUIRE(next.ok());
    CHECK(next->value == 42);  // not the late reply of `hold`
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("pending replies: a reply read after its call's deadline is a late one, even before the expiry sweep",
          "[calls][pending][timeout]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, pending_peer);
    Connection c = connect(std::move(ends.first));
    CallSession session(c);
    std::optional<airlock::Result<Probe>> late, other;
    std::vector<airlock::CallId> strays;
    session.on_stray_reply([&](airlock::CallId id, std::uint64_t) { strays.push_back(id); });
    // `slow` (deadline 20 ms) is answered 10 ms after `quick`, which has no deadline.
    auto slow_id = session.start_call(slow, probe(1), [&](airlock::Result<Probe> r) { late.emplace(std::move(r)); },
                                      airlock::CallOptions{std::chrono::milliseconds(20)});
    REQUIRE(slow_id.ok());
    REQUIRE(session.start_call(quick, probe(2), [&](airlock::Result<Probe> r) { other.emplace(std::move(r)); }).ok());
    // Both replies arrive while nothing reads: an owner whose loop was busy elsewhere.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    while (!late || !other) {
        REQUIRE(c.on_readable().ok());
        REQUIRE(session.dispatch_pending().ok());
    }
    REQUIRE(other->ok());
    CHECK((*other)->value == 4);
    // Read 180 ms after its deadline: a Timeout, not an answer, and counted as a stray reply.
    REQUIRE_FALSE(late->ok());
    CHECK(late->status().code() == StatusCode::Timeout);
    CHECK(strays == std::vector<airlock::CallId>{*slow_id});
    CHECK(session.stray_replies() == 1);
    CHECK(session.pending_calls() == 0);
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("pending replies: a cancelled call completes with Cancelled and the callee's handler observes it",
          "[calls][pending][cancel]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, pending_peer);
    Connection c = connect(std::move(ends.first));
    CallSession session(c);
    REQUIRE(c.peer_supports_call_control());
    std::optional<airlock::Status> outcome;
    auto id = session.start_call(hold, probe(1), [&](airlock::Result<Probe> reply) { outcome = reply.status(); });
    REQUIRE(id.ok());
    CHECK(session.cancel(*id));
    REQUIRE(outcome);
    CHECK(outcome->code() == StatusCode::Cancelled);
    CHECK_FALSE(session.cancel(*id));  // no longer outstanding
    auto counters = session.call(stats, probe(0));
    REQUIRE(counters.ok());
    CHECK(counters->deadlines_seen == 0);
    CHECK(counters->cancels_seen == 1);
    CHECK(counters->held_refused == 1);  // completing after the cancel sent nothing
    CHECK(counters->held_completed == 0);
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("pending replies: a handle dropped without completing answers with an error", "[calls][pending]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, pending_peer);
    Connection c = connect(std::move(ends.first));
    CallSession session(c);
    auto dropped = session.call(drop, probe(1), std::chrono::seconds(30));
    CHECK(dropped.status().code() == StatusCode::HandlerFailed);
    CHECK_THAT(dropped.status().message(), Catch::Contains("dropped its pending reply"));
    auto next = session.call(quick, probe(2));
    REQUIRE(next.ok());
    CHECK(next->value == 4);
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("pending replies: serving with deferred replies leaks no descriptor", "[calls][pending][fds]") {
    const int before = test::open_fd_count();
    {
        auto ends = test::seqpacket_pair();
        std::thread callee([fd = std::move(ends.second)]() mutable { (void)pending_peer(std::move(fd)); });
        {
            Connection c = connect(std::move(ends.first));
            CallSession session(c);
            int done = 0;
            REQUIRE(session.start_call(slow, probe(1), [&](airlock::Result<Probe> r) { done += r.ok(); }).ok());
            REQUIRE(session.start_call(quick, probe(1), [&](airlock::Result<Probe> r) { done += r.ok(); }).ok());
            auto id = session.start_call(hold, probe(1), [&](airlock::Result<Probe>) {});
            REQUIRE(id.ok());
            while (done < 2) REQUIRE(session.poll_once().ok());
            CHECK(session.cancel(*id));
            CHECK(session.call(drop, probe(1)).status().code() == StatusCode::HandlerFailed);
            REQUIRE(session.call(stats, probe(0)).ok());
            c.close();
        }
        callee.join();
    }
    CHECK(test::open_fd_count() == before);
}
