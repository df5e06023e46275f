// PluginClient: real confined plugins (the supervised test program, launched by the real
// spawner from a real TOML) whose lifecycle the client runs through a PluginRunner, as the
// supervisor does: the stop request, signals for a plugin that ignores it, the violation its
// filter killed it for, and nothing left behind (descriptors, children).
#include "../supervisor/programs/supervised_api.hpp"
#include "../supervisor/supervisor_test_support.hpp"

#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <cstdint>
#include <regex>
#include <set>
#include <optional>
#include <string>
#include <vector>

using namespace airlock;
using airlock::supervisor_test::config_of;
using airlock::supervisor_test::plugin_toml;
using host::PluginClient;

namespace {

// What the descriptors this process has open now refer to (one entry per descriptor). The
// Spawner keeps a spare cgroup for its next launch and replaces it at each reap (docs/sandbox.md),
// so a cgroup's sequence number is left out: a new spare in place of the old is no leak, while
// any extra descriptor still shows as one more entry.
std::multiset<std::string> open_fds() {
    static const std::regex cgroup_sequence("(/airlock-[^/]*-)[0-9]+");
    std::multiset<std::string> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    REQUIRE(dir != nullptr);
    const int own = ::dirfd(dir);
    while (dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name == "." || name == ".." || name == std::to_string(own)) continue;
        char target[256] = {};
        const ssize_t length = ::readlinkat(own, name.c_str(), target, sizeof target - 1);
        const std::string what(target, length > 0 ? static_cast<std::size_t>(length) : 0);
        fds.insert(std::regex_replace(what, cgroup_sequence, "$1N"));
    }
    ::closedir(dir);
    return fds;
}

// This process's children, running or unreaped ("pid ..." of each), or empty when it has none.
std::string children() {
    siginfo_t info{};
    errno = 0;
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD) return "";
    std::ifstream listed("/proc/self/task/" + std::to_string(::gettid()) + "/children");
    std::string running((std::istreambuf_iterator<char>(listed)), {});
    return "running: " + running + "; exited, unreaped: " + (info.si_pid != 0 ? std::to_string(info.si_pid) : "none");
}

// A spawner for the supervised test program in `mode`, after one launch (killed and reaped at
// once): what a spawner keeps between launches (its namespace template) is open before a
// test takes its baseline of descriptors.
host::Spawner spawner_of(const std::string& mode, const std::string& extra = "") {
    host::Spawner spawner(config_of(plugin_toml("subject", mode, extra)).plugins.at("subject"));
    (void)spawner.launch();
    return spawner;
}

// The descriptors the process holds with no spawner alive, after one has launched and gone
// (what a launch opens once per process: the init's memfd, /proc, the host's pidfd). A
// spawner keeps a standby child between launches, made anew after each reap
// (docs/spawning.md, "Standby child"), so the tests below compare with the spawner gone:
// the client's descriptors and processes, and the spawner's, must all have been released.
std::multiset<std::string> fds_without_a_spawner() {
    (void)spawner_of("serve");
    return open_fds();
}

// What a client reported while it ran its plugin.
struct Recorded {
    std::vector<std::string> reports, logs, violations;
    PluginClient::Events events() {
        PluginClient::Events on;
        on.report = [this](const std::string& text) { reports.push_back(text); };
        on.log = [this](const protocol::LogRecord& record) { logs.push_back(record.text); };
        on.output = [](const host::OutputLine&, const std::string&) {};
        on.violation = [this](const std::string& report) { violations.push_back(report); };
        return on;
    }
};

Result<Message> echo(PluginClient& client, std::vector<std::uint8_t> body) {
    return client.call_raw("echo", body, {}, std::chrono::seconds(10));
}

} // namespace

TEST_CASE("PluginClient: a ready plugin honours the stop request, and its descriptors and process are all released",
          "[client]") {
    REQUIRE(children() == "");
    const std::multiset<std::string> before = fds_without_a_spawner();
    std::optional<host::Spawner> spawner(spawner_of("serve"));
    Recorded recorded;
    pid_t pid = 0;
    {
        auto client = PluginClient::start(*spawner, recorded.events());
        REQUIRE(client.ok());
        pid = client->pid();
        CHECK(pid > 0);
        CHECK(client->find("echo") != nullptr);
        auto reply = echo(*client, {1, 2, 3});
        REQUIRE(reply.ok());
        CHECK(std::vector<std::uint8_t>(reply->body.begin(), reply->body.end()) == std::vector<std::uint8_t>{1, 2, 3});
        CHECK(client->running());
        host::PluginExit exit = client->stop();
        CHECK_FALSE(exit.signaled);
        CHECK(exit.exit_code == 0);
        CHECK_FALSE(client->running());
        // No signal was needed, and the log record it sent while serving arrived.
        for (const auto& report : recorded.reports) CHECK_THAT(report, !Catch::Contains("sending"));
        CHECK(recorded.logs == std::vector<std::string>{"serving in mode serve"});
        // A call after its exit says so instead of waiting.
        auto late = echo(*client, {4});
        CHECK(late.status().code() == StatusCode::PeerClosed);
        CHECK_THAT(late.status().message(), Catch::Contains("exited with status 0"));
    }
    spawner.reset();  // its standby child goes with it
    CHECK(open_fds() == before);
    CHECK(children() == "");
    CHECK(::kill(pid, 0) == -1);
}

