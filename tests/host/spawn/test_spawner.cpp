// Spawner: what a launched plugin sees (descriptors, environment, limits, identity) and
// how failures to start are reported. Every test launches the real probe program.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>
#include <set>
#include <thread>

#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

namespace {

std::set<int> open_fds(const ProbeRun& run) {
    std::set<int> fds;
    for (const auto& line : run.lines_starting("fd")) fds.insert(std::stoi(line));
    return fds;
}

} // namespace

TEST_CASE("protocol none: only stdio and the grants are open, named in LISTEN_*", "[spawner]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "granted content\n");
    ProbeConfig probe;
    probe.args = {"report", "read-fd", "3"};
    probe.grants = "input = { file = " + quoted(input) + ", access = \"read\" }\n"
                   "scratch = { memfd = \"1MiB\" }\n"
                   "data = { dir = " + quoted(dir.path()) + ", access = \"read\" }\n";
    // A stray non-close-on-exec descriptor in the host must not reach the plugin.
    UniqueFd stray(::open("/dev/null", O_RDONLY));
    REQUIRE(stray.valid());

    ProbeRun run = run_probe(probe);

    REQUIRE(run.exit.shell_status() == 0);
    CHECK(open_fds(run) == std::set<int>{0, 1, 2, 3, 4, 5});
    CHECK(run.value("fd 0") == "chr inherit 0");           // /dev/null, read-only
    CHECK(run.value("fd 1").rfind("pipe inherit", 0) == 0);
    CHECK(run.value("fd 2").rfind("pipe inherit", 0) == 0);
    CHECK(run.value("fd 3") == "file inherit 0");          // O_RDONLY
    CHECK(run.value("fd 4").rfind("file inherit 2", 0) == 0);  // memfd, O_RDWR
    CHECK(run.value("fd 5").rfind("dir inherit 0", 0) == 0);
    CHECK(run.value("read") == "granted content");
    CHECK(run.env == std::map<std::string, std::string>{
                         {"LANG", "C.UTF-8"},
                         {"GREETING", "hello world"},
                         {"AIRLOCK_PLUGIN_NAME", "probe"},
                         {"LISTEN_FDS", "3"},
                         {"LISTEN_FDNAMES", "input:scratch:data"},
                         {"LISTEN_PID", run.value("pid").substr(0, run.value("pid").find(' '))},
                     });
}

TEST_CASE("protocol none without grants sets no LISTEN_* variables", "[spawner]") {
    ProbeConfig probe;
    probe.args = {"report"};
    ProbeRun run = run_probe(probe);
    REQUIRE(run.exit.shell_status() == 0);
    CHECK(open_fds(run) == std::set<int>{0, 1, 2});
    CHECK(run.env == std::map<std::string, std::string>{
                         {"LANG", "C.UTF-8"}, {"GREETING", "hello world"}, {"AIRLOCK_PLUGIN_NAME", "probe"}});
}

TEST_CASE("protocol airlock: fd 3 is the connection and the grants wait for the grant table", "[spawner]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "x");
    ProbeConfig probe;
    probe.protocol = "airlock";
    probe.args = {"report"};
    probe.grants = "input = { file = " + quoted(input) + ", access = \"read\" }\n";
    Spawner spawner(probe_config(probe));

    SpawnedPlugin spawned = spawner.launch();
    CHECK(spawned.connection.valid());
    REQUIRE(spawned.grants_to_send.size() == 1);
    CHECK(spawned.grants_to_send[0].name == "input");
    int type = 0;
    socklen_t size = sizeof type;
    REQUIRE(::getsockopt(spawned.connection.get(), SOL_SOCKET, SO_TYPE, &type, &size) == 0);
    CHECK(type == SOCK_SEQPACKET);
    CHECK(spawned.process.wait().shell_status() == 0);

    ProbeRun run = run_probe(spawner);
    CHECK(open_fds(run) == std::set<int>{0, 1, 2, 3});
    CHECK(run.value("fd 3").rfind("socket inherit", 0) == 0);
    CHECK(run.env == std::map<std::string, std::string>{{"LANG", "C.UTF-8"},
                                                        {"GREETING", "hello world"},
                                                        {"AIRLOCK_PLUGIN_NAME", "probe"},
                                                        {"AIRLOCK_CONNECTION_FD", "3"}});
}

