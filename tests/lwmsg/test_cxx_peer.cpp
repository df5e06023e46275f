// A C program (cxx_peer_c_side.c, only <lwmsg/lwmsg.h>) and a C++ airlock::Connection peer
// speak one protocol: the C type specifications translate to the C++ declarations below.
#include "cxx_peer_c_side.h"

#include "airlock/connection/call_session.hpp"
#include "airlock/connection/connection.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace peer {

struct Greeting {
    airlock::String<16777216> name;
    std::uint32_t times = 0;
    airlock::UniqueFd fd;
};
AIRLOCK_STRUCT(Greeting, name, times, fd)

struct Answer {
    airlock::Bytes<16777216> bytes;
};
AIRLOCK_STRUCT(Answer, bytes)

// LWMsg tag N travels as tag N + 1; LWMSG_MESSAGE(GREET, ...) is named "GREET".
inline constexpr airlock::Notification<Greeting> greet{1, "GREET"};
inline constexpr airlock::Notification<Answer> answer{2, "ANSWER"};

} // namespace peer

using airlock::MessageKind;

TEST_CASE("lwmsg: a C program and a C++ airlock::Connection peer call each other", "[lwmsg][interop]") {
    int ends[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) == 0);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(ends[0]);
        ::_exit(run_c_side(ends[1]));
    }
    ::close(ends[1]);
    airlock::Connection connection(airlock::Protocol("lwmsg").add(peer::greet).add(peer::answer));
    REQUIRE(connection.set_fd(airlock::ConnectionMode::Pair, airlock::UniqueFd(ends[0])).ok());
    REQUIRE(connection.establish().ok());  // same fingerprint: the C specs describe these types
    REQUIRE(connection.peer_token().ok());
    CHECK(connection.peer_token()->pid == child);

    // 1. the C side calls: answer with its name reversed, after writing into its descriptor
    auto request = connection.receive();
    REQUIRE(request.ok());
    CHECK(request->tag == peer::greet.tag);
    CHECK(request->kind == MessageKind::Request);
    std::uint32_t call_id = request->call_id;
    auto greeting = airlock::decode_value<peer::Greeting>(request->body, std::move(request->fds));
    REQUIRE(greeting.ok());
    CHECK(greeting->name == "from C");
    CHECK(greeting->times == 3);
    REQUIRE(greeting->fd.valid());
    REQUIRE(::write(greeting->fd.get(), "hi x3", 5) == 5);
    peer::Answer reversed;
    reversed.bytes.assign(greeting->name.rbegin(), greeting->name.rend());
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(airlock::encode_value(reversed, body, fds).ok());
    REQUIRE(connection.send(airlock::OutgoingMessage{peer::answer.tag, MessageKind::Reply, call_id, body, fds}).ok());

    // 2. call the C side with a pipe; its reply comes under the ANSWER tag
    airlock::CallSession session(connection);
    int pipe_ends[2];
    REQUIRE(::pipe2(pipe_ends, O_CLOEXEC) == 0);
    airlock::UniqueFd read_end(pipe_ends[0]);
    peer::Greeting outgoing{"from C++", 1, airlock::UniqueFd(pipe_ends[1])};
    body.clear();
    fds.clear();
    REQUIRE(airlock::encode_value(outgoing, body, fds).ok());
    auto reply = session.call_raw(peer::greet.tag, body, fds);
    REQUIRE(reply.ok());
    CHECK(reply->tag == peer::answer.tag);
    auto ok = airlock::decode_value<peer::Answer>(reply->body, std::move(reply->fds));
    REQUIRE(ok.ok());
    CHECK(std::string(ok->bytes.begin(), ok->bytes.end()) == "ok");
    outgoing.fd.reset();
    char text[32] = {};
    CHECK(::read(read_end.get(), text, sizeof text - 1) == 10);
    CHECK(std::string(text) == "C was here");

    // 3. a string with a NUL byte is refused by the C side, which then takes the next message
    peer::Greeting bad{std::string("bad\0name", 8), 1, airlock::UniqueFd()};
    REQUIRE(connection.send_value(peer::greet.tag, bad).ok());
    REQUIRE(connection.send_value(peer::greet.tag, peer::Greeting{"good", 9, airlock::UniqueFd()}).ok());

    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // the C side's failing step otherwise
}
