// A hostile control client and a hostile plugin against the real control socket of a real
// Supervisor: neither stalls the host, and a well-behaved plugin is still served afterwards.
#include "supervised_host.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/connection/received_descriptors.hpp>
#include <airlock/host/config_loader.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/host/supervisor.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>
#include <future>
#include <optional>
#include <thread>

namespace {

namespace control = airlock::protocol::control;

/// The good and the hostile plugin.
struct Host : control_test::SupervisedHost {
    Host()
        : SupervisedHost(control_test::plugin_toml("good", AIRLOCK_SUPERVISED_PLUGIN, "serve") +
                             control_test::plugin_toml("wide", AIRLOCK_HOSTILE_PLUGIN, "wide-reply") +
                             control_test::plugin_toml("fds", AIRLOCK_HOSTILE_PLUGIN, "fd-reply"),
                         "hostile") {}
};

airlock::Result<airlock::protocol::CallReply> call(airlock::CallSession& session, const std::string& plugin,
                                                   const std::string& method, std::string json) {
    airlock::protocol::CallRequest request;
    request.plugin = plugin;
    request.method = method;
    request.json_request = std::move(json);
    return session.call(control::call, request, std::chrono::seconds(120));
}

} // namespace

TEST_CASE("control: a hostile JSON request and a plugin's huge reply fail fast, the host keeps serving", "[control]") {
    Host host;
    for (int i = 0; i < 400 && !(host.ready("good") && host.ready("wide")); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(host.ready("good"));
    REQUIRE(host.ready("wide"));

    airlock::Connection connection(airlock::protocol::control_protocol());
    connection.set_timeout(std::chrono::seconds(120));
    REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, host.socket).ok());
    REQUIRE(connection.establish().ok());
    airlock::CallSession session(connection);

    // 80,000 member names (~1 MB): each was compared with every earlier one (seconds of a
    // blocked loop); now refused at the member limit.
    std::string keys = "{";
    for (int i = 0; i < 80000; ++i) keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
    keys += "}";
    auto flood = call(session, "wide", "wide", keys);
    REQUIRE_FALSE(flood.ok());
    CHECK(flood.status().code() == airlock::StatusCode::InvalidParameter);
    CHECK_THAT(flood.status().message(), Catch::Contains("more than 4096 members in one object"));

    // A 1 MB reply whose JSON would be ~130 MB: the call fails at the cap, the plugin stays.
    auto wide = call(session, "wide", "wide", R"({"count":1000000})");
    REQUIRE_FALSE(wide.ok());
    CHECK_THAT(wide.status().message(), Catch::Contains("the plugin's reply"));
    CHECK_THAT(wide.status().message(), Catch::Contains("the message as JSON would exceed 16777216 bytes"));
    auto small = call(session, "wide", "wide", R"({"count":2})");
    REQUIRE(small.ok());
    CHECK(small->json_reply == "[{\"" + std::string(128, 'n') + "\":7},{\"" + std::string(128, 'n') + "\":7}]");

    // The well-behaved plugin is still served.
    auto echo = call(session, "good", "echo", R"("AQID")");
    REQUIRE(echo.ok());
    CHECK(echo->json_reply == R"("AQID")");
    CHECK(host.ready("good"));
    CHECK(host.ready("wide"));
}

namespace {

/// A raw connection to the control socket that never does its handshake.
airlock::UniqueFd connect_raw(const std::string& path) {
    airlock::UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return fd;
}

/// Reads the host's hello, then says whether the host has closed the connection since (waits
/// up to 20 s for something to read, so a slow host reads as "open", never as "closed").
bool closed_after_hello(int fd) {
    std::vector<char> packet(65536);
    bool got_hello = false;
    for (int i = 0; i < 2; ++i) {
        pollfd wait{fd, POLLIN, 0};
        if (::poll(&wait, 1, got_hello ? 0 : 20000) <= 0) return false;
        ssize_t n = ::recv(fd, packet.data(), packet.size(), MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0) return errno != EAGAIN;
        got_hello = true;
    }
    return false;
}

} // namespace

TEST_CASE("control: one uid cannot hold more than 16 connections open, and the host serves again after", "[control]") {
    Host host;
    for (int i = 0; i < 400 && !host.ready("good"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(host.ready("good"));

    // Long enough that no connection below is closed for being slow, however loaded the machine.
    host.on_io([&] {
        host.server.set_admission_timeout(std::chrono::minutes(5));
        return 0;
    });
    // 16 connections that never finish their handshake are held (until the admission timeout)...
    std::vector<airlock::UniqueFd> held;
    for (int i = 0; i < 16; ++i) held.push_back(connect_raw(host.socket));
    // ...the 17th from the same uid is closed at once, and the held ones are not.
    airlock::UniqueFd extra = connect_raw(host.socket);
    pollfd wait{extra.get(), POLLIN, 0};
    std::vector<char> packet(65536);
    bool eof = false;
    for (int i = 0; i < 3 && !eof; ++i) {
        REQUIRE(::poll(&wait, 1, 20000) == 1);
        eof = ::recv(extra.get(), packet.data(), packet.size(), 0) == 0;
    }
    CHECK(eof);
    for (const auto& fd : held) CHECK_FALSE(closed_after_hello(fd.get()));

    // Once they go, a real client is served again.
    held.clear();
    std::optional<airlock::Result<airlock::protocol::CallReply>> echo;
    for (int attempt = 0; attempt < 100; ++attempt) {
        airlock::Connection connection(airlock::protocol::control_protocol());
        connection.set_timeout(std::chrono::seconds(20));
        REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, host.socket).ok());
        if (!connection.establish().ok()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        airlock::CallSession session(connection);
        echo = call(session, "good", "echo", R"("AQID")");
        if (echo->ok()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(echo);
    REQUIRE(echo->ok());
    CHECK((*echo)->json_reply == R"("AQID")");
}

namespace {

std::size_t open_descriptors() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
    return count;
}

} // namespace

// Red team, protocol "airlock": what a plugin's reply carries to a control client. Its
// descriptors stay in the host and are closed there (the client sees only "<fd N>"), and its
// error text reaches the client without a terminal escape or a line break.
TEST_CASE("control: a plugin's descriptors never reach a control client, its error text is made printable", "[control]") {
    Host host;
    for (int i = 0; i < 400 && !host.ready("fds"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(host.ready("fds"));
    airlock::Connection connection(airlock::protocol::control_protocol());
    connection.set_timeout(std::chrono::seconds(120));
    REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, host.socket).ok());
    REQUIRE(connection.establish().ok());
    airlock::CallSession session(connection);

    auto first = call(session, "fds", "handle", R"({"n":1})");
    REQUIRE(first.ok());
    CHECK(first->json_reply == R"({"f":"<fd 0>"})");
    // Received descriptors are closed by the host's closing thread (received_descriptors.hpp):
    // count once it has closed what it was handed.
    auto settled_descriptors = [] {
        for (int i = 0; i < 1000 && airlock::received_descriptors_closing() != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return open_descriptors();
    };
    const std::size_t before = settled_descriptors();
    for (int i = 0; i < 50; ++i) {
        auto reply = call(session, "fds", "handle", R"({"n":1})");
        REQUIRE(reply.ok());
    }
    CHECK(settled_descriptors() == before);  // the host (this process) kept none of the 50

    auto failed = call(session, "fds", "fail", R"({"n":1})");
    REQUIRE_FALSE(failed.ok());
    const std::string text = failed.status().message();
    CHECK_THAT(text, Catch::Contains("owned?[2J?]0;title??31m?FAKE: host line"));
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.find("\xc2\x9b") == std::string::npos);
}
