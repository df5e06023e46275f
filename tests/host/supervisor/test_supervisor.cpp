// The supervisor with real confined plugin processes on one io_context.
#include "programs/supervised_api.hpp"
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Calls `method` of `plugin` with `body` and runs the loop until its reply; Timeout (from the
// test, not the supervisor) when none came within `limit`.
Result<Message> call_and_wait(boost::asio::io_context& io, Supervisor& supervisor, const std::string& plugin,
                              const std::string& method, const std::vector<std::uint8_t>& body,
                              milliseconds limit = std::chrono::seconds(20)) {
    std::optional<Result<Message>> reply;
    supervisor.call_raw(plugin, method, body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    if (!run_until(io, [&] { return reply.has_value(); }, limit)) {
        return Status(StatusCode::Timeout, "the test saw no reply from " + plugin + "." + method);
    }
    return std::move(*reply);
}

bool contains(const std::vector<std::string>& lines, const std::string& text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

} // namespace

TEST_CASE("a plugin reaches ready, announces its methods, answers a call and stops gracefully") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("echo", "serve")));
    supervisor.set_output_fd(-1);
    CHECK(in_state(supervisor, "echo", PluginState::Exited));
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "echo", PluginState::Ready); }));
    const PluginStatus ready = status_of(supervisor, "echo");
    CHECK(ready.pid > 0);
    CHECK(::kill(ready.pid, 0) == 0);

    auto methods = supervisor.methods("echo");
    REQUIRE(methods.ok());
    REQUIRE(methods->size() == 3);
    CHECK(std::string((*methods)[0].name) == "echo");
    CHECK(std::string((*methods)[1].name) == "inspect");
    CHECK(std::string((*methods)[2].name) == "work");
    CHECK(supervisor.methods("nobody").status().code() == StatusCode::NotFound);

    Result<Message> reply = call_and_wait(io, supervisor, "echo", "echo", {1, 2, 3, 4});
    REQUIRE(reply.ok());
    CHECK(std::vector<std::uint8_t>(reply->body.begin(), reply->body.end()) == std::vector<std::uint8_t>{1, 2, 3, 4});

    CHECK(call_and_wait(io, supervisor, "echo", "nope", {}).status().code() == StatusCode::NotFound);

    CHECK(supervisor.start("nobody").code() == StatusCode::NotFound);
    REQUIRE(supervisor.stop("echo").ok());
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "echo", PluginState::Exited); }));
    const PluginStatus stopped = status_of(supervisor, "echo");
    CHECK(stopped.pid == -1);
    CHECK(stopped.last_exit == "exited with status 0");
    const auto logs = supervisor.recent_logs("echo");
    CHECK(contains(logs, "[host] plugin echo: state ready"));
    CHECK(contains(logs, "[echo] serving in mode serve"));
    CHECK(contains(logs, "[host] plugin echo: state stopping (stop request sent)"));
    CHECK(contains(logs, "[host] plugin echo: state exited"));
}

TEST_CASE("a supervised plugin's scheduler autogroup weighs less than the host's") {
    // Each plugin is its own session, so with sched_autogroup its own autogroup: unlowered,
    // a few busy plugins starve the host's event loop (bench/soak_bench).
    std::ifstream own("/proc/self/autogroup");
    if (!own) {
        WARN("NOT TESTED: this kernel has no sched_autogroup (/proc/self/autogroup)");
        return;
    }
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("echo", "serve")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "echo", PluginState::Ready); }));
    std::string line;
    std::getline(std::ifstream("/proc/" + std::to_string(status_of(supervisor, "echo").pid) + "/autogroup"), line);
    CHECK_THAT(line, Catch::Matchers::EndsWith("nice 10"));
    bool stopped = false;
    supervisor.stop_all([&] { stopped = true; });
    CHECK(run_until(io, [&] { return stopped; }));
}