TEST_CASE("limits become rlimits", "[spawner]") {
    ProbeConfig probe;
    probe.args = {"report"};
    probe.limits = "memory = \"256MiB\"\ncpu = \"10s\"\nopen_files = 64\nprocesses = 4\nfile_size = \"16MiB\"";
    probe.syscalls = "allow = [\"@process\"]";
    ProbeRun run = run_probe(probe);
    REQUIRE(run.exit.shell_status() == 0);
    CHECK(run.value("rlimit AS") == "268435456 268435456");
    CHECK(run.value("rlimit CPU") == "10 11");  // SIGXCPU first, SIGKILL a second later
    CHECK(run.value("rlimit NOFILE") == "64 64");
    CHECK(run.value("rlimit NPROC") == "4 4");
    CHECK(run.value("rlimit FSIZE") == "16777216 16777216");
    CHECK(run.value("rlimit CORE") == "0 0");
}

TEST_CASE("an allocation beyond `memory` fails inside the plugin", "[spawner]") {
    ProbeConfig probe;
    probe.limits = "memory = \"64MiB\"";
    probe.args = {"alloc", "8388608", "alloc", "134217728"};
    ProbeRun run = run_probe(probe);
    REQUIRE(run.exit.shell_status() == 0);
    CHECK(run.lines_starting("alloc") == std::vector<std::string>{"ok", "failed"});
}

TEST_CASE("the plugin gets its own session, no_new_privs, an empty signal mask and cwd /", "[spawner]") {
    ProbeConfig probe;
    probe.args = {"report"};
    ProbeRun run = run_probe(probe);
    REQUIRE(run.exit.shell_status() == 0);
    std::string pid_line = run.value("pid");  // "<pid> sid <sid>"
    std::string pid = pid_line.substr(0, pid_line.find(' '));
    CHECK(pid_line == pid + " sid " + pid);
    CHECK(run.value("nnp") == "1");
    CHECK(run.value("blocked-signals") == "0");
    CHECK(run.value("cwd") == "/");
}

TEST_CASE("as root, the plugin runs as the configured user with no other groups", "[spawner]") {
    if (::geteuid() != 0) {
        WARN("not root: no uid drop to test");
        return;
    }
    ProbeConfig probe;
    probe.args = {"report"};
    PluginConfig config = probe_config(probe);
    REQUIRE(config.user_id.has_value());
    const std::string uid = std::to_string(*config.user_id);
    const std::string gid = std::to_string(*config.group_id);
    ProbeRun run = run_probe(Spawner(config));
    REQUIRE(run.exit.shell_status() == 0);
    CHECK(run.value("ids") == uid + " " + uid + " " + gid + " " + gid);
    CHECK(run.value("groups") == "1 " + gid);
}

TEST_CASE("as root, a plugin without a user to drop to is refused", "[spawner]") {
    if (::geteuid() != 0) return;
    PluginConfig config = probe_config(ProbeConfig{});
    config.user.reset();
    config.user_id.reset();
    config.group_id.reset();
    REQUIRE_THROWS_WITH(Spawner(config), Catch::Contains("no `user` is configured"));
}

TEST_CASE("exit codes and killing signals are reported like a shell does", "[spawner]") {
    Spawner spawner(probe_config(ProbeConfig{}));
    CHECK(run_probe(spawner, {"exit", "3"}).exit.shell_status() == 3);
    CHECK(run_probe(spawner, {"exit", "0"}).exit.shell_status() == 0);
    ProbeRun killed = run_probe(spawner, {"signal", std::to_string(SIGTERM)});
    CHECK(killed.exit.signaled);
    CHECK(killed.exit.shell_status() == 128 + SIGTERM);
    CHECK(killed.exit.describe() == "killed by signal 15 (SIGTERM)");
    CHECK_THAT(killed.all_err(), Catch::Contains("plugin probe (pid") && Catch::Contains("killed by signal 15"));
}

TEST_CASE("a missing executable is an error at launch, not a started plugin", "[spawner]") {
    TempDir dir;
    std::string copy = dir.path() + "/vanishing-probe";
    REQUIRE(std::system(("cp '" + kProbe + "' '" + copy + "'").c_str()) == 0);
    ProbeConfig probe;
    probe.exec = copy;
    Spawner spawner(probe_config(probe));  // the loader saw it exist
    REQUIRE(::unlink(copy.c_str()) == 0);
    REQUIRE_THROWS_AS(spawner.launch(), SpawnError);
    REQUIRE_THROWS_WITH(spawner.launch(), Catch::Contains("plugin 'probe': cannot start: executable " + copy) &&
                                              Catch::Contains("No such file or directory"));
}

