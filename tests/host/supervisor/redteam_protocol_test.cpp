// Red team, protocol "airlock": a hostile plugin (a real process, hand-made messages) against
// the real supervisor's call bookkeeping and handshake. A reply must answer exactly the call
// it names while that call waits; anything else is dropped, its descriptors closed, and logged.
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;
using std::chrono::milliseconds;

namespace {

std::string hostile(const std::string& name, const std::string& mode, const std::string& extra = "") {
    return "[plugin." + name + "]\n"
           "exec = \"" AIRLOCK_HOSTILE_PLUGIN "\"\n"
           "args = [\"" + mode + "\"]\n"
           "protocol = \"airlock\"\n"
           "restart = \"no\"\n" + extra + "\n";
}

bool logged(const Supervisor& supervisor, const std::string& name, const std::string& text) {
    const auto lines = supervisor.recent_logs(name);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

Result<Message> call(boost::asio::io_context& io, Supervisor& supervisor, const std::string& name,
                     std::vector<std::uint8_t> body, std::optional<milliseconds> timeout = std::nullopt) {
    std::optional<Result<Message>> reply;
    CallOptions options;
    options.timeout = timeout;
    supervisor.call_raw(name, "echo", body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); }, options);
    REQUIRE(run_until(io, [&] { return reply.has_value(); }));
    return std::move(*reply);
}

} // namespace

TEST_CASE("redteam protocol: a late reply is never taken for a later call, stray replies and notifications are dropped and logged") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(hostile("late", "late-reply")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "late", PluginState::Ready); }));

    // The first call times out; the plugin answers it ("late") only once the second is waiting.
    Result<Message> first = call(io, supervisor, "late", {1}, milliseconds(300));
    REQUIRE_FALSE(first.ok());
    CHECK(first.status().code() == StatusCode::Timeout);
    Result<Message> second = call(io, supervisor, "late", {4, 5, 6});
    REQUIRE(second.ok());
    CHECK(std::vector<std::uint8_t>(second->body.begin(), second->body.end()) == std::vector<std::uint8_t>{4, 5, 6});
    CHECK(second->fds.empty());

    // The late reply, the second reply to the second call and one to an id never issued:
    // dropped, and the first of them logged with the count.
    REQUIRE(run_until(io, [&] { return logged(supervisor, "late", "1 such replies so far"); }));
    for (const auto& line : supervisor.recent_logs("late")) UNSCOPED_INFO(line);
    CHECK(logged(supervisor, "late", "dropped a reply to call 1, which no call of the host waits for"));
    // So is a notification the host never asked for.
    CHECK(logged(supervisor, "late", "dropped a notification with tag 107, which the host does not take from plugins; 1 such"));
    // The plugin is served on: a third call gets its own answer.
    Result<Message> third = call(io, supervisor, "late", {7});
    REQUIRE(third.ok());
    CHECK(std::vector<std::uint8_t>(third->body.begin(), third->body.end()) == std::vector<std::uint8_t>{7});
    CHECK(in_state(supervisor, "late", PluginState::Ready));
}

TEST_CASE("redteam protocol: a plugin that never does the handshake, or speaks another protocol, is refused") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(hostile("silent", "no-handshake", "ready_timeout = \"300ms\"\n") +
                                        hostile("foreign", "wrong-protocol")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "silent", PluginState::Failed); }));
    CHECK_THAT(status_of(supervisor, "silent").last_exit, Catch::Contains("did not report ready within 300 ms"));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "foreign", PluginState::Failed); }));
    CHECK_THAT(status_of(supervisor, "foreign").last_exit, Catch::Contains("protocol mismatch"));
}

TEST_CASE("redteam protocol: data before the handshake, an extreme packet size or a second handshake is refused") {
    struct Case {
        const char* mode;
        const char* why;
    };
    const std::vector<Case> cases = {
        {"data-first", "refused: the peer sent data before completing the handshake"},
        {"huge-packets", "refused: the peer proposed packet size 4294967295"},
        {"second-hello", "refused: the peer sent a second handshake"},
    };
    std::string plugins;
    for (const Case& c : cases) plugins += hostile(c.mode, c.mode);
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugins));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    for (const Case& c : cases) {
        INFO(c.mode);
        REQUIRE(run_until(io, [&] { return in_state(supervisor, c.mode, PluginState::Failed); }));
        CHECK_THAT(status_of(supervisor, c.mode).last_exit, Catch::Contains(c.why));
        CHECK_THAT(status_of(supervisor, c.mode).last_exit, Catch::Contains("killed by signal"));
    }
}

