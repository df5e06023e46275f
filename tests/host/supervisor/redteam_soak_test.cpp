// Red team, round 8: nothing the host holds grows with what a long run repeats. A real
// `airlock-host run` (root, real confined plugins, a control socket) goes through many cycles
// of plugins stopped and started over the control socket, control clients that connect, ask
// and leave (or leave before their handshake), calls that time out, a plugin killed for a
// violation and restarted, a crash loop, and reloads that change one plugin and add and remove
// another; the host's descriptors (by kind), epoll registrations, threads, children, cgroup
// directories, locks and resident memory after the warm-up are compared with those at the
// end, every plugin in the same state both times. AIRLOCK_SOAK_ROUNDS=N runs N rounds instead
// of the default.
#include "host_process.hpp"
#include "supervisor_test_support.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace airlock::supervisor_test;
namespace control = airlock::protocol::control;
using namespace std::chrono_literals;

namespace {

int soak_rounds(int fallback) {
    const char* text = std::getenv("AIRLOCK_SOAK_ROUNDS");
    return text != nullptr && std::atoi(text) > 0 ? std::atoi(text) : fallback;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/// What the host process holds, as the kernel shows it.
struct HostCounts {
    std::map<std::string, int> fds;  ///< by kind: "socket", "pipe", "anon_inode:[pidfd]", a path ...
    int threads = 0;
    int children = 0;
    int zombies = 0;
    int cgroups = 0;  ///< airlock-*-<host pid>-* directories beneath the host's cgroups
    int locks = 0;    ///< /proc/locks entries of the host (dynamic uids)
    int epoll_watches = 0;  ///< descriptors registered with the host's epoll instances
    long rss_kib = 0;

    bool same_apart_from_memory(const HostCounts& other) const {
        return fds == other.fds && threads == other.threads && children == other.children &&
               zombies == other.zombies && cgroups == other.cgroups && locks == other.locks &&
               epoll_watches == other.epoll_watches;
    }
    std::string describe() const {
        std::string text = "threads " + std::to_string(threads) + ", children " + std::to_string(children) +
                           " (zombies " + std::to_string(zombies) + "), cgroup dirs " + std::to_string(cgroups) +
                           ", locks " + std::to_string(locks) + ", epoll watches " + std::to_string(epoll_watches) + ", VmRSS " + std::to_string(rss_kib) + " KiB, fds:";
        for (const auto& [kind, count] : fds) text += " " + kind + "=" + std::to_string(count);
        return text;
    }
};

std::string fd_kind(const std::string& target) {
    // socket:[N], pipe:[N], ipc:[N] ... (a namespace of a plugin's template): the kind alone.
    if (const auto colon = target.find(":["); colon != std::string::npos && target.back() == ']' &&
        target.find_first_not_of("0123456789", colon + 2) == target.size() - 1)
        return target.substr(0, colon);
    if (target.rfind("/sys/fs/cgroup/", 0) == 0) return "cgroup:" + target.substr(15, target.find('/', 15) - 15);
    if (target.rfind("/run/airlock/", 0) == 0) return "/run/airlock/...";
    return target;
}

/// The directories of the host's own cgroups, in every cgroup mount.
std::set<std::string> host_cgroup_dirs(pid_t host) {
    std::set<std::string> paths;
    std::istringstream lines(read_all("/proc/" + std::to_string(host) + "/cgroup"));
    for (std::string line; std::getline(lines, line);) paths.insert(line.substr(line.rfind(':') + 1));
    std::set<std::string> dirs;
    std::istringstream mounts(read_all("/proc/mounts"));
    for (std::string line; std::getline(mounts, line);) {
        std::istringstream fields(line);
        std::string source, point, type;
        fields >> source >> point >> type;
        if (type != "cgroup" && type != "cgroup2") continue;
        for (const auto& path : paths) {
            std::error_code error;
            const std::string dir = point + (path == "/" ? "" : path);
            if (std::filesystem::is_directory(dir, error)) dirs.insert(dir);
        }
    }
    return dirs;
}

HostCounts counts_of(pid_t host) {
    HostCounts counts;
    const std::string proc = "/proc/" + std::to_string(host);
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(proc + "/fd", error)) {
        const auto target = std::filesystem::read_symlink(entry.path(), error);
        if (error) continue;
        ++counts.fds[fd_kind(target.string())];
        if (target.string() == "anon_inode:[eventpoll]") {
            std::istringstream info(read_all(proc + "/fdinfo/" + entry.path().filename().string()));
            for (std::string line; std::getline(info, line);) counts.epoll_watches += line.rfind("tfd:", 0) == 0;
        }
    }
    for (const auto& task : std::filesystem::directory_iterator(proc + "/task", error)) {
        ++counts.threads;
        std::istringstream children(read_all(task.path().string() + "/children"));
        for (pid_t child = 0; children >> child;) {
            ++counts.children;
            const std::string stat = read_all("/proc/" + std::to_string(child) + "/stat");
            const auto close = stat.rfind(')');
            if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') ++counts.zombies;
        }
    }
    const std::string mark = "-" + std::to_string(host) + "-";
    for (const auto& dir : host_cgroup_dirs(host)) {
        for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
            const std::string name = entry.path().filename().string();
            if (name.rfind("airlock-", 0) == 0 && name.find(mark) != std::string::npos) ++counts.cgroups;
        }
    }
    std::istringstream locks(read_all("/proc/locks"));
    for (std::string line; std::getline(locks, line);) {
        std::istringstream fields(line);
        std::string number, kind, mode, access;
        pid_t pid = 0;
        fields >> number >> kind >> mode >> access >> pid;
        if (pid == host) ++counts.locks;
    }
    std::istringstream status(read_all(proc + "/status"));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) counts.rss_kib = std::atol(line.c_str() + 6);
    }
    return counts;
}

