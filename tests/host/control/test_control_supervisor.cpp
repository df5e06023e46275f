// The control server on a real Supervisor running the confined `hello` example plugin,
// driven through the real airlockctl binary.
#include "airlockctl_runner.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <optional>
#include <thread>

namespace {

using control_test::Run;

Run airlockctl(const std::string& socket, std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", socket});
    return control_test::airlockctl(args);
}

} // namespace

TEST_CASE("control: airlockctl status, describe and call on a real Supervisor running hello", "[control]") {
    airlock::host::HostConfig config = airlock::host::load_config(AIRLOCK_HELLO_TOML);
    std::string socket = "/tmp/airlock-ctl-supervisor-" + std::to_string(::getpid()) + ".sock";

    boost::asio::io_context io;
    auto work = std::make_optional(boost::asio::make_work_guard(io));
    airlock::host::Supervisor supervisor(io, config);
    supervisor.set_output_fd(-1);
    airlock::host::ControlServer server(io, supervisor, socket, {});
    REQUIRE(server.start().ok());
    supervisor.start_all();
    std::thread loop([&] { io.run(); });
    auto on_io = [&](auto f) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        boost::asio::post(io, [&task] { task(); });
        return result.get();
    };

    Run status;
    for (int i = 0; i < 200; ++i) {
        status = airlockctl(socket, {"status"});
        if (status.output.find("ready") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO(status.output);
    CHECK(status.exit_code == 0);
    CHECK_THAT(status.output, Catch::Contains("hello"));
    CHECK_THAT(status.output, Catch::Contains("ready"));

    Run describe = airlockctl(socket, {"describe", "hello"});
    INFO(describe.output);
    CHECK(describe.exit_code == 0);
    CHECK_THAT(describe.output, Catch::Contains("greet (tag "));
    CHECK_THAT(describe.output, Catch::Contains("request: struct GreetRequest{name:string<256>}"));

    Run call = airlockctl(socket, {"call", "hello", "greet", R"({"name":"world"})"});
    INFO(call.output);
    CHECK(call.exit_code == 0);
    CHECK_THAT(call.output, Catch::Contains("\"text\": "));
    CHECK_THAT(call.output, Catch::Contains("world"));

    Run echo = airlockctl(socket, {"call", "hello", "echo", R"({"data":"AAEC/w=="})"});
    INFO(echo.output);
    CHECK(echo.exit_code == 0);
    CHECK_THAT(echo.output, Catch::Contains("\"data\": \"AAEC/w==\""));

    Run bad = airlockctl(socket, {"call", "hello", "greet", R"({"nom":"world"})"});
    CHECK(bad.exit_code == 65);
    CHECK_THAT(bad.output, Catch::Contains("struct GreetRequest has no member \"nom\""));

    std::promise<void> stopped;
    on_io([&] {
        supervisor.stop_all([&] { stopped.set_value(); });
        return 0;
    });
    CHECK(stopped.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    on_io([&] {
        server.stop();
        return 0;
    });
    work.reset();
    io.stop();
    loop.join();
}
