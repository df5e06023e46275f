// The per-plugin memory cgroup, end to end with real cgroups and real processes: what it
// holds, that it goes away with the process (also after an OOM kill, with leftover children,
// and after the host itself was killed), what tmpfs pages cost, and what `airlock-host check`
// and `exec` say and do when the host cannot make one (run as nobody).
//
// The project's machines have a cgroup v1 memory hierarchy and run the tests as root; where
// that is not so, a test that needs it says NOT TESTED with WARN instead of passing silently.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>

#include <chrono>
#include <optional>
#include <thread>

using namespace airlock::e2e;

namespace {

constexpr HostUser kNobody{65534, 65534};

/// Waits up to `limit` for `done()`.
template <typename Done>
bool eventually(Done done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

/// The process is gone or a zombie (killed, not yet reaped by whoever adopted it).
bool process_ended(pid_t pid) {
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return true;
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

/// Skips (loudly) a test that needs memory cgroups where the host cannot make them.
bool memory_cgroups_here() {
    if (expect_memory_cgroups()) return true;
    WARN("NOT TESTED: needs root and a cgroup v1 memory hierarchy (uid " << ::geteuid() << ", own v1 memory cgroup '"
                                                                         << own_v1_memory_cgroup() << "')");
    return false;
}

/// A directory on tmpfs (/dev/shm), writable by the plugin's user, removed at scope exit.
class ShmDir {
public:
    ShmDir() {
        char pattern[] = "/dev/shm/airlock-e2e-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp in /dev/shm failed");
        path_ = pattern;
        ::chmod(path_.c_str(), 0777);
    }
    ShmDir(const ShmDir&) = delete;
    ShmDir& operator=(const ShmDir&) = delete;
    ~ShmDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// Records every directory created beneath one cgroup directory (inotify: the kernel reports
/// each mkdir, so a cgroup made and removed again is seen too).
class CgroupCreations {
public:
    explicit CgroupCreations(const std::string& parent) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        if (fd_ < 0 || ::inotify_add_watch(fd_, parent.c_str(), IN_CREATE) < 0)
            throw std::runtime_error("inotify on " + parent + " failed");
    }
    CgroupCreations(const CgroupCreations&) = delete;
    CgroupCreations& operator=(const CgroupCreations&) = delete;
    ~CgroupCreations() { ::close(fd_); }
    /// The names created since the last call by host `host_pid` (`airlock-<label>-<pid>-<n>`).
    std::vector<std::string> by_host(pid_t host_pid) {
        std::vector<std::string> names;
        const std::string mark = "-" + std::to_string(host_pid) + "-";
        alignas(inotify_event) char buffer[64 * 1024];
        for (ssize_t got; (got = ::read(fd_, buffer, sizeof buffer)) > 0;) {
            for (char* at = buffer; at < buffer + got;) {
                const auto* event = reinterpret_cast<const inotify_event*>(at);
                const std::string name = event->len > 0 ? event->name : "";
                if (name.rfind("airlock-", 0) == 0 && name.find(mark) != std::string::npos) names.push_back(name);
                at += sizeof(inotify_event) + event->len;
            }
        }
        return names;
    }

private:
    int fd_;
};

} // namespace

TEST_CASE("check creates no cgroup, and exec makes exactly one set and leaves none behind", "[e2e]") {
    if (!memory_cgroups_here()) return;
    const std::string parent = own_v1_memory_cgroup();
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"48MiB\"";
    const std::string config = write_config(dir, attempt);
    CgroupCreations created(parent);

    Run check = run_host({"check", config});
    INFO(check.out << check.err);
    REQUIRE(check.status == 0);
    // What it reports still comes from the kernel's answer (see the nobody case below).
    CHECK(memory_limit_line(check.out).find("memory cgroup (cgroup v1 memory controller, beneath " + parent) !=
          std::string::npos);
    CHECK(created.by_host(check.host_pid).empty());  // no trial, no spare: a check changes nothing

    Run noop = exec_attempt(config, {"noop"});
    INFO(noop.out << noop.err);
    CHECK(noop.result("noop") == "SUCCEEDED");
    // The one launch's set is also the probe; nothing is made ahead after its reap.
    const std::vector<std::string> made = created.by_host(noop.host_pid);
    INFO("made: " << made.size());
    CHECK(made.size() == 1);
    CHECK(cgroups_of(parent, "attempt", noop.host_pid).empty());  // removed before exec returned
}

TEST_CASE("a Spawner prepared to describe a plugin refuses to launch it without cgroups", "[e2e]") {
    if (!memory_cgroups_here()) return;
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"48MiB\"";
    airlock::host::HostConfig loaded = airlock::host::load_config(write_config(dir, attempt));
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"), airlock::host::SpawnerUse::Describe);
    CHECK(spawner.memory_enforcement().cgroup);
    // Never a launch without the cgroup the description promised (fail closed).
    CHECK_THROWS_WITH(spawner.launch(airlock::host::LaunchOptions{{"noop"}}),
                      Catch::Contains("prepared to describe it only"));
    CHECK(cgroups_of(own_v1_memory_cgroup(), "attempt", ::getpid()).empty());
}

TEST_CASE("a plugin runs in its own memory cgroup with the configured limit, removed once reaped", "[e2e]") {
    if (!memory_cgroups_here()) return;
    const std::string parent = own_v1_memory_cgroup();
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"48MiB\"";
    std::string config = write_config(dir, attempt);
    airlock::host::HostConfig loaded = airlock::host::load_config(config);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
    CHECK(spawner.memory_enforcement().cgroup);

    airlock::host::SpawnedPlugin plugin = spawner.launch(airlock::host::LaunchOptions{{"sleep", "30"}});
    const std::string cgroup = plugin.memory_cgroup;
    INFO("cgroup " << cgroup);
    const std::string name = "airlock-attempt-" + std::to_string(::getpid()) + "-";
    CHECK(cgroup.rfind(parent + "/" + name, 0) == 0);
    CHECK(read_text(cgroup + "/memory.limit_in_bytes") == std::to_string(48 << 20));
    if (path_exists(cgroup + "/memory.memsw.limit_in_bytes")) {
        CHECK(read_text(cgroup + "/memory.memsw.limit_in_bytes") == std::to_string(48 << 20));  // no escape to swap
    } else {
        WARN("no swap accounting (memory.memsw.*) on this kernel: memsw limit not checked");
    }
    const std::string pid = std::to_string(plugin.process.pid());
    CHECK(read_text(cgroup + "/cgroup.procs") == pid);
    // The kernel's view of the plugin (the child joined before exec).
    CHECK(has_line(read_text("/proc/" + pid + "/cgroup"),
                   "[0-9]+:memory:" + cgroup.substr(std::string("/sys/fs/cgroup/memory").size())));

    REQUIRE(plugin.process.send_signal(SIGKILL));
    airlock::host::PluginExit exit = plugin.process.wait();
    CHECK(exit.signal == SIGKILL);
    CHECK_FALSE(exit.out_of_memory);  // killed by us, not by the limit
    CHECK_FALSE(path_exists(cgroup));      // removed right after the reap

    // The same through the airlock-host binary, also after an OOM kill: nothing left behind.
    Run noop = exec_attempt(config, {"noop"});
    CHECK(noop.result("noop") == "SUCCEEDED");
    CHECK(cgroups_of(parent, "attempt", noop.host_pid).empty());
    Run hog = exec_attempt(config, {"memfd-memory", "96"});
    INFO(hog.out << hog.err);
    CHECK(hog.status == 128 + SIGKILL);
    CHECK(cgroups_of(parent, "attempt", hog.host_pid).empty());
}

TEST_CASE("a launch joins a cgroup made before it, and its reap makes the next launch's", "[e2e]") {
    if (!memory_cgroups_here()) return;
    const std::string parent = own_v1_memory_cgroup();
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"48MiB\"";
    airlock::host::HostConfig loaded = airlock::host::load_config(write_config(dir, attempt));
    {
        airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
        // Made with the plan, limit set, no process in it yet.
        const std::vector<std::string> spare = cgroups_of(parent, "attempt", ::getpid());
        REQUIRE(spare.size() == 1);
        CHECK(read_text(spare[0] + "/memory.limit_in_bytes") == std::to_string(48 << 20));
        CHECK(read_text(spare[0] + "/cgroup.procs").empty());

        airlock::host::SpawnedPlugin plugin = spawner.launch(airlock::host::LaunchOptions{{"sleep", "30"}});
        CHECK(plugin.memory_cgroup == spare[0]);
        CHECK(read_text(plugin.memory_cgroup + "/cgroup.procs") == std::to_string(plugin.process.pid()));
        CHECK(cgroups_of(parent, "attempt", ::getpid()).size() == 1);  // no second one yet

        REQUIRE(plugin.process.send_signal(SIGKILL));
        (void)plugin.process.wait();
        CHECK_FALSE(path_exists(spare[0]));  // a cgroup is never used twice
        const std::vector<std::string> next = cgroups_of(parent, "attempt", ::getpid());
        REQUIRE(next.size() == 1);
        CHECK(next[0] != spare[0]);
        CHECK(read_text(next[0] + "/memory.limit_in_bytes") == std::to_string(48 << 20));
        CHECK(read_text(next[0] + "/cgroup.procs").empty());
    }
    CHECK(cgroups_of(parent, "attempt", ::getpid()).empty());  // the spare goes with the spawner
}

TEST_CASE("a forked copy of a Spawner leaves its parent's cgroups alone, and launches in a set of its own", "[e2e]") {
    if (!memory_cgroups_here()) return;
    const std::string parent = own_v1_memory_cgroup();
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"48MiB\"";
    airlock::host::HostConfig loaded = airlock::host::load_config(write_config(dir, attempt));
    std::optional<airlock::host::Spawner> spawner(std::in_place, loaded.plugins.at("attempt"));
    const std::vector<std::string> spare = cgroups_of(parent, "attempt", ::getpid());
    REQUIRE(spare.size() == 1);

    // The child launches with its copy (while the parent's spare is made), reaps that plugin
    // and drops the copy, then exits.
    const pid_t child = ::fork();
    if (child == 0) {
        int status = 0;
        try {
            airlock::host::SpawnedPlugin own = spawner->launch(airlock::host::LaunchOptions{{"noop"}});
            if (own.memory_cgroup == spare[0]) status = 3;
            (void)own.process.wait();
            spawner.reset();
        } catch (...) {
            status = 2;
        }
        ::_exit(status);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // The parent's spare is still there, unused, and its launch joins it.
    REQUIRE(path_exists(spare[0]));
    CHECK(read_text(spare[0] + "/cgroup.procs").empty());
    airlock::host::SpawnedPlugin next = spawner->launch(airlock::host::LaunchOptions{{"sleep", "30"}});
    CHECK(next.memory_cgroup == spare[0]);
    CHECK(read_text(spare[0] + "/cgroup.procs") == std::to_string(next.process.pid()));
    REQUIRE(next.process.send_signal(SIGKILL));
    (void)next.process.wait();
    spawner.reset();
    CHECK(cgroups_of(parent, "attempt", ::getpid()).empty());
}

TEST_CASE("a plugin filling a tmpfs file under a read-write grant is stopped at its memory limit", "[e2e]") {
    if (!memory_cgroups_here()) return;
    TempDir dir;
    ShmDir shm;
    AttemptConfig attempt;
    attempt.limits = "memory = \"64MiB\"";
    attempt.grants = "scratch = { dir = " + quoted(shm.path()) + ", access = \"read-write\" }";
    std::string config = write_config(dir, attempt);

    // Protocol "none": the grant is fd 3.
    Run small = exec_attempt(config, {"file-memory", "3", "small", "16"});
    INFO(small.out << small.err);
    CHECK(small.result("file-memory") == "SUCCEEDED allocated_mib=16");  // positive control

    Run big = exec_attempt(config, {"file-memory", "3", "big", "256"});
    INFO(big.out << big.err);
    CHECK(big.status == 128 + SIGKILL);  // the cgroup's OOM killer, as for a memfd
    CHECK(has_line(big.err, ".*killed by signal 9 \\(SIGKILL\\): exceeded memory = 64MiB \\(memory cgroup OOM\\)"));
    // The file outlives the plugin (tmpfs), but it never grew past the limit.
    struct stat status {};
    REQUIRE(::stat((shm.path() + "/big").c_str(), &status) == 0);
    CHECK(status.st_size <= (64 << 20));
}

TEST_CASE("pipe buffers a plugin fills count against its memory limit", "[e2e]") {
    if (!memory_cgroups_here()) return;
    TempDir dir;
    AttemptConfig attempt;
    // Small numbers: unprivileged users share 64 MiB of pipe buffers (fs.pipe-user-pages-soft),
    // past which F_SETPIPE_SZ fails whatever the cgroup says.
    attempt.limits = "memory = \"24MiB\"";
    std::string config = write_config(dir, attempt);

    Run small = exec_attempt(config, {"pipe-memory", "4"});
    INFO(small.out << small.err);
    CHECK(small.result("pipe-memory") == "SUCCEEDED allocated_mib=4");  // positive control

    Run big = exec_attempt(config, {"pipe-memory", "48"});
    INFO(big.out << big.err);
    CHECK(big.status == 128 + SIGKILL);
    CHECK(has_line(big.err, ".*killed by signal 9 \\(SIGKILL\\): exceeded memory = 24MiB \\(memory cgroup OOM\\)"));
}

TEST_CASE("processes a plugin leaves behind are killed so that its cgroup can be removed", "[e2e]") {
    if (!memory_cgroups_here()) return;
    const std::string parent = own_v1_memory_cgroup();
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"64MiB\"\nprocesses = 64";
    attempt.syscalls = "allow = [\"@process\"]";
    // The cgroup on its own, and the child's pid as printed is the host's: no PID namespace
    // (whose end kills it too; namespaces_e2e_test.cpp).
    attempt.sandbox = "namespaces = \"off\"";
    std::string config = write_config(dir, attempt);

    Run run = exec_attempt(config, {"fork-linger", "60"});
    INFO(run.out << run.err);
    CHECK(run.result("fork-linger") == "SUCCEEDED");
    std::vector<std::string> notes = run.notes("child ");
    REQUIRE(notes.size() == 1);
    const pid_t child = std::stoi(notes[0].substr(6));
    // The plugin exited at once; its child, still in the plugin's cgroup, went with it.
    CHECK(eventually([&] { return process_ended(child); }));
    CHECK(cgroups_of(parent, "attempt", run.host_pid).empty());
}

TEST_CASE("the memory cgroups of a host that was killed are removed by the next host", "[e2e]") {
    if (!memory_cgroups_here()) return;
    const std::string parent = own_v1_memory_cgroup();
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"64MiB\"";
    std::string config = write_config(dir, attempt);

    StartedHost host = start_host({"exec", "--prefix", config, "attempt", "--", "sleep", "60"});
    REQUIRE(host.pid > 0);
    std::vector<std::string> cgroups;
    REQUIRE(eventually([&] {
        cgroups = cgroups_of(parent, "attempt", host.pid);
        return cgroups.size() == 1 && !read_text(cgroups[0] + "/cgroup.procs").empty();
    }));
    const pid_t plugin = std::stoi(read_text(cgroups[0] + "/cgroup.procs"));

    ::kill(host.pid, SIGKILL);  // no chance to clean up
    Run killed = finish_host(host);
    CHECK(killed.status == -SIGKILL);
    CHECK(eventually([&] { return process_ended(plugin); }));  // parent-death signal
    CHECK(path_exists(cgroups[0]));                                 // left behind

    // The next host (here this process, through the Spawner) cleans up what dead hosts left.
    airlock::host::HostConfig loaded = airlock::host::load_config(config);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
    CHECK_FALSE(path_exists(cgroups[0]));
}

TEST_CASE("no memory cgroup with memory_cgroup = off or without a memory limit", "[e2e]") {
    TempDir dir;
    AttemptConfig off;
    off.limits = "memory = \"64MiB\"";
    std::string config = write_config(dir, off);
    // [sandbox] is written by attempt_toml; the plugin's own table overrides memory_cgroup.
    {
        std::ofstream(config, std::ios::app) << "[plugin.attempt.sandbox]\nmemory_cgroup = \"off\"\n";
    }
    Run check = run_host({"check", config});
    INFO(check.out << check.err);
    CHECK(memory_limit_line(check.out) ==
          "enforced by RLIMIT_AS only (memfd/tmpfs pages not counted: memory_cgroup = \"off\")");
    CHECK(check.status == 0);
    airlock::host::HostConfig loaded = airlock::host::load_config(config);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
    airlock::host::SpawnedPlugin plugin = spawner.launch(airlock::host::LaunchOptions{{"noop"}});
    CHECK(plugin.memory_cgroup.empty());
    plugin.process.wait();

    AttemptConfig unlimited;
    std::string unlimited_config = write_config(dir, unlimited, "unlimited");
    Run unlimited_check = run_host({"check", unlimited_config});
    CHECK(memory_limit_line(unlimited_check.out) == "none set, so no memory cgroup either");
    airlock::host::HostConfig unlimited_loaded = airlock::host::load_config(unlimited_config);
    airlock::host::Spawner unlimited_spawner(unlimited_loaded.plugins.at("attempt"));
    airlock::host::SpawnedPlugin unlimited_plugin = unlimited_spawner.launch(airlock::host::LaunchOptions{{"noop"}});
    CHECK(unlimited_plugin.memory_cgroup.empty());
    unlimited_plugin.process.wait();
}

TEST_CASE("without root, auto reports RLIMIT_AS only and require refuses to start the plugin", "[e2e]") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: switching the host to nobody needs root");
        return;
    }
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"64MiB\"";
    std::string auto_config = write_config(dir, attempt, "auto");
    std::string require_config = write_config(dir, attempt, "require");
    {
        std::ofstream(require_config, std::ios::app) << "[plugin.attempt.sandbox]\nmemory_cgroup = \"require\"\n";
    }

