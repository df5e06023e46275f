// Red team, lifecycle: what the host does to a plugin by pid once the plugin may be gone.
#include "cpu_weight.hpp"
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <string>

namespace {

// A child that starts a session (so an autogroup) of its own and waits to be killed. With
// `pid` > 0 it gets that pid (clone3's set_tid: root in the initial PID namespace), as a
// process started after a plugin was reaped might; -1 when the pid is taken.
pid_t start_session_leader(pid_t pid = 0) {
    clone_args args{};
    args.exit_signal = SIGCHLD;
    if (pid > 0) {
        args.set_tid = reinterpret_cast<std::uintptr_t>(&pid);
        args.set_tid_size = 1;
    }
    const long child = ::syscall(SYS_clone3, &args, sizeof args);
    if (child == 0) {
        ::setsid();
        for (;;) ::pause();
    }
    return static_cast<pid_t>(child);
}

int pidfd_of(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

// The state letter of /proc/PID/stat ('T' stopped), or 0 when it cannot be read.
char process_state(pid_t pid) {
    std::string stat;
    std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/stat"), stat);
    const std::size_t close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

std::string autogroup_of(pid_t pid) {
    std::string line;
    std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/autogroup"), line);
    return line;
}

} // namespace

TEST_CASE("redteam lifecycle: a plugin's pid reused after its init reaped it never gets the plugin's CPU weight") {
    // Under a PID namespace the plugin is its init's child: it can exit and be reaped between
    // its launch and the launcher's write to /proc/PID/autogroup (pid_max is 32768 here), and
    // the write went to whatever process got the pid next.
    if (!std::ifstream("/proc/self/autogroup")) {
        WARN("NOT TESTED: this kernel has no sched_autogroup (/proc/self/autogroup)");
        return;
    }
    if (::geteuid() != 0) {
        WARN("NOT TESTED: reusing a chosen pid (clone3 set_tid) needs root");
        return;
    }
    pid_t victim = -1;
    pid_t plugin = -1;
    int stale_pidfd = -1;
    for (int attempt = 0; attempt < 20 && victim <= 0; ++attempt) {
        plugin = start_session_leader();
        REQUIRE(plugin > 0);
        stale_pidfd = pidfd_of(plugin);
        REQUIRE(stale_pidfd >= 0);
        kill_and_reap(plugin);  // the plugin is gone, its pidfd stays
        victim = start_session_leader(plugin);
        if (victim <= 0) ::close(stale_pidfd);  // someone else took the pid first: again
    }
    REQUIRE(victim == plugin);
    // The victim's autogroup is new (setsid): nice 0. Wait until it has its session.
    for (int i = 0; i < 200 && ::getsid(victim) != victim; ++i) ::usleep(1000);
    REQUIRE(::getsid(victim) == victim);
    REQUIRE_THAT(autogroup_of(victim), Catch::Matchers::EndsWith("nice 0"));

    airlock::host::detail::lower_plugin_cpu_weight(plugin, stale_pidfd);
    CHECK_THAT(autogroup_of(victim), Catch::Matchers::EndsWith("nice 0"));
    // No pidfd (the plugin was gone before the host could open one): nothing is written.
    airlock::host::detail::lower_plugin_cpu_weight(victim, -1);
    CHECK_THAT(autogroup_of(victim), Catch::Matchers::EndsWith("nice 0"));

    // The same call with the live process's own pidfd does lower it.
    const int live_pidfd = pidfd_of(victim);
    REQUIRE(live_pidfd >= 0);
    airlock::host::detail::lower_plugin_cpu_weight(victim, live_pidfd);
    CHECK_THAT(autogroup_of(victim), Catch::Matchers::EndsWith("nice 10"));
    ::close(live_pidfd);
    ::close(stale_pidfd);
    kill_and_reap(victim);
}

TEST_CASE("redteam lifecycle: a plugin that stops itself (SIGSTOP) is still stopped within twice stop_timeout") {
    // It reads neither the stop request nor its signals while stopped; only SIGKILL ends it.
    using namespace airlock::host;
    using namespace airlock::supervisor_test;
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("frozen", "self-stop", "stop_timeout = \"300ms\"\ncall_timeout = \"500ms\"\n")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "frozen", PluginState::Ready); }));
    const pid_t pid = status_of(supervisor, "frozen").pid;
    REQUIRE(run_until(io, [&] { return process_state(pid) == 'T'; }, std::chrono::seconds(5)));

    // A call to it times out; the loop is not held.
    std::optional<airlock::Status> called;
    const std::vector<std::uint8_t> body{1, 2, 3};
    supervisor.call_raw("frozen", "echo", body, {}, [&](airlock::Result<airlock::Message> r) { called = r.status(); });
    REQUIRE(run_until(io, [&] { return called.has_value(); }, std::chrono::seconds(5)));
    CHECK(called->code() == airlock::StatusCode::Timeout);

    const auto asked = std::chrono::steady_clock::now();
    bool stopped = false;
    supervisor.stop_all([&] { stopped = true; });
    REQUIRE(run_until(io, [&] { return stopped; }, std::chrono::seconds(10)));
    const auto took = std::chrono::steady_clock::now() - asked;
    CHECK(took < std::chrono::milliseconds(600 + 2000));
    CHECK(status_of(supervisor, "frozen").last_exit.find("killed by signal 9") != std::string::npos);
}

TEST_CASE("redteam lifecycle: a stop while a restart waits for the old process wins, the plugin stays stopped") {
    // Before, the restart (airlockctl restart, or a reload that changed the plugin) launched it
    // again once the old process was down, although the stop after it had been answered
    // "stopping".
    using namespace airlock::host;
    using namespace airlock::supervisor_test;
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("one", "serve")));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "one", PluginState::Ready); }));
    REQUIRE(supervisor.restart("one").ok());
    REQUIRE(supervisor.stop("one").ok());
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "one", PluginState::Exited); }));
    while (io.poll() > 0) {  // the callbacks posted when it went down
    }
    CHECK(in_state(supervisor, "one", PluginState::Exited));
    CHECK(status_of(supervisor, "one").pid <= 0);  // not running

    // A restart after the stop still restarts it.
    REQUIRE(supervisor.start("one").ok());
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "one", PluginState::Ready); }));
    REQUIRE(supervisor.stop("one").ok());
    REQUIRE(supervisor.restart("one").ok());
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "one", PluginState::Ready) &&
                                       status_of(supervisor, "one").restarts == 1; }));
}
