// Received descriptors closed off the receiving thread (received_descriptors.hpp): a peer
// sends a TCP socket set to linger with unsent data, in flight inside an AF_UNIX socket, so
// that whoever closes the received descriptor drops the last reference and waits the linger
// time. Real sockets; the linger is 20 s and the receiver must be done long before.
#include "test_support.hpp"

#include "../support/lingering_socket.hpp"

#include <airlock/connection/received_descriptors.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

using airlock::UniqueFd;
using airlock::test_support::LingeringSocketSender;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kLingerSeconds = 20;
constexpr auto kPrompt = std::chrono::seconds(5);  // far below the linger, far above a close

// The bytes of a valid one-way message carrying one descriptor, as a real sender makes them.
std::vector<std::uint8_t> valid_packet_with_one_fd() {
    auto [left, right] = test::ready_pair();
    test::Echo echo;
    echo.data = {std::uint8_t{'x'}};
    int pipe_ends[2];
    REQUIRE(::pipe2(pipe_ends, O_CLOEXEC) == 0);
    UniqueFd read_end(pipe_ends[0]), write_end(pipe_ends[1]);
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(airlock::encode_value(echo, body, fds).ok());
    fds.push_back(read_end.get());
    REQUIRE(left.send({5, airlock::MessageKind::OneWay, 0, body, fds}).ok());
    return test::receive_raw_packet(right.fd());
}

// Waits (up to 30 s) until the closing thread has closed everything handed to it.
bool all_closed() {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (airlock::received_descriptors_closing() != 0) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

} // namespace

TEST_CASE("received descriptors: a malformed message's descriptor whose close() waits does not stop the receiver",
          "[hostile][descriptors]") {
    airlock::close_received_descriptors_off_thread();
    REQUIRE(airlock::received_descriptors_closed_off_thread());
    const int before = test::open_fd_count();
    {
        LingeringSocketSender sender(kLingerSeconds);
        auto [left, right] = test::ready_pair();
        const char junk = 'x';  // shorter than a packet header: Malformed, and its descriptor dropped
        REQUIRE(sender.send_from_child(left.fd(), &junk, 1) == LingeringSocketSender::kSent);
        const auto start = Clock::now();
        const airlock::Status status = right.on_readable();
        const auto elapsed = Clock::now() - start;
        CHECK(status.code() == airlock::StatusCode::Malformed);
        CHECK(elapsed < kPrompt);
    }  // the sender's reader goes: the linger ends, the closing thread's close() returns
    CHECK(all_closed());
    CHECK(test::open_fd_count() == before);
}

TEST_CASE("received descriptors: a delivered message's descriptor dropped by the application does not stop it",
          "[hostile][descriptors]") {
    airlock::close_received_descriptors_off_thread();
    const std::vector<std::uint8_t> packet = valid_packet_with_one_fd();
    const int before = test::open_fd_count();
    {
        LingeringSocketSender sender(kLingerSeconds);
        auto [left, right] = test::ready_pair();
        REQUIRE(sender.send_from_child(left.fd(), packet.data(), packet.size()) == LingeringSocketSender::kSent);
        REQUIRE(right.on_readable().ok());
        REQUIRE(right.has_message());
        const auto start = Clock::now();
        {
            airlock::Message message = right.take_message();
            CHECK(message.fds.size() == 1);
        }  // dropped here, as a host drops descriptors it has no use for
        CHECK(Clock::now() - start < kPrompt);
    }
    CHECK(all_closed());
    CHECK(test::open_fd_count() == before);
}

TEST_CASE("received descriptors: descriptors the process opened itself are closed at once", "[descriptors]") {
    airlock::close_received_descriptors_off_thread();
    int ends[2];
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    const int number = ends[0];
    UniqueFd(ends[0]).reset();
    CHECK(::fcntl(number, F_GETFD) == -1);  // gone now, not later
    CHECK(errno == EBADF);
    ::close(ends[1]);
}