TEST_CASE("a crash loop backs off with growing delays and the start limit ends in failed") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("crashy", "crash",
                                                    "restart = \"on-failure\"\n"
                                                    "restart_delay = \"50ms\"\n"
                                                    "restart_max_delay = \"400ms\"\n"
                                                    "start_limit_burst = 5\n"
                                                    "start_limit_interval = \"60s\"\n")));
    supervisor.set_output_fd(-1);
    std::vector<Clock::time_point> starts;
    std::vector<std::string> lines;
    supervisor.subscribe_logs([&](const std::string& plugin, const std::string& line) {
        CHECK(plugin == "crashy");
        lines.push_back(line);
        if (line.find("state handshaking") != std::string::npos) starts.push_back(Clock::now());
    });
    supervisor.start_all();
    // Someone waiting for ready keeps waiting through the restarts and hears of the failure
    // only once the start limit ends them.
    std::optional<Status> ready;
    std::size_t starts_when_told = 0;
    supervisor.when_ready("crashy", std::chrono::seconds(30), [&](Status s) {
        ready = s;
        starts_when_told = starts.size();
    });
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "crashy", PluginState::Failed); }, std::chrono::seconds(30)));
    REQUIRE(run_until(io, [&] { return ready.has_value(); }));
    CHECK(ready->code() == StatusCode::InvalidState);
    CHECK_THAT(ready->message(), Catch::Contains("it is failed"));
    CHECK(starts_when_told == 5);
    REQUIRE(starts.size() == 5);
    std::vector<milliseconds> gaps;
    for (std::size_t i = 1; i < starts.size(); ++i) gaps.push_back(std::chrono::duration_cast<milliseconds>(starts[i] - starts[i - 1]));
    // Backoffs 50, 100, 200, 400 ms, as announced: each gap at least its backoff. (The whole
    // delay adds 10 times the last launch's duration, which varies with the machine's load, so
    // the growth is read from the announced backoffs, not from the gaps.)
    std::vector<std::string> backoffs;
    for (const std::string& line : lines)
        if (auto at = line.find("(backoff "); line.find("restarting in") != std::string::npos && at != std::string::npos)
            backoffs.push_back(line.substr(at));
    CHECK(backoffs == std::vector<std::string>{"(backoff 50 ms)", "(backoff 100 ms)", "(backoff 200 ms)", "(backoff 400 ms)"});
    CHECK(gaps[0] >= milliseconds(50));
    CHECK(gaps[1] >= milliseconds(100));
    CHECK(gaps[2] >= milliseconds(200));
    CHECK(gaps[3] >= milliseconds(400));
    const PluginStatus failed = status_of(supervisor, "crashy");
    CHECK(failed.restarts == 4);
    CHECK(failed.pid == -1);
    CHECK(failed.last_exit == "exited with status 1");
    CHECK(contains(lines, "start limit hit: 5 starts within 60000 ms"));
    CHECK(contains(lines, "[crashy] crashing"));
    // No more restarts once failed.
    run_until(io, [] { return false; }, milliseconds(600));
    CHECK(starts.size() == 5);
}

TEST_CASE("a plugin that ignores the stop request is killed after the stop timeout") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("stubborn", "ignore-stop", "stop_timeout = \"300ms\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "stubborn", PluginState::Ready); }));
    const auto asked = Clock::now();
    REQUIRE(supervisor.stop("stubborn").ok());
    CHECK(in_state(supervisor, "stubborn", PluginState::Stopping));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "stubborn", PluginState::Exited); }));
    const auto took = Clock::now() - asked;
    CHECK(took >= milliseconds(600));   // stop request, SIGTERM after 300 ms, SIGKILL after 300 more
    CHECK(took < std::chrono::seconds(10));
    const PluginStatus stopped = status_of(supervisor, "stubborn");
    CHECK(stopped.last_exit.find("killed by signal 9") == 0);
    const auto logs = supervisor.recent_logs("stubborn");
    CHECK(contains(logs, "did not stop within 300 ms: sending SIGTERM"));
    CHECK(contains(logs, "did not stop within 300 ms: sending SIGKILL"));
}

