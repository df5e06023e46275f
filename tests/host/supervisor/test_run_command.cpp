// `airlock-host run CONFIG` as a process: SIGHUP with a broken config keeps the plugins
// running, SIGTERM stops them all and exits 0.
#include "host_process.hpp"
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <sys/resource.h>

#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

using namespace airlock::supervisor_test;

namespace {

// The plugin's pid as the host reports it ("state ready (pid N, ..."); the plugin's own
// "pid N serving" line shows its pid inside its PID namespace.
pid_t served_pid(const std::string& out, const std::string& name) {
    std::smatch match;
    const std::regex pattern("\\[host\\] plugin " + name + ": state ready \\(pid ([0-9]+)");
    if (!std::regex_search(out, match, pattern)) return -1;
    return static_cast<pid_t>(std::stoi(match[1]));
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TEST_CASE("airlock-host run: a broken config on SIGHUP keeps the old plugins, SIGTERM stops all, exit 0") {
    TempDir dir;
    dir.write("host.toml", host_toml(plugin_toml("one", "serve") + plugin_toml("two", "serve")));
    HostProcess host(dir, dir.path() + "/host.toml");
    REQUIRE(host.wait_for("host.out", "[one] pid "));
    REQUIRE(host.wait_for("host.out", "[two] pid "));
    REQUIRE(host.wait_for("host.out", "[host] plugin one: state ready"));
    REQUIRE(host.wait_for("host.out", "[host] plugin two: state ready"));
    const pid_t one = served_pid(host.out(), "one");
    const pid_t two = served_pid(host.out(), "two");
    REQUIRE(one > 0);
    REQUIRE(two > 0);

    dir.write("host.toml", "[plugin.one]\nexec = 42\n");
    REQUIRE(::kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for("host.err", "reload failed, keeping the running configuration"));
    CHECK(host.err().find("host.toml") != std::string::npos);
    CHECK(::kill(one, 0) == 0);
    CHECK(::kill(two, 0) == 0);
    CHECK(::waitpid(host.pid(), nullptr, WNOHANG) == 0);  // the host still runs

    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    const int status = host.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const std::string out = host.out();
    CHECK(out.find("[host] plugin one: state exited") != std::string::npos);
    CHECK(out.find("[host] plugin two: state exited") != std::string::npos);
    CHECK(out.find("[host] all plugins stopped") != std::string::npos);
    CHECK(::kill(one, 0) != 0);
    CHECK(::kill(two, 0) != 0);
}

TEST_CASE("airlock-host run: SIGHUP with one changed plugin restarts only that one") {
    TempDir dir;
    dir.write("host.toml", host_toml(plugin_toml("one", "serve") + plugin_toml("two", "serve")));
    HostProcess host(dir, dir.path() + "/host.toml");
    REQUIRE(host.wait_for("host.out", "[one] pid "));
    REQUIRE(host.wait_for("host.out", "[two] pid "));
    REQUIRE(host.wait_for("host.out", "[host] plugin one: state ready"));
    REQUIRE(host.wait_for("host.out", "[host] plugin two: state ready"));
    const pid_t one = served_pid(host.out(), "one");
    const pid_t two = served_pid(host.out(), "two");

    dir.write("host.toml", host_toml(plugin_toml("one", "serve") + plugin_toml("two", "serve", "stop_timeout = \"2s\"\n")));
    REQUIRE(::kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for("host.out", "[host] plugin two: configuration changed"));
    REQUIRE(host.wait_for("host.out", "[host] plugin two: state ready", std::chrono::seconds(20)));
    // The second "ready" of two.
    const auto wait_second_ready = [&] {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < end) {
            const std::string out = host.out();
            const auto changed = out.find("[host] plugin two: configuration changed");
            if (out.find("[host] plugin two: state ready", changed) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    };
    REQUIRE(wait_second_ready());
    CHECK(::kill(one, 0) == 0);
    CHECK(::kill(two, 0) != 0);
    CHECK(host.out().find("[host] plugin one: configuration changed") == std::string::npos);
    REQUIRE(::kill(host.pid(), SIGINT) == 0);
    const int status = host.wait();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

#ifdef AIRLOCK_CTL_EXE
TEST_CASE("airlock-host run serves [host] control for airlockctl") {
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(plugin_toml("one", "serve")));
    HostProcess host(dir, dir.path() + "/host.toml");
    REQUIRE(host.wait_for("host.out", "[host] plugin one: state ready"));
    const std::string ctl = AIRLOCK_CTL_EXE;
    const int raw = std::system((ctl + " --socket " + socket + " status > " + dir.path() + "/ctl.out 2>&1").c_str());
    CHECK(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 0);
    const std::string status = dir.read("ctl.out");
    CHECK(status.find("one") != std::string::npos);
    CHECK(status.find("ready") != std::string::npos);
    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    const int exit_status = host.wait();
    REQUIRE(WIFEXITED(exit_status));
    CHECK(WEXITSTATUS(exit_status) == 0);
    CHECK(::access(socket.c_str(), F_OK) != 0);  // the socket file is removed
}
#endif

TEST_CASE("airlock-host run raises its soft open-file limit to the hard one, its plugins keep the limit it got") {
    TempDir dir;
    dir.write("host.toml", host_toml(plugin_toml("counted", "print-nofile") +
                                     plugin_toml("configured", "print-nofile", "[plugin.configured.limits]\nopen_files = 100\n")));
    // The host is started with soft 512 / hard 4096.
    HostProcess host(dir, dir.path() + "/host.toml", rlimit{512, 4096});
    REQUIRE(host.wait_for("host.out", "[counted] nofile "));
    REQUIRE(host.wait_for("host.out", "[configured] nofile "));
    // The host itself: soft raised to hard.
    const std::string limits = read_text("/proc/" + std::to_string(host.pid()) + "/limits");
    std::smatch match;
    REQUIRE(std::regex_search(limits, match, std::regex("Max open files +([0-9]+) +([0-9]+)")));
    CHECK(match[1] == "4096");
    CHECK(match[2] == "4096");
    // A plugin without limits.open_files: the limits the host was started with, not its raised one.
    CHECK_THAT(host.out(), Catch::Contains("[counted] nofile 512 4096"));
    // A configured one: its own.
    CHECK_THAT(host.out(), Catch::Contains("[configured] nofile 100 100"));
    ::kill(host.pid(), SIGTERM);
    CHECK(host.wait() == 0);
}