TEST_CASE("an exec failure inside the child names the step and the error", "[spawner]") {
    if (::geteuid() != 0) {
        WARN("not root: cannot make a program the plugin's user may not execute");
        return;
    }
    TempDir dir;
    // A valid program that only root may execute: the host can open it, the plugin's
    // execveat (as nobody) fails with EACCES.
    std::string private_copy = dir.path() + "/root-only-probe";
    REQUIRE(std::system(("cp '" + kProbe + "' '" + private_copy + "'").c_str()) == 0);
    REQUIRE(::chmod(private_copy.c_str(), 0700) == 0);
    ProbeConfig probe;
    probe.exec = private_copy;
    Spawner spawner(probe_config(probe));
    REQUIRE_THROWS_WITH(spawner.launch(), "plugin 'probe': cannot start: executing " + private_copy +
                                              " failed: Permission denied");
}

TEST_CASE("environment variables the host sets itself cannot come from the config", "[spawner]") {
    PluginConfig config = probe_config(ProbeConfig{});
    config.env["LISTEN_FDS"] = "7";
    REQUIRE_THROWS_WITH(Spawner(config), Catch::Contains("env sets LISTEN_FDS"));
}

TEST_CASE("spawning from a host holding 1 GiB of touched memory works", "[spawner]") {
    constexpr std::size_t kGiB = std::size_t{1} << 30;
    void* memory = ::mmap(nullptr, kGiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(memory != MAP_FAILED);
    std::memset(memory, 0x5a, kGiB);
    Spawner spawner(probe_config(ProbeConfig{}));
    for (int i = 0; i < 5; ++i) CHECK(run_probe(spawner, {"echo", "alive", "exit", "7"}).exit.shell_status() == 7);
    CHECK(static_cast<unsigned char*>(memory)[kGiB - 1] == 0x5a);  // the child never wrote into it
    ::munmap(memory, kGiB);
}

TEST_CASE("a spawned plugin that is dropped unreaped is killed and reaped", "[spawner]") {
    Spawner spawner(probe_config(ProbeConfig{}));
    pid_t pid = -1;
    {
        SpawnedPlugin spawned = spawner.launch(LaunchOptions{{"sleep", "30"}});
        pid = spawned.process.pid();
        REQUIRE(::kill(pid, 0) == 0);
    }
    CHECK(::kill(pid, 0) == -1);  // gone: killed and reaped, not a zombie
}

namespace {

// Threads of this process right now.
int thread_count() {
    int count = 0;
    if (DIR* tasks = ::opendir("/proc/self/task")) {
        while (dirent* entry = ::readdir(tasks)) count += entry->d_name[0] != '.';
        ::closedir(tasks);
    }
    return count;
}

// Launches the probe (echo, exit 0) and reaps it; whether it started with its seccomp listener
// taken by the host and ended with status 0.
bool launched_with_listener(const Spawner& spawner) {
    SpawnedPlugin spawned = spawner.launch(LaunchOptions{{"exit", "0"}});
    const bool listener = static_cast<bool>(spawned.seccomp_listener);
    return listener && spawned.process.wait().shell_status() == 0;
}

} // namespace

TEST_CASE("the seccomp listener is taken by one kept thread per launching thread, joined when that thread ends",
          "[spawner]") {
    Spawner spawner(probe_config(ProbeConfig{}));
    const int before = thread_count();
    bool all_launched = true;
    int during = 0;
    std::thread launcher([&] {
        for (int i = 0; i < 3; ++i) all_launched = launched_with_listener(spawner) && all_launched;
        during = thread_count();
    });
    launcher.join();
    CHECK(all_launched);
    CHECK(during == before + 2);  // the launcher and its one receiving thread, after three launches
    CHECK(thread_count() == before);  // both gone once the launcher has ended
}

TEST_CASE("a host process forked after a launch still takes the listeners of its own launches", "[spawner]") {
    Spawner spawner(probe_config(ProbeConfig{}));
    REQUIRE(launched_with_listener(spawner));  // this thread now has a receiving thread
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The receiving thread was not copied: a launch that waited for it would hang. A Spawner
        // of its own: the parent's spare cgroup set is the parent's.
        Spawner own(probe_config(ProbeConfig{}));
        ::_exit(launched_with_listener(own) && launched_with_listener(own) ? 0 : 1);
    }
    // Only a guard against hanging the suite: a child stuck for a minute is killed (its launch
    // sleeps in vfork with every signal blocked, so it cannot time out itself).
    UniqueFd child_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
    pollfd exited{child_pidfd.get(), POLLIN, 0};
    if (::poll(&exited, 1, 60000) == 0) ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(launched_with_listener(spawner));  // and the parent's own thread still serves it
}
