// The host charges each plugin the CPU time its event loop spends on it (host_cpu_budget):
// a plugin over its budget has its violation notifications and output left waiting (it blocks
// in its syscall or on its full pipe) instead of the host working for it, nothing it sent is
// lost, and the host serves a well-behaved plugin meanwhile. Real confined plugins under the
// real supervisor.
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;

namespace {

// A tiny budget, so that the floods below exceed it many times over on any machine.
const std::string kTinyBudget = "host_cpu_budget = \"1ms\"\n";

bool logged(const Supervisor& supervisor, const std::string& plugin, const std::string& text) {
    const auto lines = supervisor.recent_logs(plugin);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return line.find(text) != std::string::npos; });
}


} // namespace

TEST_CASE("a plugin flooding violations beyond its host CPU budget is answered later, none lost, and the host serves on") {
    constexpr int kViolations = 500;
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        "[plugin.flooder]\nexec = \"" + kPlugin + "\"\nargs = [\"violate-flood\", \"" +
                                        std::to_string(kViolations) + "\"]\nprotocol = \"airlock\"\nrestart = \"no\"\n" +
                                        kTinyBudget + "[plugin.flooder.syscalls]\non_violation = \"errno\"\n"));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    // Over its budget, its seccomp notifications wait: the host says so once and counts it.
    REQUIRE(run_until(io, [&] { return status_of(supervisor, "flooder").budget_pauses > 0; }, std::chrono::seconds(60)));
    CHECK(logged(supervisor, "flooder", "costs the host more than its host_cpu_budget (1 ms of CPU time per second): "
                                        "its seccomp notifications wait"));
    const PluginStatus paused = status_of(supervisor, "flooder");
    CHECK(paused.violations < static_cast<std::uint64_t>(kViolations));
    CHECK(paused.host_cpu.count() > 0);
    REQUIRE(good_plugin_answers(io, supervisor));
    // Every forbidden call is still answered (refused), only later.
    REQUIRE(run_until(io, [&] { return logged(supervisor, "flooder", "refused 500 of 500"); }, std::chrono::minutes(5)));
    CHECK(status_of(supervisor, "flooder").violations == static_cast<std::uint64_t>(kViolations));
    CHECK(in_state(supervisor, "flooder", PluginState::Ready));
    REQUIRE(good_plugin_answers(io, supervisor));
}

TEST_CASE("a plugin flooding output beyond its host CPU budget is read later, no line lost, and the host serves on") {
    constexpr long kLines = 2000;
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        "[plugin.talker]\nexec = \"" + kPlugin + "\"\nargs = [\"lines\", \"" +
                                        std::to_string(kLines) + "\"]\nprotocol = \"airlock\"\nrestart = \"no\"\n" +
                                        kTinyBudget));
    supervisor.set_output_fd(-1);
    // Every numbered line of the talker, in the order the host logged them.
    std::vector<long> numbers;
    (void)supervisor.subscribe_logs([&](const std::string& plugin, const std::string& line) {
        const std::string prefix = "[talker] line ";
        if (plugin == "talker" && line.rfind(prefix, 0) == 0) numbers.push_back(std::stol(line.substr(prefix.size())));
    });
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    REQUIRE(run_until(io, [&] { return status_of(supervisor, "talker").budget_pauses > 0; }, std::chrono::seconds(60)));
    CHECK(logged(supervisor, "talker", "its output pipes wait"));
    CHECK(numbers.size() < static_cast<std::size_t>(kLines));
    REQUIRE(good_plugin_answers(io, supervisor));
    // The pipe's backpressure held the writer: every line arrives, in order, none dropped.
    REQUIRE(run_until(io, [&] { return logged(supervisor, "talker", "wrote 2000 lines"); }, std::chrono::minutes(5)));
    REQUIRE(numbers.size() == static_cast<std::size_t>(kLines));
    for (long i = 0; i < kLines; ++i) REQUIRE(numbers[static_cast<std::size_t>(i)] == i);
    CHECK(!logged(supervisor, "talker", "output lines dropped"));
    REQUIRE(good_plugin_answers(io, supervisor));
}

TEST_CASE("a plugin flooding requests beyond its host CPU budget is read later while the host's own calls are not held back") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        plugin_toml("spam", "spam", "restart = \"no\"\n" + kTinyBudget)));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    REQUIRE(run_until(io, [&] { return status_of(supervisor, "spam").budget_pauses > 0; }, std::chrono::seconds(60)));
    CHECK(logged(supervisor, "spam", "its messages wait"));
    CHECK(in_state(supervisor, "spam", PluginState::Ready));
    REQUIRE(good_plugin_answers(io, supervisor));
    // Its budget is its own: a plugin with an unpaused budget is not charged for the flood.
    CHECK(status_of(supervisor, "good").budget_pauses == 0);
}

TEST_CASE("a plugin flooding the host while the host's call to it is in flight is held to its host CPU budget too") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        plugin_toml("holder", "flood-on-echo",
                                                    "restart = \"no\"\ncall_timeout = \"10m\"\n" + kTinyBudget)));
    supervisor.set_output_fd(-1);
    // The notice is watched as it is logged: the flood goes on once the budget refills, and
    // its lines can push the notice out of the 256-line history before it is looked for
    // (seen under ThreadSanitizer, where each line costs the host more).
    bool notice_logged = false;
    (void)supervisor.subscribe_logs([&](const std::string& plugin, const std::string& line) {
        if (plugin == "holder" && line.find("its messages wait") != std::string::npos) notice_logged = true;
    });
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready) &&
                                       in_state(supervisor, "holder", PluginState::Ready); }));
    // The call stays open (the plugin never replies) while the plugin sends log records as fast
    // as it can: reading goes on into a bounded debt, then its messages wait.
    std::optional<Result<Message>> reply;
    const std::vector<std::uint8_t> body{1};
    supervisor.call_raw("holder", "echo", body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    // Waited for by the notice itself: its output pipes (the "serving" line) can pause first on
    // a loaded machine, which counts as a pause but is not the messages' notice.
    REQUIRE(run_until(io, [&] { return notice_logged; }, std::chrono::seconds(60)));
    CHECK(status_of(supervisor, "holder").budget_pauses > 0);
    CHECK_FALSE(reply.has_value());
    REQUIRE(good_plugin_answers(io, supervisor));
    CHECK(status_of(supervisor, "good").budget_pauses == 0);
}

TEST_CASE("host_cpu_budget outside 1ms to 1000ms is refused naming the key") {
    CHECK_THROWS_WITH(config_of(plugin_toml("p", "serve", "host_cpu_budget = \"0ms\"\n")),
                      Catch::Contains("host_cpu_budget") && Catch::Contains("greater than zero"));
    CHECK_THROWS_WITH(config_of(plugin_toml("p", "serve", "host_cpu_budget = \"2s\"\n")),
                      Catch::Contains("host_cpu_budget") && Catch::Contains("out of range"));
    CHECK(config_of(plugin_toml("p", "serve")).plugins.at("p").supervision.host_cpu_budget == std::chrono::milliseconds(20));
}
