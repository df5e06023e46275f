// PluginRunner: one real confined plugin's lifecycle on an io_context (the part the
// supervisor, `airlock-host exec` and the client share).
#include "supervisor_test_support.hpp"

#include <airlock/host/plugin_runner.hpp>
#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <functional>

#include <optional>
#include <string>
#include <vector>

using namespace airlock;
using namespace airlock::supervisor_test;
using host::PluginRunner;

namespace {

// One plugin of the supervised test program, launched and run by a PluginRunner that records
// what it reports.
struct RunnerUnderTest {
    explicit RunnerUnderTest(const std::string& mode, const std::string& extra = "")
        : config(config_of(plugin_toml("subject", mode, extra)).plugins.at("subject")), spawner(config) {
        PluginRunner::Events events;
        events.ready = [this] { ready = true; };
        events.report = [this](const std::string& text) { reports.push_back(text); };
        events.output = [this](const host::OutputLine&, const std::string& line) { output.push_back(line); };
        events.wall_limit = [this](const std::string& message) { wall_message = message; };
        events.escalating = [this](int signal, std::chrono::milliseconds) { signals.push_back(signal); };
        events.exited = [this](const host::PluginExit& ended) { exit = ended; };
        runner = PluginRunner::create(io, config, std::move(events));
        host::SpawnedPlugin spawned = spawner.launch();
        auto monitor = host::make_violation_monitor(spawner, spawned);
        runner->start(std::move(spawned), std::move(monitor));
    }

    bool run_until(const std::function<bool()>& done) { return supervisor_test::run_until(io, done); }

    boost::asio::io_context io;
    host::PluginConfig config;
    host::Spawner spawner;
    std::shared_ptr<PluginRunner> runner;
    bool ready = false;
    std::vector<std::string> reports, output;
    std::string wall_message;
    std::vector<int> signals;  ///< escalation signals, in order
    std::optional<host::PluginExit> exit;
};

} // namespace

TEST_CASE("PluginRunner: a ready plugin honours the stop request and its exit status is reported", "[runner]") {
    RunnerUnderTest test("serve");
    REQUIRE(test.run_until([&] { return test.ready; }));
    CHECK(test.runner->session() != nullptr);
    CHECK(test.runner->pid() > 0);
    const bool asked = test.runner->stop(SIGTERM, {SIGTERM, SIGKILL});
    CHECK(asked);
    REQUIRE(test.run_until([&] { return test.exit.has_value(); }));
    CHECK_FALSE(test.exit->signaled);
    CHECK(test.exit->exit_code == 0);
    CHECK(test.signals.empty());  // no signal was needed
    CHECK(test.runner->failure().empty());
}

TEST_CASE("PluginRunner: a plugin that ignores the stop request gets SIGTERM, then SIGKILL", "[runner]") {
    RunnerUnderTest test("ignore-stop", "stop_timeout = \"200ms\"\n");
    REQUIRE(test.run_until([&] { return test.ready; }));
    CHECK(test.runner->stop(SIGTERM, {SIGTERM, SIGKILL}));
    REQUIRE(test.run_until([&] { return test.exit.has_value(); }));
    CHECK(test.signals == std::vector<int>{SIGTERM, SIGKILL});
    CHECK(test.exit->signaled);
    CHECK(test.exit->signal == SIGKILL);
}

TEST_CASE("PluginRunner: a stop before the plugin reported ready falls back to the signal", "[runner]") {
    // "no-ready" never sends the ready notice: the stop request cannot be sent.
    RunnerUnderTest test("no-ready", "stop_timeout = \"200ms\"\nready_timeout = \"60s\"\n");
    CHECK_FALSE(test.runner->stop(SIGTERM, {SIGTERM, SIGKILL}));
    REQUIRE(test.run_until([&] { return test.exit.has_value(); }));
    CHECK_FALSE(test.ready);
    CHECK(test.exit->signaled);
}

TEST_CASE("PluginRunner: the wall-clock limit stops the plugin and says why", "[runner]") {
    RunnerUnderTest test("ignore-stop", "stop_timeout = \"200ms\"\n[plugin.subject.limits]\nwall = \"300ms\"\n");
    REQUIRE(test.run_until([&] { return test.exit.has_value(); }));
    CHECK(test.wall_message.find("plugin subject (pid ") == 0);
    CHECK(test.wall_message.find("exceeded its wall-clock limit of 300ms") != std::string::npos);
    CHECK(test.runner->failure() == "exceeded its wall-clock limit of 300ms");
    CHECK(test.signals == std::vector<int>{SIGKILL});
    CHECK(test.exit->signaled);
    CHECK(test.exit->signal == SIGKILL);
}

TEST_CASE("PluginRunner: a plugin that exits on its own is reaped with its status and output", "[runner]") {
    RunnerUnderTest test("crash");
    REQUIRE(test.run_until([&] { return test.exit.has_value(); }));
    CHECK_FALSE(test.exit->signaled);
    CHECK(test.exit->exit_code == 1);
    CHECK(std::find(test.output.begin(), test.output.end(), "[subject] crashing") != test.output.end());
}

TEST_CASE("PluginRunner: a stop during the launch kills the process as soon as it starts", "[runner]") {
    boost::asio::io_context io;
    host::PluginConfig config = config_of(plugin_toml("subject", "serve")).plugins.at("subject");
    host::Spawner spawner(config);
    bool handshaking = false;
    std::optional<host::PluginExit> exit;
    PluginRunner::Events events;
    events.handshaking = [&] { handshaking = true; };
    events.exited = [&](const host::PluginExit& ended) { exit = ended; };
    auto runner = PluginRunner::create(io, config, std::move(events));
    CHECK_FALSE(runner->stop(SIGTERM, {SIGTERM, SIGKILL}));
    runner->start(spawner.launch(), std::nullopt);
    REQUIRE(run_until(io, [&] { return exit.has_value(); }));
    CHECK_FALSE(handshaking);
    CHECK(exit->signaled);
    CHECK(exit->signal == SIGKILL);
}
