// limits.tasks (pids cgroup), limits.cpu_quota (cpu cgroup), limits.wall, and what a new
// host does with the cgroups (and surviving processes) of a host that was SIGKILLed: end to
// end with real cgroups, real plugin processes and the real airlock-host binary.
//
// The project's machines run the tests as root with cgroup v1 pids and cpu hierarchies;
// where that is not so, a test that needs them says NOT TESTED with WARN.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

using namespace airlock::e2e;

namespace {

constexpr HostUser kNobody{65534, 65534};

template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

bool process_ended(pid_t pid) {
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return true;
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

/// This process's own cgroup v1 directory of `controller`, or "" without such a hierarchy.
std::string own_v1_cgroup(const std::string& controller) {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        if (line.substr(first + 1, second - first - 1) != controller) continue;
        std::string path = "/sys/fs/cgroup/" + controller + line.substr(second + 1);
        while (path.size() > 1 && path.back() == '/') path.pop_back();
        return path_exists(path) ? path : std::string();
    }
    return {};
}

bool v1_controller_here(const std::string& controller) {
    if (::geteuid() == 0 && !own_v1_cgroup(controller).empty()) return true;
    WARN("NOT TESTED: needs root and a cgroup v1 " << controller << " hierarchy (uid " << ::geteuid() << ")");
    return false;
}

/// The `  NAME: ...` line of `airlock-host check` output, or "<missing>".
std::string check_line(const std::string& output, const std::string& name) {
    const std::string key = "  " + name + ": ";
    for (const auto& line : split_lines(output)) {
        if (line.rfind(key, 0) == 0) return line.substr(key.size());
    }
    return "<missing>";
}

std::vector<pid_t> pids_in(const std::string& cgroup) {
    std::vector<pid_t> pids;
    std::istringstream text(read_text(cgroup + "/cgroup.procs"));
    for (pid_t pid = 0; text >> pid;) pids.push_back(pid);
    return pids;
}

/// `[plugin.attempt]` keys beyond exec/env/protocol, placed through the env line (the last
/// key attempt_toml writes before the plugin's subtables).
std::string env_and(const std::string& keys) { return std::string(R"({ LANG = "C.UTF-8" })") + "\n" + keys; }

} // namespace

TEST_CASE("a plugin starting threads in a loop stops at limits.tasks and the host says so", "[e2e]") {
    if (!v1_controller_here("pids")) return;
    const std::string parent = own_v1_cgroup("pids");
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "tasks = 16";
    std::string config = write_config(dir, attempt);

    Run check = run_host({"check", config});
    INFO(check.out << check.err);
    CHECK(check_line(check.out, "tasks limit") == "enforced by the pids cgroup (cgroup v1 pids controller, beneath " +
                                                      parent + ")");

    Run flood = exec_attempt(config, {"threads", "5000"});
    INFO(flood.out << flood.err);
    CHECK(flood.result("threads") == "blocked errno=EAGAIN");
    CHECK(flood.notes("threads ") == std::vector<std::string>{"threads 15"});  // 16 tasks: main + 15
    CHECK(has_line(flood.err, "airlock-host: plugin attempt \\(pid [0-9]+\\): reached its tasks limit of 16 "
                              "\\(thread or process creations refused: [1-9][0-9]*\\)"));
    CHECK(cgroups_of(parent, "attempt", flood.host_pid).empty());  // removed once reaped

    // The host still serves: the next plugin under the same limit starts and runs.
    Run noop = exec_attempt(config, {"noop"});
    CHECK(noop.result("noop") == "SUCCEEDED");
}

