// The control server and airlockctl, end to end over a real socket, with a fake supervisor
// backend (the real Supervisor is exercised by the supervisor's own tests).
#include "../../support/io_thread.hpp"
#include "airlockctl_runner.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/codec.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <new>
#include <future>
#include <mutex>
#include <thread>

namespace ctl_test {

struct GreetRequest {
    airlock::String<64> name;
    std::uint8_t times = 1;
};
AIRLOCK_STRUCT(GreetRequest, name, times)

enum class Mood : std::uint8_t { Calm, Cheerful };
AIRLOCK_ENUM(Mood, Calm, Cheerful)

struct GreetReply {
    airlock::String<256> text;
    Mood mood = Mood::Calm;
};
AIRLOCK_STRUCT(GreetReply, text, mood)

} // namespace ctl_test

namespace {

using airlock::host::PluginState;
using airlock::host::PluginStatus;

/// A supervisor stand-in: two plugins, "hello" ready with one method, "idle" exited.
class FakeBackend final : public airlock::host::ControlBackend {
public:
    explicit FakeBackend(boost::asio::io_context& io) : io_(io) {}

    std::vector<PluginStatus> status() const override {
        PluginStatus hello;
        hello.name = "hello";
        hello.state = hello_state;
        hello.pid = 4242;
        hello.uptime = std::chrono::milliseconds(61500);
        hello.restarts = 2;
        hello.last_exit = "exited with status 1";
        hello.progress = airlock::protocol::ProgressReport{"indexing", 30, 120, "/data/b\nforged line"};
        hello.progress_age = std::chrono::milliseconds(2000);
        PluginStatus idle;
        idle.name = "idle";
        idle.last_violation = "intruder: violation: syscall socket denied";
        if (!hostile_text.empty()) {
            idle.last_exit = hostile_text;
            idle.state = PluginState::Failed;
        }
        return {hello, idle};
    }
    airlock::Status start(const std::string& name) override { return act(name, "start"); }
    airlock::Status stop(const std::string& name) override { return act(name, "stop"); }
    airlock::Status restart(const std::string& name) override { return act(name, "restart"); }
    std::vector<std::string> recent_logs(const std::string& name) const override {
        if (name != "hello") return {};
        if (!hostile_text.empty()) return {hostile_text};
        return {"[hello] one", "[hello] two"};
    }
    std::uint64_t subscribe_logs(airlock::host::Supervisor::LogSubscriber subscriber) override {
        subscribers_.emplace(++next_subscriber_, std::move(subscriber));
        return next_subscriber_;
    }
    void unsubscribe_logs(std::uint64_t id) override { subscribers_.erase(id); }
    airlock::Result<std::vector<airlock::protocol::MethodAnnouncement>> methods(const std::string& name) const override {
        if (name == "explode") throw std::bad_alloc();  // a host-side failure while serving a request
        if (name == "idle") return airlock::Status(airlock::StatusCode::InvalidState, "plugin idle is not ready (state: exited)");
        if (name != "hello") return airlock::Status(airlock::StatusCode::NotFound, "no plugin named \"" + name + "\"");
        airlock::protocol::MethodAnnouncement greet;
        greet.name = "greet";
        greet.tag = 100;
        greet.request_type = airlock::describe(airlock::spec_of<ctl_test::GreetRequest>());
        greet.reply_type = airlock::describe(airlock::spec_of<ctl_test::GreetReply>());
        return std::vector<airlock::protocol::MethodAnnouncement>{greet};
    }
    void call_raw(const std::string& name, const std::string& method, std::vector<std::uint8_t> body,
                  std::function<void(airlock::Result<airlock::Message>)> done, airlock::host::CallOptions options) override {
        last_call_timeout_ms = options.timeout ? options.timeout->count() : -1;
        // Answer later, like a real plugin.
        boost::asio::post(io_, [name, method, body = std::move(body), done = std::move(done)] {
            auto request = airlock::decode_value<ctl_test::GreetRequest>(body, {});
            if (!request) return done(request.status());
            ctl_test::GreetReply reply;
            for (int i = 0; i < request->times; ++i) reply.text += (i ? " hello " : "hello ") + request->name;
            reply.mood = request->times > 1 ? ctl_test::Mood::Cheerful : ctl_test::Mood::Calm;
            if (request->name == "fail") return done(airlock::Status(airlock::StatusCode::HandlerFailed, "greet: no"));
            airlock::Message message;
            message.kind = airlock::MessageKind::Reply;
            std::vector<int> fds;
            std::vector<std::uint8_t> encoded;
            (void)airlock::encode_value(reply, encoded, fds);
            message.body.assign(encoded.begin(), encoded.end());
            done(std::move(message));
        });
    }