TEST_CASE("a stop or the supervisor's end during a launch kills the new process and nothing restarts") {
    boost::asio::io_context io;
    // Launches run on the launcher thread: right after start_all the plugin is still starting.
    {
        Supervisor supervisor(io, config_of(plugin_toml("early", "serve", "restart = \"always\"\n")));
        supervisor.set_output_fd(-1);
        supervisor.start_all();
        CHECK(in_state(supervisor, "early", PluginState::Starting));
        CHECK(status_of(supervisor, "early").pid == -1);
        bool stopped = false;
        REQUIRE(supervisor.stop("early").ok());
        supervisor.stop_all([&] { stopped = true; });
        REQUIRE(run_until(io, [&] { return stopped; }));
        const PluginStatus status = status_of(supervisor, "early");
        CHECK(status.state == PluginState::Exited);
        CHECK(status.restarts == 0);
        CHECK(status.pid == -1);
        // It may be started again afterwards, and then serves.
        REQUIRE(supervisor.start("early").ok());
        REQUIRE(run_until(io, [&] { return in_state(supervisor, "early", PluginState::Ready); }));
        CHECK(call_and_wait(io, supervisor, "early", "echo", {3}).ok());
        supervisor.start_all();  // already running: nothing new
        bool stopped_again = false;
        supervisor.stop_all([&] { stopped_again = true; });
        REQUIRE(run_until(io, [&] { return stopped_again; }));
    }
    // Destroyed while launching: the launch is waited for and its process killed and reaped.
    {
        Supervisor supervisor(io, config_of(plugin_toml("orphan", "serve")));
        supervisor.set_output_fd(-1);
        supervisor.start_all();
    }
    io.restart();
    io.run_for(milliseconds(100));  // a posted outcome for a supervisor that is gone does nothing
}

TEST_CASE("reload restarts only the changed plugin, stops removed ones and starts new ones") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("alpha", "serve") + plugin_toml("beta", "serve") +
                                        plugin_toml("gamma", "serve")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    auto all_ready = [&](std::vector<std::string> names) {
        return std::all_of(names.begin(), names.end(), [&](const std::string& n) { return in_state(supervisor, n, PluginState::Ready); });
    };
    REQUIRE(run_until(io, [&] { return all_ready({"alpha", "beta", "gamma"}); }));
    const pid_t alpha = status_of(supervisor, "alpha").pid;
    const pid_t beta = status_of(supervisor, "beta").pid;

    REQUIRE(supervisor.reload(config_of(plugin_toml("alpha", "serve") +
                                        plugin_toml("beta", "serve", "call_timeout = \"7s\"\n") +
                                        plugin_toml("delta", "serve")))
                .ok());
    REQUIRE(run_until(io, [&] {
        auto names = supervisor.status();
        const bool gamma_gone = std::none_of(names.begin(), names.end(), [](auto& s) { return s.name == "gamma"; });
        return gamma_gone && all_ready({"alpha", "beta", "delta"}) && status_of(supervisor, "beta").pid != beta;
    }));
    CHECK(status_of(supervisor, "alpha").pid == alpha);
    CHECK(status_of(supervisor, "alpha").restarts == 0);
    CHECK(status_of(supervisor, "beta").restarts == 1);
    CHECK(::kill(beta, 0) != 0);

    bool all_stopped = false;
    supervisor.stop_all([&] { all_stopped = true; });
    REQUIRE(run_until(io, [&] { return all_stopped; }));
    for (const auto& status : supervisor.status()) CHECK(status.state == PluginState::Exited);
}

TEST_CASE("a plugin sending garbage and flooding its output leaves the others answering") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        plugin_toml("noisy", "garbage", "restart = \"no\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    // The garbage plugin is refused (or fails) and is not restarted.
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "noisy", PluginState::Failed); }));
    for (int i = 0; i < 20; ++i) {
        REQUIRE(call_and_wait(io, supervisor, "good", "echo", {static_cast<std::uint8_t>(i)}).ok());
    }
    CHECK(supervisor.recent_logs("noisy").size() <= 512);
    CHECK(in_state(supervisor, "good", PluginState::Ready));
}