namespace {

std::size_t resident_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
    return 0;
}

} // namespace

// What one plugin can make the host hold with a message it never finishes: the body as far as
// it arrived, up to its max_message_size (here the ceiling, 64 MiB; 4 MiB by default). Measured
// here, so that a change to the limit shows; docs/supervisor.md ("What a plugin can make the
// host hold").
TEST_CASE("redteam protocol: a message a plugin never finishes holds at most the message size limit") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(hostile("slow", "unfinished", "max_message_size = \"64MiB\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "slow", PluginState::Ready); }));
    const std::size_t before = resident_kib();
    REQUIRE(run_until(io, [&] { return logged(supervisor, "slow", "sent 67108863 of 67108864 bytes"); }, std::chrono::seconds(60)));
    const std::size_t grown_mib = (resident_kib() - std::min(before, resident_kib())) / 1024;
    INFO("host RSS grew by " << grown_mib << " MiB");
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    // A sanitizer's shadow memory grows with every byte written (ThreadSanitizer's by several
    // times the body: 320 MiB measured), so the bound is checked in the plain build only.
    WARN("host RSS grew by " << grown_mib << " MiB for one unfinished message, shadow memory included");
#else
    CHECK(grown_mib <= 64 + 8);
    WARN("host RSS grew by " << grown_mib << " MiB for one unfinished message");
#endif
}

// Red team, round 7: N plugins hold N unfinished messages. With the library's 64 MiB for every
// plugin (one holds 64 MiB, measured above), four could make the host hold 256 MiB; without
// the limit this test fails: none of the four is refused;
// a plugin's messages are now bounded by its max_message_size, 4 MiB unless its config says
// more, and a message announced beyond it is refused at its header, before the host holds any
// of its body.
TEST_CASE("redteam protocol: plugins announcing messages beyond their max_message_size are refused before the host holds them") {
    constexpr int kPlugins = 4;
    std::string plugins = plugin_toml("good", "serve");
    for (int i = 0; i < kPlugins; ++i) plugins += hostile("big" + std::to_string(i), "unfinished");
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugins));
    supervisor.set_output_fd(-1);
    const std::size_t before = resident_kib();
    supervisor.start_all();
    for (int i = 0; i < kPlugins; ++i) {
        const std::string name = "big" + std::to_string(i);
        INFO(name);
        REQUIRE(run_until(io, [&] { return in_state(supervisor, name, PluginState::Failed); }, std::chrono::seconds(60)));
        CHECK_THAT(status_of(supervisor, name).last_exit, Catch::Contains("refused"));
        UNSCOPED_INFO(status_of(supervisor, name).last_exit);
    }
    const std::size_t grown_mib = (resident_kib() - std::min(before, resident_kib())) / 1024;
    WARN("host RSS grew by " << grown_mib << " MiB for " << kPlugins << " plugins announcing 64 MiB messages");
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
    CHECK(grown_mib <= 16);
#endif
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    Result<Message> reply = call(io, supervisor, "good", {9});
    REQUIRE(reply.ok());
    CHECK(std::vector<std::uint8_t>(reply->body.begin(), reply->body.end()) == std::vector<std::uint8_t>{9});
}

