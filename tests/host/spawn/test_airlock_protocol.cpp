// Protocol "airlock" end to end: a plugin written against the connection library, run by the
// real spawner (real config loader, seccomp, Landlock) through `airlock-host exec` and the
// foreground-run API.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

using namespace airlock;
using namespace airlock::test;

namespace {

const std::string kPlugin = AIRLOCK_TEST_PLUGIN;
const std::string kHost = AIRLOCK_HOST_EXE;

ProbeConfig plugin_config(const std::vector<std::string>& args, const std::string& grants = "") {
    ProbeConfig config;
    config.exec = kPlugin;
    config.protocol = "airlock";
    config.args = args;
    config.grants = grants;
    return config;
}

// `airlock-host exec` running in the background, its stdout/stderr in files of `dir`.
class HostProcess {
public:
    HostProcess(const TempDir& dir, const std::vector<std::string>& arguments) : dir_(dir) {
        std::vector<std::string> argv_text = {kHost};
        argv_text.insert(argv_text.end(), arguments.begin(), arguments.end());
        std::vector<char*> argv;
        for (auto& text : argv_text) argv.push_back(text.data());
        argv.push_back(nullptr);
        const std::string out = dir.path() + "/host.out";
        const std::string err = dir.path() + "/host.err";
        pid_ = ::fork();
        if (pid_ == 0) {
            int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(out_fd, 1);
            ::dup2(err_fd, 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~HostProcess() {
        if (status_ < 0) {
            ::kill(pid_, SIGKILL);
            (void)wait();
        }
    }
    pid_t pid() const { return pid_; }
    std::string err() const { return dir_.read("host.err"); }
    std::string out() const { return dir_.read("host.out"); }
    /// Waits up to 10 s for `text` in the host's stderr.
    bool wait_for_err(const std::string& text) const {
        for (int i = 0; i < 1000; ++i) {
            if (err().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    /// The exit status (128+signal if killed).
    int wait() {
        int raw = 0;
        ::waitpid(pid_, &raw, 0);
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        return status_;
    }

private:
    const TempDir& dir_;
    pid_t pid_ = -1;
    int status_ = -1;
};

} // namespace

TEST_CASE("protocol airlock: grant table, log records, ready and a stop request that ends in status 0",
          "[airlock-protocol]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "granted text");
    ::chmod(input.c_str(), 0644);
    dir.file("plugin.toml", probe_toml(plugin_config({"input"}, "input = { file = " + quoted(input) +
                                                                    ", access = \"read\" }")));
    HostProcess host(dir, {"exec", "--prefix", dir.path() + "/plugin.toml", "probe"});
    const std::string expected = "[probe] plugin probe: grant input (file, read-only, 12 bytes): granted text\n";
    INFO(host.err());
    REQUIRE(host.wait_for_err(expected));
    // The plugin is ready (it logs after its ready notice): SIGTERM becomes a stop request.
    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait() == 0);
    CHECK(host.err() == expected + "[probe] stopping on request\n");
    CHECK(host.out().empty());
}

TEST_CASE("protocol airlock: the foreground run prints the plugin's log records prefixed", "[airlock-protocol]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "second\nline two");
    ::chmod(input.c_str(), 0644);
    host::Spawner spawner(probe_config(plugin_config({"input"}, "input = { file = " + quoted(input) +
                                                                     ", access = \"read\" }")));
    // Stop it from outside the loop: a thread-directed SIGTERM is read by the run's signalfd.
    const pthread_t runner = ::pthread_self();
    std::thread stopper([runner] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        ::pthread_kill(runner, SIGTERM);
    });
    UniqueFd out(::memfd_create("out", MFD_CLOEXEC));
    UniqueFd err(::memfd_create("err", MFD_CLOEXEC));
    host::ForegroundOptions options;
    options.output_fd = out.get();
    options.error_fd = err.get();
    options.forward_signals = true;
    host::PluginExit exit = host::run_in_foreground(spawner, options);
    stopper.join();
    const std::string errors = read_memfd(err.get());
    INFO(errors);
    CHECK(exit.shell_status() == 0);
    CHECK(errors == "[probe] plugin probe: grant input (file, read-only, 15 bytes): second\n"
                    "[probe] line two\n"
                    "[probe] stopping on request\n");
}

TEST_CASE("protocol airlock: a plugin speaking another protocol is refused", "[airlock-protocol]") {
    ProbeRun run = run_probe(plugin_config({"--wrong-protocol"}));
    INFO(run.all_err());
    CHECK(run.exit.shell_status() != 0);
    CHECK_THAT(run.all_err(),
               Catch::Contains("airlock-host: plugin probe (pid ") &&
                   Catch::Contains("refused: protocol mismatch: this side speaks \"airlock.plugin/1\"") &&
                   Catch::Contains("the peer speaks \"airlock.plugin/0\""));
}

TEST_CASE("protocol airlock: a plugin that never reports ready is killed after ready_timeout", "[airlock-protocol]") {
    ProbeConfig probe;  // the spawn probe speaks no protocol at all
    probe.protocol = "airlock";
    probe.args = {"sleep", "30"};
    std::string text = probe_toml(probe);
    const std::string line = "protocol = \"airlock\"\n";
    text.replace(text.find(line), line.size(), line + "ready_timeout = \"300ms\"\n");
    host::Spawner spawner(host::load_config_text(text, "/tmp/spawn-test.toml").plugins.at("probe"));
    const auto started = std::chrono::steady_clock::now();
    ProbeRun run = run_probe(spawner);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(run.all_err());
    CHECK(run.exit.signaled);
    CHECK(run.exit.signal == SIGKILL);
    CHECK_THAT(run.all_err(), Catch::Contains("refused: did not report ready within 300 ms"));
    CHECK(took < std::chrono::seconds(5));
}