TEST_CASE("a plugin that never reports ready is killed after ready_timeout and counts as a failure") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("mute", "no-ready", "ready_timeout = \"300ms\"\nrestart = \"no\"\n")));
    supervisor.set_output_fd(-1);
    const auto started = Clock::now();
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "mute", PluginState::Failed); }));
    CHECK(Clock::now() - started >= milliseconds(300));
    const PluginStatus failed = status_of(supervisor, "mute");
    CHECK(failed.last_exit.find("killed by signal 9") == 0);
    CHECK(failed.last_exit.find("did not report ready within 300 ms") != std::string::npos);
}

TEST_CASE("a plugin killed by a violation reports it, the others keep answering") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        plugin_toml("intruder", "violate", "restart = \"no\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "intruder", PluginState::Failed); }));
    const PluginStatus intruder = status_of(supervisor, "intruder");
    CHECK(intruder.last_violation.find("ptrace") != std::string::npos);
    CHECK(intruder.last_exit.find("killed by signal") == 0);
    CHECK(contains(supervisor.recent_logs("intruder"), "forbidden system call"));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    CHECK(call_and_wait(io, supervisor, "good", "echo", {9}).ok());
}

TEST_CASE("a call whose plugin is killed for a violation returns the violation to the caller") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("victim", "violate-on-echo", "restart = \"no\"\n") +
                                        plugin_toml("good", "serve")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "victim", PluginState::Ready); }));
    Status status = call_and_wait(io, supervisor, "victim", "echo", {1}).status();
    INFO(status.message());
    CHECK(status.code() == StatusCode::PeerClosed);
    CHECK_THAT(status.message(), Catch::Matches("plugin victim \\(pid [0-9]+\\): forbidden system call ptrace "
                                                "\\(101\\): killed; ptrace is always denied: .+"));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    CHECK(call_and_wait(io, supervisor, "good", "echo", {9}).ok());
}

TEST_CASE("100 plugins reach ready under one supervisor and all answer a call") {
    std::string plugins;
    for (int i = 0; i < 100; ++i) plugins += plugin_toml("p" + std::to_string(i), "serve");
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugins));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    auto ready_count = [&] {
        auto all = supervisor.status();
        return std::count_if(all.begin(), all.end(), [](auto& s) { return s.state == PluginState::Ready; });
    };
    REQUIRE(run_until(io, [&] { return ready_count() == 100; }, std::chrono::seconds(120)));
    int answered = 0;
    for (int i = 0; i < 100; ++i) {
        supervisor.call_raw("p" + std::to_string(i), "echo", std::vector<std::uint8_t>{static_cast<std::uint8_t>(i)}, {}, [&, i](Result<Message> r) {
            if (r.ok() && r->body.size() == 1 && r->body[0] == static_cast<std::uint8_t>(i)) ++answered;
        });
    }
    REQUIRE(run_until(io, [&] { return answered == 100; }, std::chrono::seconds(60)));
    bool stopped = false;
    supervisor.stop_all([&] { stopped = true; });
    REQUIRE(run_until(io, [&] { return stopped; }, std::chrono::seconds(60)));
}

namespace {
long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        long value = 0;
        if (key == "VmRSS:" && status >> value) return value;
    }
    return -1;
}
} // namespace

TEST_CASE("a plugin flooding stdout leaves the others answering and host memory bounded") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + plugin_toml("flood", "flood")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] {
        return in_state(supervisor, "good", PluginState::Ready) && in_state(supervisor, "flood", PluginState::Ready);
    }));
    run_until(io, [] { return false; }, milliseconds(300));
    const long before = rss_kib();
    int answered = 0;
    const auto end = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < end) {
        REQUIRE(call_and_wait(io, supervisor, "good", "echo", {1}, std::chrono::seconds(5)).ok());
        ++answered;
    }
    CHECK(answered > 10);
    CHECK(rss_kib() - before < 64 * 1024);  // generous: lines are bounded and rings are capped
    CHECK(supervisor.recent_logs("flood").size() <= 512);
    CHECK(in_state(supervisor, "flood", PluginState::Ready));
}

