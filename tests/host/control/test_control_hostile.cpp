// A hostile control client and a hostile plugin against the real control socket of a real
// Supervisor: neither stalls the host, and a well-behaved plugin is still served afterwards.
#include "supervised_host.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/host/config_loader.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/host/supervisor.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

namespace {

namespace control = airlock::protocol::control;

/// The good and the hostile plugin.
struct Host : control_test::SupervisedHost {
    Host()
        : SupervisedHost(control_test::plugin_toml("good", AIRLOCK_SUPERVISED_PLUGIN, "serve") +
                             control_test::plugin_toml("wide", AIRLOCK_HOSTILE_PLUGIN, "wide-reply"),
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