    void emit(const std::string& plugin, const std::string& line) {
        for (auto& [id, subscriber] : subscribers_) subscriber(plugin, line);
    }
    std::size_t subscriber_count() const { return subscribers_.size(); }

    PluginState hello_state = PluginState::Ready;
    std::string hostile_text;  ///< when set: idle's last exit and hello's log lines
    std::vector<std::string> actions;
    std::atomic<long long> last_call_timeout_ms{-2};  ///< -2: no call yet, -1: no timeout given

private:
    airlock::Status act(const std::string& name, const std::string& what) {
        if (name != "hello" && name != "idle") return airlock::Status(airlock::StatusCode::NotFound, "no plugin named \"" + name + "\"");
        actions.push_back(what + " " + name);
        return {};
    }
    boost::asio::io_context& io_;
    std::map<std::uint64_t, airlock::host::Supervisor::LogSubscriber> subscribers_;
    std::uint64_t next_subscriber_ = 0;
};

/// A control server on its own io thread.
struct Harness : airlock::test_support::IoThread {
    explicit Harness(std::vector<uid_t> allowed = {}, mode_t mode = 0600)
        : path("/tmp/airlock-ctl-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".sock"),
          backend(io), server(io, backend, path, std::move(allowed)) {
        server.set_log([this](const std::string& line) {
            std::lock_guard lock(log_mutex);
            log.push_back(line);
        });
        airlock::Status started = server.start(mode);
        REQUIRE(started.ok());
        start_io_thread();
    }
    ~Harness() {
        on_io([this] { server.stop(); });
        stop_io_thread();
    }
    std::vector<std::string> logged() {
        std::lock_guard lock(log_mutex);
        return log;
    }

    static inline int counter = 0;
    std::string path;
    FakeBackend backend;
    airlock::host::ControlServer server;
    std::mutex log_mutex;
    std::vector<std::string> log;
};

using control_test::airlockctl;
using control_test::Run;

// A client connection of our own to the harness's control socket (established; 10 s timeout).
airlock::Connection connect_raw(const Harness& h) {
    airlock::Connection connection(airlock::protocol::control_protocol());
    connection.set_timeout(std::chrono::seconds(10));
    REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, h.path).ok());
    REQUIRE(connection.establish().ok());
    return connection;
}

Run ctl(Harness& h, std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", h.path});
    return airlockctl(args);
}

} // namespace

TEST_CASE("control: status through airlockctl, as a table and as JSON", "[control]") {
    Harness h;
    Run table = ctl(h, {"status"});
    INFO(table.output);
    CHECK(table.exit_code == 0);
    CHECK_THAT(table.output, Catch::Contains("NAME"));
    CHECK_THAT(table.output, Catch::Contains("hello  ready"));
    CHECK_THAT(table.output, Catch::Contains("4242"));
    CHECK_THAT(table.output, Catch::Contains("1m01s"));
    CHECK_THAT(table.output, Catch::Contains("exited with status 1"));
    CHECK_THAT(table.output, Catch::Contains("violation: intruder: violation: syscall socket denied"));
    // The latest progress report, with the plugin's newline masked so it cannot forge a line.
    CHECK_THAT(table.output, Catch::Contains("progress: indexing 30/120 (25%): /data/b?forged line (2.0s ago)"));

    Run json = ctl(h, {"status", "--json"});
    INFO(json.output);
    CHECK(json.exit_code == 0);
    CHECK_THAT(json.output, Catch::Contains("\"name\": \"hello\""));
    CHECK_THAT(json.output, Catch::Contains("\"uptime_ms\": 61500"));
    CHECK_THAT(json.output, Catch::Contains("\"pid\": null"));
    CHECK_THAT(json.output, Catch::Contains("\"progress\": {"));
    CHECK_THAT(json.output, Catch::Contains("\"total\": 120"));
    CHECK_THAT(json.output, Catch::Contains("\"progress\": null"));  // idle has none

    Run one = ctl(h, {"status", "idle"});
    CHECK(one.exit_code == 0);
    CHECK_THAT(one.output, !Catch::Contains("hello"));
    Run unknown = ctl(h, {"status", "nope"});
    CHECK(unknown.exit_code == 66);
    CHECK_THAT(unknown.output, Catch::Contains("no plugin named \"nope\" (configured: hello, idle)"));
}