TEST_CASE("an output nobody reads loses log lines instead of stalling the host") {
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    boost::asio::io_context io;
    // Half the host for the floods: what is tested is the log queue's bound (1 MiB), which the
    // floods must outrun. With the default budget a slow build (TSan) reads too few of their
    // lines a second to ever fill the queue, so nothing is dropped and there is no notice to
    // see. Three of them: each may make the host log only 640 KiB at once (its log budget),
    // less than the queue.
    const std::string flood_budget = "host_cpu_budget = \"500ms\"\n";
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + plugin_toml("flood", "flood", flood_budget) +
                                        plugin_toml("flood2", "flood", flood_budget) +
                                        plugin_toml("flood3", "flood", flood_budget)));
    supervisor.set_output_fd(write_end.get());  // a reader that has stopped reading
    supervisor.start_all();
    REQUIRE(run_until(io, [&] {
        return in_state(supervisor, "good", PluginState::Ready) && in_state(supervisor, "flood", PluginState::Ready);
    }));
    // The pipe (64 KiB) is full within moments; a blocking writer would stop the loop here.
    int answered = 0;
    const auto end = Clock::now() + std::chrono::seconds(1);
    while (Clock::now() < end) {
        REQUIRE(call_and_wait(io, supervisor, "good", "echo", {2}, std::chrono::seconds(5)).ok());
        ++answered;
    }
    CHECK(answered > 10);
    // The reader comes back: it learns how many lines it missed.
    REQUIRE(::fcntl(read_end.get(), F_SETFL, O_NONBLOCK) == 0);
    std::string seen;
    const auto read_until = Clock::now() + std::chrono::seconds(10);
    while (seen.find("log lines dropped: the host's output was not read fast enough") == std::string::npos &&
           Clock::now() < read_until) {
        char buffer[65536];
        const ssize_t got = ::read(read_end.get(), buffer, sizeof buffer);
        if (got > 0) seen.append(buffer, static_cast<std::size_t>(got));
        if (seen.size() > (std::size_t{8} << 20)) seen.erase(0, seen.size() - 4096);  // keep the tail
        io.poll();
        if (io.stopped()) io.restart();
    }
    CHECK_THAT(seen, Catch::Contains("log lines dropped: the host's output was not read fast enough"));
    supervisor.set_output_fd(-1);
}

TEST_CASE("a plugin that sends requests but never reads the replies cannot grow the host's memory") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + plugin_toml("spam", "spam", "restart = \"no\"\n")));
    supervisor.set_output_fd(-1);
    const long before = rss_kib();
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    // Without a bound on what the host queues for a peer that does not read, this plugin makes
    // the host buffer every acknowledgement it will never read (hundreds of MiB in seconds).
    // How soon the host has queued up to its bound depends on how fast it reads (a loaded or
    // TSan-slowed host takes minutes): wait for the outcome itself; the limit only stops a hang.
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "spam", PluginState::Failed); }, std::chrono::minutes(10)));
    CHECK(rss_kib() - before < 64 * 1024);
    const PluginStatus spam = status_of(supervisor, "spam");
    CHECK_THAT(spam.last_exit, Catch::Contains("killed by signal 9") && Catch::Contains("not reading"));
    CHECK(call_and_wait(io, supervisor, "good", "echo", {7}).ok());
}