    // The host runs as nobody (as an unprivileged user would run it; plugins then keep its uid).
    Run auto_check = run_host_as(kNobody, {"check", auto_config});
    INFO(auto_check.out << auto_check.err);
    CHECK(auto_check.status == 0);
    const std::string weaker = memory_limit_line(auto_check.out);
    CHECK(weaker.rfind("enforced by RLIMIT_AS only (memfd/tmpfs pages not counted: ", 0) == 0);
    if (expect_memory_cgroups()) {
        CHECK(weaker.find("Permission denied") != std::string::npos);
        CHECK(weaker.find("the host is not root") != std::string::npos);
    }

    Run require_check = run_host_as(kNobody, {"check", require_config});
    INFO(require_check.out << require_check.err);
    CHECK(require_check.status == 69);  // EX_UNAVAILABLE: a plugin would not start
    CHECK(has_line(require_check.out, "  would not start: plugin 'attempt': memory_cgroup = \"require\" but no "
                                      "memory cgroup can be made, so memfd/tmpfs pages would escape the memory "
                                      "limit: .*"));

    Run require_exec = run_host_as(kNobody, {"exec", "--prefix", require_config, "attempt", "--", "noop"});
    INFO(require_exec.out << require_exec.err);
    CHECK(require_exec.status == 69);
    CHECK(require_exec.out.empty());  // the plugin never ran
    CHECK(has_line(require_exec.err, "airlock-host: plugin 'attempt': memory_cgroup = \"require\" but no memory "
                                     "cgroup can be made.*"));

    // "auto" still runs it, with the weaker enforcement the check reported: the memfd is not
    // counted. (This pins the known gap for unprivileged hosts; it is not a goal.)
    Run auto_exec = run_host_as(kNobody, {"exec", "--prefix", auto_config, "attempt", "--", "memfd-memory", "96"});
    INFO(auto_exec.out << auto_exec.err);
    CHECK(auto_exec.status == 0);
    CHECK(auto_exec.result("memfd-memory") == "SUCCEEDED allocated_mib=96");
}
