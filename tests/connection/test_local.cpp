// Rule 4, Local mode: named endpoints, the listener's file handling, and SO_PEERCRED tokens.
#include "test_support.hpp"

#include "airlock/connection/listener.hpp"

#include <catch2/catch.hpp>

#include <sys/un.h>

using airlock::Connection;
using airlock::ConnectionMode;
using airlock::Listener;
using airlock::StatusCode;
using airlock::UniqueFd;
using namespace std::chrono_literals;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char name[] = "/tmp/airlock-local-XXXXXX";
        path = ::mkdtemp(name);
        ::chmod(path.c_str(), 0755);  // reachable by a child that dropped to another uid
    }
    ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

} // namespace

TEST_CASE("Local: a client connects to a listener's path, calls and tokens work", "[local]") {
    TempDir dir;
    std::string path = dir.path + "/control.sock";
    bool as_root = ::geteuid() == 0;
    // As root the client drops to another uid before connecting, so it needs the write bit.
    mode_t mode = as_root ? 0666 : 0660;
    auto listener = Listener::bind(path, mode);
    REQUIRE(listener.ok());
    struct stat info{};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK(S_ISSOCK(info.st_mode));
    CHECK((info.st_mode & 0777) == mode);

    test::ForkedPeer client([&]() {
        if (as_root && (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)) return 10;
        Connection c(test::protocol());
        if (!c.set_endpoint(ConnectionMode::Local, path).ok()) return 1;
        if (!c.establish().ok()) return 2;
        airlock::CallSession session(c);
        auto reply = session.call(test::echo, test::Echo{{4, 2}});
        if (!reply || reply->data != airlock::Bytes<1 << 24>{4, 2}) return 3;
        auto token = c.peer_token();  // the listener side, from SO_PEERCRED
        return token && token->pid == ::getppid() ? 0 : 4;
    });
    auto accepted = listener->accept_connection(test::protocol(), 5000ms);
    REQUIRE(accepted.ok());
    Connection& c = *accepted;
    REQUIRE(c.establish().ok());
    auto token = c.peer_token();
    REQUIRE(token.ok());
    CHECK(token->pid == client.pid());
    CHECK(token->euid == (as_root ? 65534u : ::geteuid()));
    airlock::CallSession session(c);
    REQUIRE(session.on(test::echo, [](test::Echo& e) { return e; }).ok());
    CHECK(session.serve().code() == StatusCode::PeerClosed);
    CHECK(client.wait() == 0);
}

TEST_CASE("Local: a stale socket file from a dead listener is replaced", "[local]") {
    TempDir dir;
    std::string path = dir.path + "/stale.sock";
    {
        // Bind a socket file and "die" without removing it.
        UniqueFd dead(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strcpy(address.sun_path, path.c_str());
        REQUIRE(::bind(dead.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    }
    REQUIRE(::access(path.c_str(), F_OK) == 0);
    auto listener = Listener::bind(path);
    REQUIRE(listener.ok());
    Connection c(test::protocol());
    REQUIRE(c.set_endpoint(ConnectionMode::Local, path).ok());
    REQUIRE(c.start().ok());
    CHECK(listener->accept(1000ms).ok());
}

TEST_CASE("Local: a live listener or a non-socket file at the path is never replaced", "[local]") {
    TempDir dir;
    std::string path = dir.path + "/live.sock";
    auto first = Listener::bind(path);
    REQUIRE(first.ok());
    auto second = Listener::bind(path);
    CHECK(second.status().code() == StatusCode::InvalidState);
    CHECK_THAT(second.status().message(), Catch::Contains("already listening"));

    std::string file = dir.path + "/regular";
    std::fclose(std::fopen(file.c_str(), "w"));
    auto over_file = Listener::bind(file);
    CHECK(over_file.status().code() == StatusCode::InvalidState);
    CHECK_THAT(over_file.status().message(), Catch::Contains("is not a socket"));
    CHECK(::access(file.c_str(), F_OK) == 0);
}

TEST_CASE("Local: the listener removes its socket file when destroyed", "[local]") {
    TempDir dir;
    std::string path = dir.path + "/gone.sock";
    { auto listener = Listener::bind(path); REQUIRE(listener.ok()); }
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("Local: connecting to a missing endpoint is NotFound", "[local]") {
    Connection c(test::protocol());
    REQUIRE(c.set_endpoint(ConnectionMode::Local, "/tmp/airlock-no-such-endpoint.sock").ok());
    airlock::Status s = c.establish();
    CHECK(s.code() == StatusCode::NotFound);
    CHECK_THAT(s.message(), Catch::StartsWith("no listener at /tmp/airlock-no-such-endpoint.sock"));
}