TEST_CASE("PluginClient: a plugin that ignores the stop request gets SIGTERM, then SIGKILL, and is reaped",
          "[client]") {
    const std::multiset<std::string> before = fds_without_a_spawner();
    std::optional<host::Spawner> spawner(spawner_of("ignore-stop", "stop_timeout = \"200ms\"\n"));
    Recorded recorded;
    {
        auto client = PluginClient::start(*spawner, recorded.events());
        REQUIRE(client.ok());
        REQUIRE(echo(*client, {7}).ok());
        host::PluginExit exit = client->stop();
        CHECK(exit.signaled);
        CHECK(exit.signal == SIGKILL);
        std::vector<std::string> escalations;
        for (const auto& report : recorded.reports) {
            if (report.find("did not stop within 200 ms") != std::string::npos) escalations.push_back(report);
        }
        REQUIRE(escalations.size() == 2);
        CHECK_THAT(escalations[0], Catch::EndsWith("sending SIGTERM"));
        CHECK_THAT(escalations[1], Catch::EndsWith("sending SIGKILL"));
        CHECK(client->stop().signal == SIGKILL);  // stopping again reports the same exit
    }
    spawner.reset();  // its standby child goes with it
    CHECK(open_fds() == before);
    CHECK(children() == "");
}

TEST_CASE("PluginClient: a plugin its filter kills during a call reports the violation to the caller, and the next "
          "plugin is served", "[client]") {
    const std::multiset<std::string> before = fds_without_a_spawner();
    std::optional<host::Spawner> victim_spawner(spawner_of("violate-on-echo"));
    Recorded recorded;
    {
        auto victim = PluginClient::start(*victim_spawner, recorded.events());
        REQUIRE(victim.ok());
        auto reply = echo(*victim, {1});
        INFO(reply.status().to_string());
        CHECK(reply.status().code() == StatusCode::PeerClosed);
        CHECK_THAT(reply.status().message(), Catch::Matches("plugin subject \\(pid [0-9]+\\): forbidden system call "
                                                            "ptrace \\(101\\): killed; ptrace is always denied: .+"));
        CHECK(victim->fatal_violation() == reply.status().message());
        CHECK(victim->violations() == 1);
        REQUIRE(recorded.violations.size() == 1);
        CHECK(recorded.violations[0] == reply.status().message());
        host::PluginExit exit = victim->wait();
        CHECK(exit.signaled);
        CHECK(exit.signal == SIGKILL);
    }
    victim_spawner.reset();  // its standby child goes with it
    CHECK(open_fds() == before);
    CHECK(children() == "");

    host::Spawner good_spawner = spawner_of("serve");
    auto good = PluginClient::start(good_spawner);
    REQUIRE(good.ok());
    CHECK(echo(*good, {9}).ok());
    CHECK(good->stop().exit_code == 0);
}

TEST_CASE("PluginClient: a plugin that never reports ready is refused within ready_timeout and reaped", "[client]") {
    const std::multiset<std::string> before = fds_without_a_spawner();
    std::optional<host::Spawner> spawner(spawner_of("no-ready", "ready_timeout = \"300ms\"\n"));
    Recorded recorded;
    auto client = PluginClient::start(*spawner, recorded.events());
    REQUIRE_FALSE(client.ok());
    CHECK(client.status().code() == StatusCode::Timeout);
    CHECK_THAT(client.status().message(),
               Catch::Matches("plugin subject \\(pid [0-9]+\\): .*did not report ready within 300 ms.*"));
    spawner.reset();  // its standby child goes with it
    CHECK(open_fds() == before);
    CHECK(children() == "");
}

TEST_CASE("PluginClient: dropping a client whose plugin still runs kills and reaps it", "[client]") {
    const std::multiset<std::string> before = fds_without_a_spawner();
    std::optional<host::Spawner> spawner(spawner_of("ignore-stop"));
    pid_t pid = 0;
    {
        auto client = PluginClient::start(*spawner);
        REQUIRE(client.ok());
        pid = client->pid();
        REQUIRE(echo(*client, {5}).ok());
    }
    spawner.reset();  // its standby child goes with it
    CHECK(open_fds() == before);
    CHECK(children() == "");
    CHECK(::kill(pid, 0) == -1);
}

TEST_CASE("PluginClient: a call that outlives its timeout fails with Timeout and the plugin serves on", "[client]") {
    host::Spawner spawner = spawner_of("serve");
    auto client = PluginClient::start(spawner);
    REQUIRE(client.ok());
    // `work` takes 20 x 50 ms, far longer than the call may.
    auto slow = client->call<supervised::WorkRequest, supervised::WorkReply>("work", supervised::WorkRequest{20, 50},
                                                                              std::chrono::milliseconds(100));
    CHECK(slow.status().code() == StatusCode::Timeout);
    CHECK(slow.status().message() == "call subject.work did not complete within 100 ms");
    CHECK(echo(*client, {3}).ok());
    CHECK(client->stop().exit_code == 0);
}
