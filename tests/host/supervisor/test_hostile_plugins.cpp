// Hostile plugins (real processes under the real supervisor) cannot hurt the host: what they
// announce is checked before they count as ready, and nothing their traffic sets off leaves
// the event loop. Each test shows a well-behaved plugin still answering afterwards.
#include "supervisor_test_support.hpp"

#include "../../support/lingering_socket.hpp"
#include "../../support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <stdexcept>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;

namespace {

// One `[plugin.NAME]` table for the hostile test plugin, never restarted.
std::string hostile_toml(const std::string& name, const std::string& mode) {
    return "[plugin." + name + "]\n"
           "exec = \"" AIRLOCK_HOSTILE_PLUGIN "\"\n"
           "args = [\"" + mode + "\"]\n"
           "protocol = \"airlock\"\n"
           "restart = \"no\"\n\n";
}

bool contains(const std::vector<std::string>& lines, const std::string& text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

// The good plugin's echo answers (the host still serves).
void require_echo_answers(boost::asio::io_context& io, Supervisor& supervisor, const std::string& name) {
    std::optional<Result<Message>> reply;
    supervisor.call_raw(name, "echo", std::vector<std::uint8_t>{9, 8, 7}, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    REQUIRE(run_until(io, [&] { return reply.has_value(); }));
    REQUIRE(reply->ok());
    CHECK(std::vector<std::uint8_t>((*reply)->body.begin(), (*reply)->body.end()) == std::vector<std::uint8_t>{9, 8, 7});
}

} // namespace

TEST_CASE("hostile announcements (empty struct, reserved tag, duplicate or bad names) are refused before ready") {
    struct Case {
        const char* mode;
        const char* why;
    };
    const std::vector<Case> cases = {
        {"empty-struct", "invalid ready notice: announced method 0 \"explode\": reply type: invalid type description at "
                         "offset 23: struct E has no members"},
        {"reserved-tag", "announced method 0 \"shadow\": tag 4 is below the application range (100 and up)"},
        {"duplicate-name", "announced method 1 \"echo\": the name is announced twice"},
        {"bad-name", "announced method 0 \"bad\\nname\": a method name is 1 to 64 bytes of A-Z a-z 0-9 _ . -"},
    };
    std::string plugins = plugin_toml("good", "serve");
    for (const Case& c : cases) plugins += hostile_toml(c.mode, c.mode);
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugins));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    for (const Case& c : cases) {
        INFO(c.mode);
        REQUIRE(run_until(io, [&] { return in_state(supervisor, c.mode, PluginState::Failed); }));
        const PluginStatus status = status_of(supervisor, c.mode);
        CHECK_THAT(status.last_exit, Catch::Contains(c.why));
        CHECK_THAT(status.last_exit, Catch::Contains("killed by signal"));
        CHECK_FALSE(contains(supervisor.recent_logs(c.mode), "state ready"));
        CHECK(supervisor.methods(c.mode).status().code() == StatusCode::InvalidState);
    }
    require_echo_answers(io, supervisor, "good");
}

TEST_CASE("a type description written in terminal escapes is refused, and the refusal quotes it printably") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + hostile_toml("escaping-type", "escaping-type")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "escaping-type", PluginState::Failed); }));
    // The parser's refusal quotes the description around the error; it comes from the plugin
    // and reaches the host's log and airlockctl status. Before the fix it went there raw: ESC
    // sequences, a newline forging a host line, C1 CSI, invalid UTF-8.
    const std::string exit = status_of(supervisor, "escaping-type").last_exit;
    CHECK_THAT(exit, Catch::Contains("request type: invalid type description at offset 0: expected a type"));
    CHECK_THAT(exit, Catch::Contains("(in \"?]0;owned??[2J?[host] plugin good: state forged??1m?\")"));
    std::vector<std::string> lines = supervisor.recent_logs("escaping-type");
    lines.push_back(exit);
    for (const std::string& line : lines) {
        INFO(line);
        CHECK(line.find_first_of("\x1b\n\r\x07") == std::string::npos);
        CHECK(line.find("\xc2\x9b") == std::string::npos);
        CHECK(line.find('\xff') == std::string::npos);
    }
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    require_echo_answers(io, supervisor, "good");
}

TEST_CASE("an exception while handling one plugin's messages fails that plugin, not the event loop") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + plugin_toml("bad", "serve", "restart = \"no\"\n")));
    supervisor.set_output_fd(-1);
    // A host-side bug that this plugin's log record sets off (as std::bad_alloc would).
    (void)supervisor.subscribe_logs([](const std::string& plugin, const std::string& line) {
        if (plugin == "bad" && line.find("[bad] serving in mode serve") != std::string::npos) {
            throw std::runtime_error("subscriber broke on this line");
        }
    });
    supervisor.start_all();
    // run_until() would pass an exception escaping the loop on to the test.
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "bad", PluginState::Failed); }));
    CHECK_THAT(status_of(supervisor, "bad").last_exit,
               Catch::Contains("refused: internal error while handling its messages: subscriber broke on this line"));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    require_echo_answers(io, supervisor, "good");
}

TEST_CASE("a plugin sending a message with more descriptors than the host takes is refused, the host keeps none") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + hostile_toml("hoarder", "many-fds")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "hoarder", PluginState::Failed); }));
    CHECK_THAT(status_of(supervisor, "hoarder").last_exit,
               Catch::Contains("the peer sent 65 descriptors in one message; the limit is 64"));
    require_echo_answers(io, supervisor, "good");
}

TEST_CASE("a plugin sending a descriptor whose close() waits cannot stop the host's loop") {
    // A peer of the plugin's connect grant hands it a TCP socket set to linger with unsent
    // data, in flight inside an AF_UNIX socket (a plugin cannot make a TCP socket itself); the
    // plugin sends that to the host in a malformed packet. The host drops it, and closing the
    // last reference waits the linger (20 s) unless the host closes it off its loop.
    test_support::TempDir dir;
    const std::string path = dir.path() + "/peer.sock";
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener.get(), 1) == 0);
    ::chmod(path.c_str(), 0666);

    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + hostile_toml("forwarder", "forward-received") +
                                        "[plugin.forwarder.grants]\npeer = { connect = \"" + path + "\" }\n"));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "forwarder", PluginState::Ready); }));

    test_support::LingeringSocketSender sender(20);
    UniqueFd peer(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));  // the host connected for the grant
    REQUIRE(peer.valid());
    const char byte = 'x';
    REQUIRE(sender.send_from_child(peer.get(), &byte, 1) == test_support::LingeringSocketSender::kSent);
    const auto sent = std::chrono::steady_clock::now();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "forwarder", PluginState::Failed); }));
    CHECK_THAT(status_of(supervisor, "forwarder").last_exit, Catch::Contains("shorter than its header"));
    require_echo_answers(io, supervisor, "good");
    CHECK(std::chrono::steady_clock::now() - sent < std::chrono::seconds(5));  // the linger is 20 s
}