TEST_CASE("a busy plugin under cpu_quota 20% gets about its quota of one CPU", "[e2e]") {
    if (!v1_controller_here("cpu")) return;
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "cpu_quota = \"20%\"";
    std::string config = write_config(dir, attempt);
    airlock::host::HostConfig loaded = airlock::host::load_config(config);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
    REQUIRE(spawner.cpu_enforcement().cgroup);

    airlock::host::SpawnedPlugin plugin = spawner.launch(airlock::host::LaunchOptions{{"busy-loop", "1000"}});
    const std::string cgroup = plugin.cpu_cgroup;
    REQUIRE_FALSE(cgroup.empty());
    CHECK(read_text(cgroup + "/cpu.cfs_quota_us") == "20000");
    CHECK(read_text(cgroup + "/cpu.cfs_period_us") == "100000");
    // Until the plugin has said how much CPU it got (then its cgroup is still there to read).
    std::string out;
    while (out.find("attempt busy-loop:") == std::string::npos) {
        pollfd ready{plugin.stdout_pipe.get(), POLLIN, 0};
        REQUIRE(::poll(&ready, 1, 10'000) == 1);
        char buffer[512];
        const ssize_t got = ::read(plugin.stdout_pipe.get(), buffer, sizeof buffer);
        REQUIRE(got > 0);
        out.append(buffer, static_cast<std::size_t>(got));
    }
    INFO(out);
    const std::string stat = read_text(cgroup + "/cpu.stat");
    INFO(stat);
    long long cpu_ms = 0, wall_ms = 0;
    REQUIRE(std::sscanf(out.c_str() + out.find("note cpu_ms"), "note cpu_ms %lld wall_ms %lld", &cpu_ms, &wall_ms) == 2);
    CHECK(wall_ms >= 1000);
    CHECK(cpu_ms * 100 < wall_ms * 60);  // generous: the quota is 20%
    CHECK(has_line(stat, "nr_throttled [1-9][0-9]*"));  // the kernel did hold it back
    plugin.process.wait();
    CHECK_FALSE(path_exists(cgroup));
}

TEST_CASE("pids_cgroup and cpu_cgroup = require refuse to start where the host cannot make them", "[e2e]") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: switching the host to nobody needs root");
        return;
    }
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "cpu_quota = \"50%\"";
    std::string config = write_config(dir, attempt, "require");
    { std::ofstream(config, std::ios::app) << "[plugin.attempt.sandbox]\npids_cgroup = \"require\"\n"; }
    std::string cpu_config = write_config(dir, attempt, "cpu");
    { std::ofstream(cpu_config, std::ios::app) << "[plugin.attempt.sandbox]\ncpu_cgroup = \"require\"\n"; }
    std::string auto_config = write_config(dir, attempt, "auto");

    // As nobody, cgroup v1 limits cannot be set (EACCES): the controller is unavailable to this host.
    Run auto_check = run_host_as(kNobody, {"check", auto_config});
    INFO(auto_check.out << auto_check.err);
    CHECK(auto_check.status == 0);
    CHECK(check_line(auto_check.out, "tasks limit").rfind("NOT enforced (", 0) == 0);
    CHECK(check_line(auto_check.out, "cpu quota").rfind("NOT enforced (", 0) == 0);

    Run pids_exec = run_host_as(kNobody, {"exec", "--prefix", config, "attempt", "--", "noop"});
    INFO(pids_exec.out << pids_exec.err);
    CHECK(pids_exec.status == 69);  // EX_UNAVAILABLE
    CHECK(pids_exec.out.empty());   // the plugin never ran
    CHECK(has_line(pids_exec.err, "airlock-host: plugin 'attempt': pids_cgroup = \"require\" but no pids cgroup "
                                  "can be made, so limits.tasks would not be enforced: .*"));
    Run cpu_exec = run_host_as(kNobody, {"exec", "--prefix", cpu_config, "attempt", "--", "noop"});
    INFO(cpu_exec.out << cpu_exec.err);
    CHECK(cpu_exec.status == 69);
    CHECK(has_line(cpu_exec.err, "airlock-host: plugin 'attempt': cpu_cgroup = \"require\" but no cpu cgroup "
                                 "can be made, so limits.cpu_quota would not be enforced: .*"));
}

TEST_CASE("limits.wall stops a sleeping plugin under exec", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.env = env_and("stop_timeout = \"1s\"");
    attempt.limits = "wall = \"500ms\"";
    std::string config = write_config(dir, attempt);
    Run run = exec_attempt(config, {"sleep", "30"});
    INFO(run.out << run.err);
    CHECK(run.result("sleep") == "<missing>");  // it never finished its sleep
    CHECK(run.status == 128 + SIGTERM);         // protocol none: SIGTERM is its stop request
    CHECK(has_line(run.err, "airlock-host: plugin attempt \\(pid [0-9]+\\): exceeded its wall-clock limit of 500ms"));

    // A plugin that ignores the stop is killed once stop_timeout has passed.
    Run stubborn = exec_attempt(config, {"sleep-ignoring-term", "30"});
    INFO(stubborn.out << stubborn.err);
    CHECK(stubborn.status == 128 + SIGKILL);
    CHECK(has_line(stubborn.err, "airlock-host: plugin attempt \\(pid [0-9]+\\): exceeded its wall-clock limit of "
                                 "500ms"));
}