TEST_CASE("typed calls carry descriptors, check the announced types and take a per-call timeout") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("p", "serve", "call_timeout = \"300ms\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    std::optional<Status> ready;
    supervisor.when_ready("p", std::chrono::seconds(10), [&](Status s) { ready = s; });
    REQUIRE(run_until(io, [&] { return ready.has_value(); }));
    REQUIRE(ready->ok());

    // A descriptor member travels with the call: the plugin sees the very same file.
    TempDir dir;
    dir.write("data", "x");
    const std::string path = dir.path() + "/data";
    struct stat expected {};
    REQUIRE(::stat(path.c_str(), &expected) == 0);
    supervised::InspectRequest inspect{UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))};
    REQUIRE(inspect.file.get() >= 0);
    std::optional<Result<supervised::InspectReply>> seen;
    supervisor.call<supervised::InspectRequest, supervised::InspectReply>("p", "inspect", inspect,
                                                                          [&](auto r) { seen.emplace(std::move(r)); });
    REQUIRE(run_until(io, [&] { return seen.has_value(); }));
    REQUIRE(seen->ok());
    CHECK((*seen)->device == static_cast<std::uint64_t>(expected.st_dev));
    CHECK((*seen)->inode == static_cast<std::uint64_t>(expected.st_ino));
    CHECK(::fcntl(inspect.file.get(), F_GETFD) >= 0);  // the caller's descriptor is still its own

    // Types that differ from the announced ones are refused before anything is sent.
    std::optional<Result<supervised::InspectReply>> mismatch;
    supervisor.call<supervised::WorkRequest, supervised::InspectReply>("p", "inspect", supervised::WorkRequest{1, 1},
                                                                       [&](auto r) { mismatch.emplace(std::move(r)); });
    REQUIRE(run_until(io, [&] { return mismatch.has_value(); }));
    CHECK(mismatch->status().code() == StatusCode::ProtocolMismatch);
    CHECK_THAT(mismatch->status().message(), Catch::Contains("p.inspect"));

    // 3 x 200 ms of work: over the plugin's 300 ms call_timeout, within a per-call 5 s.
    std::optional<Result<supervised::WorkReply>> too_slow;
    supervisor.call<supervised::WorkRequest, supervised::WorkReply>("p", "work", supervised::WorkRequest{3, 200},
                                                                    [&](auto r) { too_slow.emplace(std::move(r)); });
    REQUIRE(run_until(io, [&] { return too_slow.has_value(); }));
    CHECK(too_slow->status().code() == StatusCode::Timeout);
    CHECK_THAT(too_slow->status().message(), Catch::Contains("within 300 ms"));

    // Let the plugin finish that call (its late reply is dropped), so the next one does not run
    // nested inside it while it waits for a progress acknowledgement.
    run_until(io, [] { return false; }, milliseconds(600));

    CallOptions patient;
    patient.timeout = std::chrono::seconds(5);
    std::optional<Result<supervised::WorkReply>> worked;
    supervisor.call<supervised::WorkRequest, supervised::WorkReply>(
        "p", "work", supervised::WorkRequest{3, 200}, [&](auto r) { worked.emplace(std::move(r)); }, patient);
    REQUIRE(run_until(io, [&] { return worked.has_value(); }));
    REQUIRE(worked->ok());
    // Each progress call from inside the handler was answered by the host, which counted the
    // reports of both calls (the timed-out one still ran to its end in the plugin).
    CHECK((*worked)->acknowledged == 3);
    CHECK((*worked)->host_count == 6);
    const PluginStatus status = status_of(supervisor, "p");
    REQUIRE(status.progress.has_value());
    CHECK(std::string(status.progress->task) == "work");
    CHECK(status.progress->done == 3);
    CHECK(status.progress->total == 3);
    CHECK(status.progress_age < std::chrono::seconds(5));
    CHECK(contains(supervisor.recent_logs("p"), "[p] progress: work 3/3 (100%): step done"));
    CHECK(in_state(supervisor, "p", PluginState::Ready));
}