TEST_CASE("control: describe and call with JSON through airlockctl", "[control]") {
    Harness h;
    Run describe = ctl(h, {"describe", "hello"});
    INFO(describe.output);
    CHECK(describe.exit_code == 0);
    CHECK_THAT(describe.output, Catch::Contains("greet (tag 100)"));
    CHECK_THAT(describe.output, Catch::Contains("request: struct GreetRequest{name:string<64>,times:uint8}"));
    CHECK_THAT(describe.output, Catch::Contains("reply:   struct GreetReply{text:string<256>,mood:enum Mood:uint8{Calm=0,Cheerful=1}}"));

    Run call = ctl(h, {"call", "hello", "greet", R"({"name":"world","times":2})"});
    INFO(call.output);
    CHECK(call.exit_code == 0);
    CHECK(call.output == "{\n  \"text\": \"hello world hello world\",\n  \"mood\": \"Cheerful\"\n}\n");
    CHECK(h.backend.last_call_timeout_ms == -1);  // no --timeout: the plugin's own call_timeout

    Run timed = ctl(h, {"call", "--timeout", "250", "hello", "greet", R"({"name":"x","times":1})"});
    CHECK(timed.exit_code == 0);
    CHECK(h.backend.last_call_timeout_ms == 250);
    // Durations as the config writes them; a bare number is still milliseconds, deprecated.
    CHECK_THAT(timed.output, Catch::Contains("--timeout 250 without a unit is deprecated; write 250ms"));
    Run with_unit = ctl(h, {"call", "--timeout", "2s", "hello", "greet", R"({"name":"x","times":1})"});
    CHECK(with_unit.exit_code == 0);
    CHECK(h.backend.last_call_timeout_ms == 2000);
    Run with_equals = ctl(h, {"call", "--timeout=1m", "hello", "greet", R"({"name":"x","times":1})"});
    CHECK(with_equals.exit_code == 0);
    CHECK(h.backend.last_call_timeout_ms == 60000);
    Run bad_timeout = ctl(h, {"call", "--timeout", "soon", "hello", "greet", "{}"});
    CHECK(bad_timeout.exit_code == 64);
    CHECK_THAT(bad_timeout.output, Catch::Contains("--timeout needs a duration such as 2s or 500ms"));
    Run too_long = ctl(h, {"call", "--timeout", "25h", "hello", "greet", "{}"});
    CHECK(too_long.exit_code == 64);
    CHECK_THAT(too_long.output, Catch::Contains("longer than 24h"));
    Run misplaced_timeout = ctl(h, {"status", "--timeout", "5"});
    CHECK(misplaced_timeout.exit_code == 64);

    Run bad_value = ctl(h, {"call", "hello", "greet", R"({"name":"world","times":300})"});
    CHECK(bad_value.exit_code == 65);
    CHECK_THAT(bad_value.output, Catch::Contains("times: 300 is out of range for uint8 [0, 255]"));
    Run bad_json = ctl(h, {"call", "hello", "greet", R"({"name":"world",)"});
    CHECK(bad_json.exit_code == 65);
    CHECK_THAT(bad_json.output, Catch::Contains("invalid JSON at line 1, column 17"));
    Run no_method = ctl(h, {"call", "hello", "wave", "{}"});
    CHECK(no_method.exit_code == 66);
    CHECK_THAT(no_method.output, Catch::Contains("plugin hello has no method \"wave\" (methods: greet)"));
    Run not_ready = ctl(h, {"describe", "idle"});
    CHECK(not_ready.exit_code == 69);
    CHECK_THAT(not_ready.output, Catch::Contains("plugin idle is not ready"));
    Run failing = ctl(h, {"call", "hello", "greet", R"({"name":"fail","times":1})"});
    CHECK(failing.exit_code == 70);
    CHECK_THAT(failing.output, Catch::Contains("greet: no"));
}

