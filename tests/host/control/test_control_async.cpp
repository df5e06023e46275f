// Replies that come later through the host: the control server answers `call` when the
// plugin's (asynchronous) method answers, serving other requests meanwhile, forwards the
// client's deadline to the plugin, and cancels the plugin call when its client disconnects.
// A real Supervisor, the real confined SDK test plugin and the real airlockctl binary.
#include "airlockctl_runner.hpp"
#include "supervised_host.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

namespace {

namespace control = airlock::protocol::control;
using control_test::Run;

Run airlockctl(const std::string& socket, std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", socket});
    return control_test::airlockctl(args);
}

struct AsyncHost : control_test::SupervisedHost {
    AsyncHost() : SupervisedHost(control_test::plugin_toml("sdk", AIRLOCK_SDK_TEST_PLUGIN), "async") {
        for (int i = 0; i < 400 && !ready("sdk"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(ready("sdk"));
    }
    /// Waits until the supervisor has made `count` calls to the plugin.
    void await_calls(std::uint64_t count) {
        for (int i = 0; i < 400 && calls("sdk") < count; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
        REQUIRE(calls("sdk") >= count);
    }
};

} // namespace

TEST_CASE("control: airlockctl call to a slow asynchronous plugin method blocks neither status nor another call",
          "[control][async]") {
    AsyncHost host;
    // "wait" replies only after "poke" was served: a host or plugin that blocked on it would
    // never answer either.
    auto waiting = std::async(std::launch::async,
                              [&] { return airlockctl(host.socket, {"call", "sdk", "wait", R"({"text":"patiently"})"}); });
    host.await_calls(1);
    Run status = airlockctl(host.socket, {"status"});
    INFO(status.output);
    CHECK(status.exit_code == 0);
    CHECK_THAT(status.output, Catch::Contains("sdk"));
    Run poke = airlockctl(host.socket, {"call", "sdk", "poke", R"({"text":"meanwhile"})"});
    INFO(poke.output);
    CHECK(poke.exit_code == 0);
    CHECK_THAT(poke.output, Catch::Contains("poked meanwhile"));
    Run waited = waiting.get();
    INFO(waited.output);
    CHECK(waited.exit_code == 0);
    CHECK_THAT(waited.output, Catch::Contains("waited patiently"));
}

TEST_CASE("control: a control client that disconnects cancels its pending plugin call, the plugin sees the deadline",
          "[control][async]") {
    AsyncHost host;
    {
        airlock::Connection connection(airlock::protocol::control_protocol());
        REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, host.socket).ok());
        REQUIRE(connection.establish().ok());
        airlock::CallSession session(connection);
        airlock::protocol::CallRequest request;
        request.plugin = "sdk";
        request.method = "hold";
        request.json_request = R"({"text":"forever"})";
        REQUIRE(session.start_call(control::call, request, [](airlock::Result<airlock::protocol::CallReply>) {},
                                   airlock::CallOptions{std::chrono::minutes(5)}).ok());
        host.await_calls(1);
    }  // the client goes away with its call pending
    Run held;
    for (int i = 0; i < 200; ++i) {
        held = airlockctl(host.socket, {"call", "sdk", "held", R"({"text":""})"});
        if (held.output.find("cancelled=1") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    INFO(held.output);
    CHECK(held.exit_code == 0);
    CHECK_THAT(held.output, Catch::Contains("deadline=1 cancelled=1"));
    CHECK(host.ready("sdk"));
}
