// Red team, round 7: what a plugin can make the host write to its log. The CPU budget alone let
// one plugin's output make `airlock-host run` log 9.4 MB a second (93.6 MB in 10 s of 5000-byte
// lines, measured with /usr/bin/yes as a protocol "none" plugin): the writer thread, journald
// and the disk work for it, none of it charged. Now every plugin has a log budget (64 KiB a
// second, 640 KiB saved up, 256 bytes more per line): over it, its output pipes and messages
// wait, so it blocks on its pipe; nothing it wrote is lost, and the host serves the others.
// Real confined plugins under the real supervisor; docs/supervisor.md ("What a plugin can make
// the host write").
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <optional>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;

namespace {

// What the log budget lets through in `seconds`: the 640 KiB saved up, 64 KiB a second, one
// read of the output pipe beyond the budget (256 KiB) and a margin for the lines' prefixes.
std::size_t log_bound(int seconds) { return (640 + 64 * static_cast<std::size_t>(seconds) + 256 + 256) * 1024; }

} // namespace

TEST_CASE("redteam log volume: a plugin's output flood makes the host log at most its log budget, no line lost") {
    constexpr int kSeconds = 4;
    constexpr long kLines = 1000;  // 1000-byte lines: about 1.3 MB of budget, twice the burst
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + plugin_toml("flood", "flood") +
                                        
                                        "[plugin.talker]\nexec = \"" + kPlugin + "\"\nargs = [\"lines\", \"" +
                                        std::to_string(kLines) + "\"]\nprotocol = \"airlock\"\nrestart = \"no\"\n"));
    supervisor.set_output_fd(-1);
    std::size_t flood_bytes = 0;
    std::vector<long> numbers;
    bool notice = false;
    (void)supervisor.subscribe_logs([&](const std::string& plugin, const std::string& line) {
        if (line.find("makes the host log more than its host_log_budget (65536 bytes a second): its output pipes wait") != std::string::npos)
            notice = true;
        if (plugin == "flood" && line.rfind("[flood] ", 0) == 0) flood_bytes += line.size() + 1;
        const std::string prefix = "[talker] line ";
        if (plugin == "talker" && line.rfind(prefix, 0) == 0) numbers.push_back(std::stol(line.substr(prefix.size())));
    });
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready) &&
                                       in_state(supervisor, "flood", PluginState::Ready); }));
    const std::size_t start_bytes = flood_bytes;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(kSeconds);
    int answered = 0;
    while (std::chrono::steady_clock::now() < end) {
        REQUIRE(good_plugin_answers(io, supervisor));
        ++answered;
    }
    const std::size_t logged = flood_bytes;
    INFO("the flood made the host log " << logged << " bytes (" << logged - start_bytes << " after ready) in about "
                                        << kSeconds << " s; " << answered << " calls of the good plugin answered");
    WARN("the flood made the host log " << logged << " bytes; " << answered << " good calls answered");
    CHECK(logged <= log_bound(kSeconds + 1));  // + 1: the seconds before ready
    CHECK(notice);
    CHECK(answered > 10);
    CHECK(status_of(supervisor, "flood").budget_pauses > 0);
    CHECK(in_state(supervisor, "flood", PluginState::Ready));
    // The talker's lines come slower, but every one, in order: the pipe held it back.
    REQUIRE(run_until(io, [&] { return numbers.size() == static_cast<std::size_t>(kLines); }, std::chrono::seconds(60)));
    for (long i = 0; i < kLines; ++i) REQUIRE(numbers[static_cast<std::size_t>(i)] == i);
    REQUIRE(good_plugin_answers(io, supervisor));
}

TEST_CASE("redteam log volume: log records sent while the host's call waits are held to the log budget too") {
    constexpr int kSeconds = 4;
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        plugin_toml("holder", "flood-on-echo", "restart = \"no\"\ncall_timeout = \"10m\"\n")));
    supervisor.set_output_fd(-1);
    std::size_t holder_bytes = 0;
    (void)supervisor.subscribe_logs([&](const std::string& plugin, const std::string& line) {
        if (plugin == "holder" && line.rfind("[holder]", 0) == 0) holder_bytes += line.size() + 1;
    });
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready) &&
                                       in_state(supervisor, "holder", PluginState::Ready); }));
    // The call stays open (the plugin never replies) while it sends 200-byte log records as fast
    // as it can: before, reading went on until a second of CPU debt, tens of megabytes of log.
    std::optional<Result<Message>> reply;
    const std::vector<std::uint8_t> body{1};
    supervisor.call_raw("holder", "echo", body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(kSeconds);
    while (std::chrono::steady_clock::now() < end) REQUIRE(good_plugin_answers(io, supervisor));
    INFO("the holder made the host log " << holder_bytes << " bytes in about " << kSeconds << " s");
    WARN("the holder made the host log " << holder_bytes << " bytes of records");
    // The budget's 640 KiB, the 640 KiB of debt a waiting call allows, 64 KiB a second.
    CHECK(holder_bytes <= log_bound(kSeconds) + 640 * 1024);
    CHECK(status_of(supervisor, "holder").budget_pauses > 0);
    CHECK_FALSE(reply.has_value());
}

TEST_CASE("redteam log volume: a plugin's host_log_budget raises what it may make the host log") {
    // The same flood with host_log_budget = "1MiB": well past the default's bound, still within
    // its own (10 MiB saved up, 1 MiB a second). The key is how a plugin that must log more is
    // given room, and the budget it names is what holds.
    constexpr int kSeconds = 3;
    boost::asio::io_context io;
    // (Its CPU budget raised too, so that under a sanitizer the loop's CPU time is not what
    // holds it back.)
    Supervisor supervisor(
        io, config_of(plugin_toml("flood", "flood", "host_log_budget = \"1MiB\"\nhost_cpu_budget = \"1000ms\"\n")));
    supervisor.set_output_fd(-1);
    std::size_t flood_bytes = 0;
    (void)supervisor.subscribe_logs([&](const std::string& plugin, const std::string& line) {
        if (plugin == "flood" && line.rfind("[flood] ", 0) == 0) flood_bytes += line.size() + 1;
    });
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "flood", PluginState::Ready); }));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(kSeconds);
    (void)run_until(io, [&] { return std::chrono::steady_clock::now() >= end; }, std::chrono::seconds(kSeconds + 5));
    INFO("the flood made the host log " << flood_bytes << " bytes in about " << kSeconds << " s");
    CHECK(flood_bytes > log_bound(kSeconds + 1));
    CHECK(flood_bytes <= (10 * 1024 + 1024 * static_cast<std::size_t>(kSeconds + 1) + 512) * 1024);
}

TEST_CASE("host_log_budget: 64KiB a second by default, 4KiB to 64MiB, naming the key") {
    auto budget = [](const std::string& extra) { return config_of(plugin_toml("p", "serve", extra)).plugins.at("p").supervision.host_log_budget; };
    CHECK(budget("") == std::size_t{64} << 10);
    CHECK(budget("host_log_budget = \"1MiB\"\n") == std::size_t{1} << 20);
    CHECK(budget("host_log_budget = 4096\n") == 4096);
    CHECK_THROWS_WITH(budget("host_log_budget = \"65MiB\"\n"), Catch::Contains("host_log_budget") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(budget("host_log_budget = 4095\n"), Catch::Contains("host_log_budget") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(budget("host_log_budget = true\n"), Catch::Contains("host_log_budget"));
}