TEST_CASE("control: start, stop, restart and logs", "[control]") {
    Harness h;
    Run stop = ctl(h, {"stop", "hello"});
    CHECK(stop.exit_code == 0);
    CHECK(stop.output == "stopping hello\n");
    CHECK(ctl(h, {"start", "idle"}).exit_code == 0);
    CHECK(ctl(h, {"restart", "hello"}).exit_code == 0);
    Run unknown = ctl(h, {"restart", "ghost"});
    CHECK(unknown.exit_code == 66);
    CHECK_THAT(unknown.output, Catch::Contains("no plugin named \"ghost\""));
    CHECK(h.on_io([&] { return h.backend.actions; }) ==
          std::vector<std::string>{"stop hello", "start idle", "restart hello"});

    Run logs = ctl(h, {"logs", "hello"});
    CHECK(logs.exit_code == 0);
    CHECK(logs.output == "[hello] one\n[hello] two\n");
    CHECK(ctl(h, {"logs", "ghost"}).exit_code == 66);
}

TEST_CASE("control: airlockctl masks control characters in whatever text the host sends", "[control][hostile]") {
    Harness h;
    // Text a host does not mask (a host of --host-user, an older or broken host; this fake
    // backend passes it as it is): OSC title, BEL, clear screen, CSI as C1 U+009B, CR LF and a
    // forged line. Before, airlockctl printed it to the terminal as it came.
    const std::string hostile = "\x1b]0;pwned\x07\x1b[2J\xc2\x9b" "31m\r\n[host] forged line\xff";
    h.on_io([&] { h.backend.hostile_text = hostile; });
    auto clean = [](const std::string& text) {
        for (std::size_t i = 0; i < text.size(); ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c == 0xff) return false;
            if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) return false;
        }
        return true;
    };
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"status"}, {"logs", "hello"}}) {
        Run run = ctl(h, command);
        INFO(command.front() << ": " << run.output);
        CHECK(run.exit_code == 0);
        CHECK(clean(run.output));
        CHECK_THAT(run.output, Catch::Contains("?]0;pwned??[2J?31m??[host] forged line?"));
    }
}