TEST_CASE("when_ready reports ready, a plugin that will not become ready, a timeout and unknown names") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") + plugin_toml("crash", "crash", "restart = \"no\"\n") +
                                        plugin_toml("mute", "no-ready", "ready_timeout = \"10s\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    std::map<std::string, Status> outcome;
    for (const char* name : {"good", "crash", "mute", "nobody"}) {
        supervisor.when_ready(name, milliseconds(name == std::string("mute") ? 300 : 10000),
                              [&outcome, name](Status s) { outcome.emplace(name, s); });
    }
    REQUIRE(run_until(io, [&] { return outcome.size() == 4; }));
    CHECK(outcome.at("good").ok());
    CHECK(outcome.at("crash").code() == StatusCode::InvalidState);
    CHECK_THAT(outcome.at("crash").message(), Catch::Contains("will not become ready") && Catch::Contains("status 1"));
    CHECK(outcome.at("mute").code() == StatusCode::Timeout);
    CHECK(outcome.at("nobody").code() == StatusCode::NotFound);
    // Already ready: answered at once (on the next turn of the loop).
    std::optional<Status> again;
    supervisor.when_ready("good", milliseconds(1), [&](Status s) { again = s; });
    REQUIRE(run_until(io, [&] { return again.has_value(); }));
    CHECK(again->ok());
}

namespace {

// The pids whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> found;
    DIR* proc = ::opendir("/proc");
    while (dirent* entry = proc != nullptr ? ::readdir(proc) : nullptr) {
        const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
        if (pid <= 0) continue;
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("PPid:", 0) == 0 && std::stoi(line.substr(5)) == parent) found.push_back(pid);
    }
    if (proc != nullptr) ::closedir(proc);
    return found;
}

std::string exe_of(pid_t pid) {
    char target[4096];
    const ssize_t size = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), target, sizeof target);
    return size < 0 ? "" : std::string(target, static_cast<std::size_t>(size));
}

} // namespace

TEST_CASE("a restart takes the standby child its spawner prepared after the reap") {
    if (::geteuid() != 0) {
        WARN("not root: no standby child (an unprivileged host builds a user namespace per start)");
        return;
    }
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("crashy", "crash",
                                                    "restart = \"on-failure\"\n"
                                                    "restart_delay = \"1s\"\n"
                                                    "start_limit_burst = 2\n")));
    supervisor.set_output_fd(-1);
    std::vector<pid_t> started;
    bool restarting = false;
    supervisor.subscribe_logs([&](const std::string&, const std::string& line) {
        if (auto at = line.find("state handshaking"); at != std::string::npos) {
            const auto pid_at = line.find("pid ", at);
            if (pid_at != std::string::npos) started.push_back(std::atoi(line.c_str() + pid_at + 4));
        }
        if (line.find("restarting in") != std::string::npos) restarting = true;
    });
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return restarting; }));
    // During the restart delay: the standby's launch child (still this program's image, not
    // yet airlock-pid-init) and below it the plugin, parked before its exec.
    pid_t parked = -1;
    for (pid_t child : children_of(::getpid())) {
        if (exe_of(child) != exe_of(::getpid())) continue;
        const std::vector<pid_t> below = children_of(child);
        if (below.size() == 1) parked = below[0];
    }
    REQUIRE(parked > 0);
    REQUIRE(run_until(io, [&] { return started.size() == 2; }));
    CHECK(started[1] == parked);
    CHECK(started[0] != parked);
}

TEST_CASE("a plugin that is never restarted keeps no standby child after it stops") {
    if (::geteuid() != 0) {
        WARN("not root: no standby child (an unprivileged host builds a user namespace per start)");
        return;
    }
    // The launch child of a standby still runs this program's image (not yet airlock-pid-init).
    const auto standby_children = [] {
        int count = 0;
        for (pid_t child : children_of(::getpid()))
            if (exe_of(child) == exe_of(::getpid())) ++count;
        return count;
    };
    for (const char* restart : {"on-failure", "no"}) {
        INFO("restart = " << restart);
        boost::asio::io_context io;
        Supervisor supervisor(io, config_of(plugin_toml("once", "serve", std::string("restart = \"") + restart + "\"\n")));
        supervisor.set_output_fd(-1);
        supervisor.start_all();
        REQUIRE(run_until(io, [&] { return in_state(supervisor, "once", PluginState::Ready); }));
        REQUIRE(supervisor.stop("once").ok());
        REQUIRE(run_until(io, [&] { return in_state(supervisor, "once", PluginState::Exited); }));
        CHECK(standby_children() == (std::string(restart) == "no" ? 0 : 1));
    }
}