TEST_CASE("limits.wall stops a sleeping plugin under run, and the restart policy counts it as a failure", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.env = env_and("args = [\"sleep\", \"30\"]\nstop_timeout = \"1s\"\nrestart = \"on-failure\"\n"
                          "restart_delay = \"100ms\"");
    attempt.limits = "wall = \"1s\"";
    std::string config = write_config(dir, attempt);
    StartedHost host = start_host({"run", config});
    REQUIRE(host.pid > 0);
    const bool restarted = eventually([&] {
        const std::string out = read_all(host.out);
        return has_line(out, "\\[host\\] plugin attempt \\(pid [0-9]+\\): exceeded its wall-clock limit of 1s") &&
               out.find("restarting in") != std::string::npos;
    });
    ::kill(host.pid, SIGTERM);
    Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK(restarted);
    CHECK(has_line(run.out, ".*plugin attempt: killed by signal 15 \\(SIGTERM\\) \\(exceeded its wall-clock limit of "
                            "1s\\)"));
}

TEST_CASE("a child that outlives a SIGKILLed host is killed by the next host, and the stale cgroups go", "[e2e]") {
    if (!v1_controller_here("pids") || !v1_controller_here("memory")) return;
    const std::string pids_parent = own_v1_cgroup("pids");
    const std::string memory_parent = own_v1_cgroup("memory");
    TempDir dir;
    AttemptConfig attempt;
    attempt.env = env_and("args = [\"fork-escape\", \"120\"]\nrestart = \"no\"");
    attempt.limits = "memory = \"64MiB\"\nprocesses = 64";
    attempt.syscalls = "allow = [\"@process\", \"setsid\"]";  // fork, and leave the session
    // Only without a PID namespace can the child survive at all (the next test).
    attempt.sandbox = "namespaces = \"off\"";
    std::string config = write_config(dir, attempt);

    StartedHost host = start_host({"run", config});
    REQUIRE(host.pid > 0);
    std::vector<std::string> pids_cgroups;
    REQUIRE(eventually([&] {
        pids_cgroups = cgroups_of(pids_parent, "attempt", host.pid);
        return pids_cgroups.size() == 1 && pids_in(pids_cgroups[0]).size() == 2;
    }));
    const std::vector<std::string> memory_cgroups = cgroups_of(memory_parent, "attempt", host.pid);
    REQUIRE(memory_cgroups.size() == 1);

    ::kill(host.pid, SIGKILL);  // no chance to clean up
    Run killed = finish_host(host);
    INFO(killed.out << killed.err);
    // The plugin dies by its parent-death signal; its child does not.
    REQUIRE(eventually([&] { return pids_in(pids_cgroups[0]).size() == 1; }));
    const pid_t survivor = pids_in(pids_cgroups[0])[0];
    CHECK_FALSE(process_ended(survivor));
    CHECK(path_exists(pids_cgroups[0]));
    CHECK(path_exists(memory_cgroups[0]));

    // A new host starts (any plugin): the survivor is killed and the stale cgroups removed.
    AttemptConfig other;
    Run next = exec_attempt(write_config(dir, other, "next"), {"noop"});
    INFO(next.out << next.err);
    CHECK(next.result("noop") == "SUCCEEDED");
    CHECK(eventually([&] { return process_ended(survivor); }));
    CHECK_FALSE(path_exists(pids_cgroups[0]));
    CHECK_FALSE(path_exists(memory_cgroups[0]));
}

TEST_CASE("namespaces: a SIGKILLed host takes the plugin and everything it forked with it (PID namespace)",
          "[e2e][namespaces][pid]") {
    if (::geteuid() != 0 || !v1_controller_here("pids")) return;
    const std::string pids_parent = own_v1_cgroup("pids");
    TempDir dir;
    AttemptConfig attempt;
    attempt.env = env_and("args = [\"fork-escape\", \"120\"]\nrestart = \"no\"");
    attempt.limits = "processes = 64";
    attempt.syscalls = "allow = [\"@process\", \"setsid\"]";  // fork, and leave the session
    attempt.sandbox = "namespaces = \"require\"";
    std::string config = write_config(dir, attempt);

    StartedHost host = start_host({"run", config});
    REQUIRE(host.pid > 0);
    std::vector<std::string> pids_cgroups;
    std::vector<pid_t> members;
    REQUIRE(eventually([&] {
        pids_cgroups = cgroups_of(pids_parent, "attempt", host.pid);
        if (pids_cgroups.size() != 1) return false;
        members = pids_in(pids_cgroups[0]);
        return members.size() == 2;  // the plugin and its child (its init stays outside)
    }));

    ::kill(host.pid, SIGKILL);  // no chance to clean up
    Run killed = finish_host(host);
    INFO(killed.out << killed.err);
    // The init dies by its parent-death signal, and the kernel ends its namespace with it:
    // the child that left the plugin's session and lost its death signal goes too.
    CHECK(eventually([&] { return pids_in(pids_cgroups[0]).empty(); }));
    for (pid_t member : members) CHECK(eventually([&] { return process_ended(member); }));
}