TEST_CASE("control: follow_logs pushes new lines until the client leaves", "[control]") {
    Harness h;
    airlock::Connection connection = connect_raw(h);
    airlock::CallSession session(connection);
    std::vector<std::string> received;
    REQUIRE(session.on(airlock::protocol::control::log_line,
                       [&](airlock::protocol::LogLine& line) { received.push_back(line.plugin + "|" + line.line); })
                .ok());
    auto reply = session.call(airlock::protocol::control::follow_logs, airlock::protocol::FollowLogsRequest{"hello", true});
    REQUIRE(reply.ok());
    CHECK(reply->message == "following the logs of hello");
    h.on_io([&] {
        h.backend.emit("idle", "[idle] not for us");
        h.backend.emit("hello", "[hello] three");
        return 0;
    });
    while (received.size() < 3) REQUIRE(session.poll_once(std::chrono::seconds(10)).ok());
    CHECK(received == std::vector<std::string>{"hello|[hello] one", "hello|[hello] two", "hello|[hello] three"});
    CHECK(h.on_io([&] { return h.backend.subscriber_count(); }) == 1);
    connection.close();
    for (int i = 0; i < 200 && h.on_io([&] { return h.server.connection_count(); }) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(h.on_io([&] { return h.backend.subscriber_count(); }) == 0);
}

TEST_CASE("control: a client that sends requests but never reads the replies is closed", "[control]") {
    Harness h;
    airlock::Connection connection = connect_raw(h);
    std::vector<std::uint8_t> body;
    std::vector<int> no_fds;
    REQUIRE(airlock::encode_value(airlock::protocol::StatusRequest{""}, body, no_fds).ok());
    // Each status reply is a few hundred bytes; unbounded, the host would hold them all.
    airlock::Status sent;
    int requests = 0;
    for (; requests < 2000000 && sent.ok(); ++requests) {
        sent = connection.send(airlock::OutgoingMessage{airlock::protocol::control::status.tag,
                                                        airlock::MessageKind::Request,
                                                        static_cast<std::uint32_t>(requests + 1), body, no_fds});
    }
    INFO(requests << " requests sent: " << sent.to_string());
    CHECK_FALSE(sent.ok());  // the server closed us
    CHECK(requests < 2000000);
    // And it keeps serving everyone else.
    CHECK(ctl(h, {"status"}).exit_code == 0);
}

TEST_CASE("control: airlockctl logs --follow prints recent and new lines", "[control]") {
    Harness h;
    int out[2];
    REQUIRE(::pipe(out) == 0);
    const char* socket_arg = h.path.c_str();  // prepared before fork: the child only makes raw calls
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(out[1], 1);
        ::dup2(out[1], 2);
        ::close(out[0]);
        ::close(out[1]);
        ::execl(AIRLOCKCTL, "airlockctl", "--socket", socket_arg, "logs", "hello", "--follow", static_cast<char*>(nullptr));
        ::_exit(98);
    }
    ::close(out[1]);
    std::string output;
    auto read_until = [&](const std::string& wanted) {
        char buffer[1024];
        for (int i = 0; i < 500 && output.find(wanted) == std::string::npos; ++i) {
            pollfd watch{out[0], POLLIN, 0};
            if (::poll(&watch, 1, 20) == 1) {
                ssize_t n = ::read(out[0], buffer, sizeof buffer);
                if (n <= 0) break;
                output.append(buffer, static_cast<std::size_t>(n));
            }
        }
        return output.find(wanted) != std::string::npos;
    };
    CHECK(read_until("[hello] two\n"));
    // The subscription exists once the recent lines were printed; now a new line arrives.
    for (int i = 0; i < 200 && h.on_io([&] { return h.backend.subscriber_count(); }) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    h.on_io([&] {
        h.backend.emit("idle", "[idle] not for us");
        h.backend.emit("hello", "[hello] live");
        return 0;
    });
    CHECK(read_until("[hello] live\n"));
    CHECK(output == "[hello] one\n[hello] two\n[hello] live\n");
    ::kill(child, SIGTERM);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    ::close(out[0]);
}

TEST_CASE("control: a follower that stops reading loses lines instead of growing the host", "[control]") {
    Harness h;
    airlock::Connection connection = connect_raw(h);
    airlock::CallSession session(connection);
    std::vector<std::string> received;
    REQUIRE(session.on(airlock::protocol::control::log_line,
                       [&](airlock::protocol::LogLine& line) { received.push_back(line.line); })
                .ok());
    REQUIRE(session.call(airlock::protocol::control::follow_logs, airlock::protocol::FollowLogsRequest{"", false}).ok());
    std::string big(4000, 'x');
    h.on_io([&] {
        for (int i = 0; i < 5000; ++i) h.backend.emit("hello", big);  // 20 MB: far more than a socket holds
        return 0;
    });
    while (session.poll_once(std::chrono::milliseconds(300)).ok()) {
    }
    std::size_t delivered = received.size();
    CHECK(delivered > 0);
    CHECK(delivered < 5000);
    h.on_io([&] {
        h.backend.emit("hello", "[hello] after the flood");
        return 0;
    });
    while (received.size() < delivered + 2) REQUIRE(session.poll_once(std::chrono::seconds(10)).ok());
    CHECK(received[delivered] == "[control] " + std::to_string(5000 - delivered) +
                                     " log lines dropped: this client did not read fast enough");
    CHECK(received[delivered + 1] == "[hello] after the flood");
}

TEST_CASE("control: a peer that never finishes its handshake is closed", "[control]") {
    Harness h;
    h.on_io([&] {
        h.server.set_admission_timeout(std::chrono::milliseconds(100));
        return 0;
    });
    int raw = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    REQUIRE(raw >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", h.path.c_str());
    REQUIRE(::connect(raw, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        seen = h.on_io([&] { return h.server.connection_count(); }) == 1;
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::vector<std::string> log;
    for (int i = 0; i < 300 && log.empty(); ++i) {
        log = h.logged();
        if (log.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(log.size() == 1);
    CHECK_THAT(log[0], Catch::Contains("did not finish its handshake within 100 ms"));
    CHECK(h.on_io([&] { return h.server.connection_count(); }) == 0);
    ::close(raw);
}

TEST_CASE("control: a peer whose uid is not allowed is refused and logged", "[control]") {
    uid_t other = ::geteuid() + 12345;
    Harness h({other});
    Run refused = ctl(h, {"status"});
    INFO(refused.output);
    CHECK(refused.exit_code == 77);
    CHECK_THAT(refused.output, Catch::Contains("uid " + std::to_string(::geteuid()) + " may not use the control socket " + h.path));
    CHECK_THAT(refused.output, Catch::Contains("allowed uids: " + std::to_string(other)));
    std::vector<std::string> log;
    for (int i = 0; i < 200 && log.empty(); ++i) {
        log = h.logged();
        if (log.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(log.size() == 1);
    CHECK_THAT(log[0], Catch::StartsWith("refused a control connection from uid " + std::to_string(::geteuid()) + " (pid "));
    CHECK(h.on_io([&] { return h.backend.actions.empty(); }));
}

TEST_CASE("control: as root, a child that switched uid is refused by the default policy", "[control]") {
    if (::geteuid() != 0) {
        WARN("not root: the uid-switching child is skipped (the refusal itself is covered above)");
        return;
    }
    Harness h({}, 0666);  // the default allows only the host's uid (0); the file mode lets anyone connect
    int out[2];
    REQUIRE(::pipe(out) == 0);
    const char* socket_arg = h.path.c_str();  // prepared before fork: the child only makes raw calls
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(out[1], 1);
        ::dup2(out[1], 2);
        ::close(out[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(99);
        ::execl(AIRLOCKCTL, "airlockctl", "--socket", socket_arg, "stop", "hello", static_cast<char*>(nullptr));
        ::_exit(98);
    }
    ::close(out[1]);
    std::string output;
    char buffer[1024];
    ssize_t n = 0;
    while ((n = ::read(out[0], buffer, sizeof buffer)) > 0) output.append(buffer, static_cast<std::size_t>(n));
    ::close(out[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO(output);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 77);
    CHECK_THAT(output, Catch::Contains("uid 65534 may not use the control socket"));
    std::vector<std::string> log;
    for (int i = 0; i < 200 && log.empty(); ++i) {
        log = h.logged();
        if (log.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(log.size() == 1);
    CHECK_THAT(log[0], Catch::Contains("from uid 65534 (pid "));
    CHECK(h.on_io([&] { return h.backend.actions.empty(); }));  // nothing was stopped
}

TEST_CASE("control: airlockctl usage errors and an unreachable host", "[control]") {
    CHECK(airlockctl({}).exit_code == 64);
    CHECK(airlockctl({"frobnicate"}).exit_code == 64);
    CHECK(airlockctl({"stop"}).exit_code == 64);
    CHECK(airlockctl({"logs", "x", "--json"}).exit_code == 64);
    Run help = airlockctl({"--help"});
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.output, Catch::Contains("usage: airlockctl"));
    Run unreachable = airlockctl({"--socket", "/tmp/airlock-no-such-socket.sock", "status"});
    CHECK(unreachable.exit_code == 69);
    CHECK_THAT(unreachable.output, Catch::Contains("cannot reach the airlock host at /tmp/airlock-no-such-socket.sock"));
}

TEST_CASE("control: the socket file gets the requested mode and goes away with the server", "[control]") {
    std::string path;
    {
        Harness h({}, 0660);
        path = h.path;
        struct stat info {};
        REQUIRE(::stat(path.c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0660);
    }
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("control: an exception while serving one request answers it with an error, the host keeps serving", "[control]") {
    Harness h;
    Run exploded = ctl(h, {"describe", "explode"});
    INFO(exploded.output);
    CHECK(exploded.exit_code != 0);
    CHECK_THAT(exploded.output, Catch::Contains("internal error handling the request: out of memory"));
    Run status = ctl(h, {"status"});
    INFO(status.output);
    CHECK(status.exit_code == 0);
    CHECK_THAT(status.output, Catch::Contains("hello  ready"));
    Run call = ctl(h, {"call", "hello", "greet", R"({"name":"again","times":1})"});
    CHECK(call.exit_code == 0);
    CHECK_THAT(call.output, Catch::Contains("hello again"));
}