TEST_CASE("max_message_size: 4MiB by default, 64KiB to 64MiB, naming the key") {
    CHECK(config_of(plugin_toml("p", "serve")).plugins.at("p").supervision.max_message_size == std::size_t{4} << 20);
    CHECK(config_of(plugin_toml("p", "serve", "max_message_size = \"64MiB\"\n")).plugins.at("p").supervision.max_message_size ==
          std::size_t{64} << 20);
    CHECK(config_of(plugin_toml("p", "serve", "max_message_size = 65536\n")).plugins.at("p").supervision.max_message_size == 65536);
    CHECK_THROWS_WITH(config_of(plugin_toml("p", "serve", "max_message_size = \"65MiB\"\n")),
                      Catch::Contains("max_message_size") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(config_of(plugin_toml("p", "serve", "max_message_size = 1000\n")),
                      Catch::Contains("max_message_size") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(config_of(plugin_toml("p", "serve", "max_message_size = true\n")), Catch::Contains("max_message_size"));
}

// Red team, round 9 (amplification): the host parses every type a plugin announces before it
// counts the plugin as ready, all in one handler of its loop. Two plugins announce 3.2 MiB of
// descriptions each, as long and with as many members: one in structs of 256 members (the
// most one may have), one in structs of 16. Before round 9 the parser compared each member
// name with all before it, and the first cost the loop 3-4 times the second (measured here:
// see docs/supervisor.md, "Round 9: amplification"); the names are now hashed and both cost
// the same. The host's CPU time for each is its host_cpu; the bound is generous.
TEST_CASE("redteam protocol: announcing structs of 256 members costs the host no more than structs of 16") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(hostile("wide", "wide-types") + hostile("plain", "plain-types")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "wide", PluginState::Ready); }, std::chrono::seconds(60)));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "plain", PluginState::Ready); }, std::chrono::seconds(60)));
    const auto wide = std::chrono::duration_cast<std::chrono::microseconds>(status_of(supervisor, "wide").host_cpu);
    const auto plain = std::chrono::duration_cast<std::chrono::microseconds>(status_of(supervisor, "plain").host_cpu);
    WARN("host CPU time until ready: 256-member structs " << wide.count() << " us, 16-member structs " << plain.count()
                                                          << " us");
    REQUIRE(plain.count() > 0);
    CHECK(double(wide.count()) < 2.0 * double(plain.count()));
}

// Red team, round 9: host_cpu_budget is kept per process, and a restart started the new one
// with a fresh budget, so the loop's cost of a ready check was never paid back: restarting a
// plugin announcing 3.2 MiB of types (`airlockctl restart` and `call --wait` in a loop) cost
// the loop 64 ms a cycle, 69% of one CPU, charged to no one. The new process now owes what
// the last one left unpaid (at most what half of ready_timeout pays back), so its messages
// wait from its first one and the budget report comes before it is ready; before, its fresh
// budget took the whole ready check and the report came after it.
TEST_CASE("redteam protocol: a restarted plugin owes the host CPU time its previous process left unpaid") {
#if defined(__SANITIZE_THREAD__)
    // Under ThreadSanitizer reading the 3.2 MiB announcement costs the loop about ten times
    // as much (850 ms and more), which 5 ms a second pays back only after minutes: the order
    // of the report and the ready line is checked by the plain and ASan builds.
    WARN("skipped under ThreadSanitizer: the announcement's cost outlasts the budget's payback");
    return;
#endif
    boost::asio::io_context io;
    // 5 ms a second: the first process's debt (its ready check, 60-250 ms) takes 10 s or more
    // to pay back, far longer than a restart, and the new process owes at most 12.5 ms of it.
    Supervisor supervisor(io, config_of(hostile("wide", "wide-types", "host_cpu_budget = \"5ms\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    const std::string ready = "state ready (pid";
    const std::string report = "costs the host more than its host_cpu_budget";
    // The position of the n-th line (from 1) holding `text`, or the number of lines.
    auto nth = [&](const std::string& text, int n) {
        const auto lines = supervisor.recent_logs("wide");
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i].find(text) != std::string::npos && --n == 0) return i;
        return lines.size();
    };
    const auto lines = [&] { return supervisor.recent_logs("wide").size(); };
    REQUIRE(run_until(io, [&] { return nth(ready, 1) < lines(); }, std::chrono::seconds(60)));
    // Its ready check cost the loop more than the 5 ms its budget holds: it leaves a debt.
    REQUIRE(supervisor.restart("wide").ok());
    REQUIRE(run_until(io, [&] { return nth(ready, 2) < lines(); }, std::chrono::seconds(60)));
    for (const auto& line : supervisor.recent_logs("wide")) UNSCOPED_INFO(line);
    CHECK(nth(report, 2) < nth(ready, 2));
    CHECK(in_state(supervisor, "wide", PluginState::Ready));
}