/// The counts once they stop changing (the host closes some descriptors on a thread of its
/// own, and the kernel releases a reaped plugin's cgroups a little later).
HostCounts settled_counts(pid_t host) {
    HostCounts last = counts_of(host);
    for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(100ms);
        HostCounts now = counts_of(host);
        if (now.same_apart_from_memory(last)) return now;
        last = now;
    }
    return last;
}

/// One control client: connects and finishes the handshake; leaves when destroyed.
struct ControlClient {
    explicit ControlClient(const std::string& socket) : connection(airlock::protocol::control_protocol()) {
        connection.set_timeout(60s);
        REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, socket).ok());
        REQUIRE(connection.establish().ok());
        session.emplace(connection);
    }
    airlock::Status act(const airlock::Method<airlock::protocol::PluginRequest, airlock::protocol::ActionReply>& method,
                        const std::string& plugin) {
        return session->call(method, airlock::protocol::PluginRequest{plugin}, 60s).status();
    }
    std::string state_of(const std::string& plugin) {
        auto status = session->call(control::status, airlock::protocol::StatusRequest{plugin}, 60s);
        REQUIRE(status.ok());
        REQUIRE(status->plugins.size() == 1);
        return std::string(status->plugins[0].state);
    }
    std::uint32_t restarts_of(const std::string& plugin) {
        auto status = session->call(control::status, airlock::protocol::StatusRequest{plugin}, 60s);
        REQUIRE(status.ok());
        REQUIRE(status->plugins.size() == 1);
        return status->plugins[0].restarts;
    }
    airlock::Status wait_ready(const std::string& plugin) {
        airlock::protocol::WaitReadyRequest request;
        request.plugin = plugin;
        request.timeout_ms = 30000;
        return session->call(control::wait_ready, request, 60s).status();
    }
    airlock::Status call(const std::string& plugin, const std::string& method, const std::string& json,
                         std::uint32_t timeout_ms) {
        airlock::protocol::CallRequest request;
        request.plugin = plugin;
        request.method = method;
        request.json_request = json;
        request.timeout_ms = timeout_ms;
        return session->call(control::call, request, 60s).status();
    }
    /// Waits until `plugin` is in `state` (as the control socket reports it).
    bool reaches(const std::string& plugin, const std::string& state) {
        for (int i = 0; i < 600; ++i) {
            if (state_of(plugin) == state) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    airlock::Connection connection;
    std::optional<airlock::CallSession> session;
};

/// Connects to the control socket and closes before any handshake.
void connect_and_leave(const std::string& socket) {
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socket.copy(address.sun_path, sizeof address.sun_path - 1);
    CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
}

std::string soak_config(const std::string& socket, bool second_variant) {
    const std::string fast_restarts =
        "restart = \"always\"\nrestart_delay = \"1ms\"\nrestart_max_delay = \"1ms\"\nstart_limit_burst = 1000000\n";
    std::string plugins =
        plugin_toml("good", "serve") +
        // Stopped and started over the control socket; a uid of its own and all three cgroups.
        plugin_toml("cycler", "serve",
                    "restart = \"no\"\nstop_timeout = \"" + std::string(second_variant ? "6s" : "5s") +
                        "\"\n[plugin.cycler.sandbox]\ndynamic_user = true\n"
                        "[plugin.cycler.limits]\nmemory = \"256MiB\"\ntasks = 32\ncpu_quota = \"50%\"\n") +
        plugin_toml("holder", "hold") + plugin_toml("crasher", "crash", fast_restarts) +
        // Killed by its memory cgroup's OOM killer, over and over.
        plugin_toml("hog", "oom",
                    fast_restarts + "[plugin.hog.syscalls]\nallow = [\"@ipc\"]\n[plugin.hog.limits]\nmemory = \"48MiB\"\n") +
        // Stopped at its wall-clock limit, over and over.
        plugin_toml("walled", "serve", fast_restarts + "[plugin.walled.limits]\nwall = \"100ms\"\n") +
        plugin_toml("violator", "violate-on-echo", fast_restarts + "[plugin.violator.limits]\nmemory = \"256MiB\"\n");
    if (second_variant) plugins += plugin_toml("transient", "serve", "[plugin.transient.sandbox]\ndynamic_user = true\n");
    return "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(plugins);
}

// Waits until plugins p1..pN are each ready or given up on, then asks the control socket:
// each ready one answers a call, each other one names `why` in its last exit. Returns how
// many are ready.
int ready_or_failed_with(HostProcess& host, const std::string& socket, int count, const std::string& why) {
    using namespace std::chrono_literals;
    for (int i = 1; i <= count; ++i) {
        const std::string name = "p" + std::to_string(i);
        const auto end = std::chrono::steady_clock::now() + 60s;
        auto settled = [&] {
            const std::string out = host.out();
            return out.find("plugin " + name + ": state ready") != std::string::npos ||
                   out.find("plugin " + name + ": state failed") != std::string::npos;
        };
        while (!settled() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(100ms);
        REQUIRE(settled());
    }
    ControlClient ctl(socket);
    auto status = ctl.session->call(control::status, airlock::protocol::StatusRequest{}, 60s);
    REQUIRE(status.ok());
    int ready = 0;
    for (const auto& plugin : status->plugins) {
        INFO(std::string(plugin.name) << ": " << std::string(plugin.state) << ": " << std::string(plugin.last_exit));
        if (std::string(plugin.state) == "ready") {
            ++ready;
            CHECK(ctl.call(std::string(plugin.name), "echo", "\"AQI=\"", 30000).ok());
        } else {
            CHECK_THAT(std::string(plugin.last_exit), Catch::Contains(why));
        }
    }
    return ready;
}

} // namespace

TEST_CASE("redteam soak: what the host holds stays the same over many stops, starts, calls, kills and reloads") {
    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", soak_config(socket, false));
    HostProcess host(dir, dir.path() + "/host.toml");
    REQUIRE(host.wait_for("host.out", "[host] plugin cycler: state ready"));
    REQUIRE(host.wait_for("host.out", "[host] plugin holder: state ready"));
    ControlClient ctl(socket);
    REQUIRE(ctl.wait_ready("good").ok());

    // Calls that time out on a plugin that never answers (before the fix each left the host
    // about 0.8 KiB until that plugin sent something: 2.4 MiB in the default rounds).
    const int hold_calls = 30;
    int reloads = 0;
    auto reload = [&] {
        ++reloads;
        dir.write("host.toml", soak_config(socket, reloads % 2 == 1));
        REQUIRE(::kill(host.pid(), SIGHUP) == 0);
        // Changed: cycler restarts (from the moment the reload is logged); transient comes or goes.
        REQUIRE(host.wait_for_count("host.out", "[host] reloaded ", reloads));
        REQUIRE(ctl.reaches("cycler", "ready"));
    };
    // One round of everything the soak repeats.
    auto round = [&](int index) {
        REQUIRE(ctl.act(control::stop, "cycler").ok());
        REQUIRE(ctl.reaches("cycler", "exited"));
        REQUIRE(ctl.act(control::start, "cycler").ok());
        REQUIRE(ctl.wait_ready("cycler").ok());
        for (int i = 0; i < 8; ++i) {
            ControlClient client(socket);
            CHECK(client.state_of("good") == "ready");
            CHECK(client.call("good", "echo", "\"AQI=\"", 30000).ok());
        }
        connect_and_leave(socket);
        {
            // Follows the logs, and waits for a plugin that is never ready; leaves without an answer.
            ControlClient client(socket);
            airlock::protocol::FollowLogsRequest follow;
            follow.plugin = "good";
            follow.include_recent = true;
            CHECK(client.session->call(control::follow_logs, follow, 60s).ok());
            airlock::protocol::WaitReadyRequest wait;
            wait.plugin = "crasher";
            wait.timeout_ms = 60000;
            CHECK(client.session->call_async(control::wait_ready, wait, [](airlock::Result<airlock::protocol::ActionReply>) {}).ok());
            (void)client.session->poll_once(0ms);
        }
        for (int i = 0; i < hold_calls; ++i) CHECK(ctl.call("holder", "hold", "true", 1).code() == airlock::StatusCode::Timeout);
        // Killed for the violation when it is up (it restarts after its backoff).
        (void)ctl.call("violator", "echo", "\"AQI=\"", 5000);
        if (index % 10 == 9) reload();
    };
    // The crash loop and the violator run in the rounds; they are stopped for each count.
    auto counts_at_rest = [&] {
        for (const char* name : {"crasher", "violator", "walled", "hog"}) REQUIRE(ctl.act(control::stop, name).ok());
        for (const char* name : {"crasher", "violator", "walled", "hog"}) REQUIRE(ctl.reaches(name, "exited"));
        REQUIRE(ctl.state_of("cycler") == "ready");
        HostCounts counts = settled_counts(host.pid());
        for (const char* name : {"crasher", "violator", "walled", "hog"}) REQUIRE(ctl.act(control::start, name).ok());
        return counts;
    };

    const int warm_up = 20;
    const int rounds = soak_rounds(100);
    for (int i = 0; i < warm_up; ++i) round(i);
    const HostCounts before = counts_at_rest();
    for (int i = warm_up; i < warm_up + rounds; ++i) round(i);
    REQUIRE(reloads % 2 == 0);  // the same configuration as at the first count
    const HostCounts after = counts_at_rest();
    INFO("after " << warm_up << " rounds: " << before.describe());
    INFO("after " << warm_up + rounds << " rounds: " << after.describe());
    CHECK(after.fds == before.fds);
    CHECK(after.threads == before.threads);
    CHECK(after.children == before.children);
    CHECK(after.zombies == 0);
    CHECK(after.cgroups == before.cgroups);
    CHECK(after.locks == before.locks);
    CHECK(after.epoll_watches == before.epoll_watches);
    // Heap the host kept per event would show here (before the fix of timed-out calls: 2.4-2.6
    // MiB). What may grow is bounded: the nine plugins' 512-line log rings fill during the first
    // rounds. Measured after the fixes: +108 to +532 KiB in 100 rounds, +428 KiB in 1000.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    // The host is built with the sanitizer too: its RSS holds the sanitizer's shadow memory and
    // quarantine (under TSan 3.3 MiB for what the plain build measures as about 0.5 MiB), so
    // the bound is the plain build's to check; every count above is checked here as well.
    WARN("sanitizer build: the host's RSS grew by " << after.rss_kib - before.rss_kib << " KiB (bound checked by the plain build)");
#else
    CHECK(after.rss_kib - before.rss_kib < 1536);
#endif
    std::printf("soak: %d rounds, %d reloads, restarts: crasher %u, violator %u, walled %u, hog %u\nsoak: before %s\nsoak: after  %s\n",
                rounds, reloads, ctl.restarts_of("crasher"), ctl.restarts_of("violator"), ctl.restarts_of("walled"), ctl.restarts_of("hog"),
                before.describe().c_str(),
                after.describe().c_str());

    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    const int status = host.wait();
    CHECK(WIFEXITED(status));
}

TEST_CASE("redteam soak: a plugin given up on holds nothing of the host's, as if it were not configured") {
    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string socket = dir.path() + "/control.sock";
    const std::string good = plugin_toml("good", "serve");
    // Crashes twice and is given up on: its Spawner had a uid lock, namespaces, a Landlock
    // ruleset and a spare set of cgroups, all kept for as long as the host ran.
    const std::string doomed =
        plugin_toml("doomed", "crash",
                    "restart_delay = \"1ms\"\nstart_limit_burst = 2\n[plugin.doomed.sandbox]\ndynamic_user = true\n"
                    "[plugin.doomed.limits]\nmemory = \"256MiB\"\ntasks = 32\n");
    dir.write("host.toml", "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(good + doomed));
    HostProcess host(dir, dir.path() + "/host.toml");
    REQUIRE(host.wait_for("host.out", "[host] plugin good: state ready"));
    REQUIRE(host.wait_for("host.out", "[host] plugin doomed: state failed"));
    const HostCounts failed = settled_counts(host.pid());

    dir.write("host.toml", "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(good));
    REQUIRE(::kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for("host.out", "[host] plugin doomed: removed from the configuration"));
    const HostCounts removed = settled_counts(host.pid());
    INFO("failed: " << failed.describe());
    INFO("removed: " << removed.describe());
    CHECK(failed.fds == removed.fds);
    CHECK(failed.cgroups == removed.cgroups);
    CHECK(failed.locks == removed.locks);

    // Started again, it is prepared again (and given up on again).
    dir.write("host.toml", "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(good + doomed));
    REQUIRE(::kill(host.pid(), SIGHUP) == 0);
    REQUIRE(host.wait_for_count("host.out", "[host] plugin doomed: state failed", 2));
    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait() == 0);
}

TEST_CASE("redteam soak: a host out of descriptors for its plugins says so per plugin and serves the rest") {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer runtime needs descriptors of its own: UBSan's vptr check tests memory
    // through a pipe, and at the host's open-file limit it reports a false "invalid vptr"
    // in the host (measured: a make_shared in main) and ends it. The plain and TSan builds run it.
    WARN("ASan/UBSan build: the host at its open-file limit is tested by the plain and TSan builds");
    return;
#endif
    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string socket = dir.path() + "/control.sock";
    // Twelve plugins, each with a uid of its own, namespaces and a memory cgroup, under an
    // open-file limit of 100: about the host's own needs and one or two plugins'.
    std::string plugins;
    for (int i = 1; i <= 12; ++i) {
        const std::string name = "p" + std::to_string(i);
        plugins += plugin_toml(name, "serve", "[plugin." + name + ".limits]\nmemory = \"256MiB\"\n");
    }
    dir.write("host.toml", "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(plugins));
    HostProcess host(dir, dir.path() + "/host.toml", rlimit{100, 100});
    // Every plugin ends ready or given up on (start limit: 5 starts in 10 s); the control
    // socket still takes a connection (before, the plugins given up on kept about seven
    // descriptors each and the host could not accept one: EMFILE). The step that ran out and
    // why, e.g. "cannot create a pipe: Too many open files".
    const int ready = ready_or_failed_with(host, socket, 12, "Too many open files");
    CHECK(ready >= 1);
    std::printf("out of descriptors: %d of 12 plugins ready\n", ready);
    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait() == 0);
}

TEST_CASE("redteam soak: a host at its pids limit says so per plugin and serves the rest") {
    // A pids cgroup of its own (v1) beneath this process's, with room for the host's threads
    // and a few plugins (each an init and the plugin, in cgroups beneath the host's).
    std::string own;
    std::istringstream lines(read_all("/proc/self/cgroup"));
    for (std::string line; std::getline(lines, line);) {
        if (line.find(":pids:") != std::string::npos) own = line.substr(line.find(":pids:") + 6);
    }
    const std::string mount = "/sys/fs/cgroup/pids";
    if (own.empty() || !std::filesystem::is_directory(mount + own)) {
        WARN("no cgroup v1 pids hierarchy at " << mount << ": not tested");
        return;
    }
    const std::string cgroup = mount + (own == "/" ? "" : own) + "/rt-soak-pids-" + std::to_string(::getpid());
    REQUIRE(::mkdir(cgroup.c_str(), 0755) == 0);
    struct Removed {
        std::string path;
        ~Removed() { ::rmdir(path.c_str()); }
    } removed{cgroup};
    std::ofstream(cgroup + "/pids.max") << "12\n";

    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string socket = dir.path() + "/control.sock";
    std::string plugins;
    for (int i = 1; i <= 8; ++i) {
        const std::string name = "p" + std::to_string(i);
        plugins += plugin_toml(name, "serve", "[plugin." + name + ".limits]\ntasks = 8\n");
    }
    dir.write("host.toml", "[host]\ncontrol = \"" + socket + "\"\n" + host_toml(plugins));
    HostProcess host(dir, dir.path() + "/host.toml", std::nullopt, cgroup + "/cgroup.procs");
    // The step whose clone failed, e.g. "cannot create the mount namespace of its private
    // root: Resource temporarily unavailable".
    const int ready = ready_or_failed_with(host, socket, 8, "Resource temporarily unavailable");
    CHECK(ready >= 1);
    CHECK(ready < 8);  // the limit was reached
    std::printf("at the pids limit: %d of 8 plugins ready\n", ready);
    REQUIRE(::kill(host.pid(), SIGTERM) == 0);
    CHECK(host.wait() == 0);
}
