// Red team, round 9: what one instance leaves behind. Without a PID namespace (`namespaces =
// "off"`) and without a cgroup (`pids_cgroup = "off"`, no memory or cpu limit), nothing ended
// a process the plugin forked: a double fork into a session of its own, SIGTERM ignored, kept
// running as the plugin's dynamic uid after the plugin and its host had gone, and met the next
// process of that uid (the plugin's restart, its standby child, another plugin given the uid
// later), sharing its per-user counters (measured: 6 leftovers of 6 runs, after which the
// plugin's own double fork failed under `processes = 8`). System V IPC objects made in the
// host's IPC namespace stayed the uid's likewise. Now the host kills what is left running as a
// dynamic uid, and removes its IPC objects, after the last reap of its Spawner and before it
// hands the uid to a plugin (docs/sandbox.md, "Round 9: what one instance leaves behind").
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>

#include <sys/msg.h>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// The leftover's pid and uid from `note left pid=P uid=U` (-1 when missing).
std::pair<pid_t, long> left_pid_and_uid(const std::string& output) {
    std::smatch found;
    static const std::regex pattern("note left pid=([0-9]+) uid=([0-9]+)");
    if (!std::regex_search(output, found, pattern)) return {-1, -1};
    return {static_cast<pid_t>(std::stol(found[1])), std::stol(found[2])};
}

// The real uid of process `pid`, or -1 when there is none (gone, or reaped).
long uid_of(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("Uid:", 0) == 0) return std::stol(line.substr(4));
    }
    return -1;
}

// Still running as `uid` (a pid reused by another process does not count); a zombie is gone.
bool runs_as(pid_t pid, long uid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size() || text[close + 2] == 'Z') return false;
    return uid_of(pid) == uid;
}

// Waits up to about a second for `pid` to stop running as `uid`.
bool ends_soon(pid_t pid, long uid) {
    for (int i = 0; i < 100 && runs_as(pid, uid); ++i) ::usleep(10 * 1000);
    return !runs_as(pid, uid);
}

// A plugin that may fork and leave its session, with no PID namespace and no cgroup.
std::string leaving_config(const TempDir& dir, const std::string& namespaces) {
    return dir.file("left.toml", "[sandbox]\n"
                                 "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                                 "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n"
                                 "dynamic_user = true\n"
                                 "pids_cgroup = \"off\"\n" +
                                     namespaces +
                                     "\n[plugin.left]\n"
                                     "exec = " + quoted(kRedteam) + "\n"
                                     "protocol = \"none\"\n"
                                     "[plugin.left.limits]\nprocesses = 8\n"
                                     "[plugin.left.syscalls]\nallow = [\"@process\", \"setsid\"]\n");
}

} // namespace

TEST_CASE("a process a plugin leaves behind does not outlive it (no PID namespace, no cgroup)", "[e2e][redteam]") {
    if (skipped_unless_root("plugins get uids of their own only under a root host")) return;
    TempDir dir;
    const std::string config = leaving_config(dir, "namespaces = \"off\"");
    const Run run = run_host({"exec", config, "left", "--", "leave-child"});
    const auto [left, uid] = left_pid_and_uid(run.out);
    INFO(run.out << run.err);
    REQUIRE(has_line(run.out, "redteam leave-child: SUCCEEDED"));
    REQUIRE(left > 0);
    CHECK(uid >= 1879048192);
    const bool ended = ends_soon(left, uid);
    if (!ended) ::kill(left, SIGKILL);  // this test's own leftover
    CHECK(ended);
    CHECK(run.status == 0);
}

TEST_CASE("a process left running as a dynamic uid by a host that died goes before a plugin gets the uid",
          "[e2e][redteam]") {
    if (skipped_unless_root("plugins get uids of their own only under a root host")) return;
    TempDir dir;
    const std::string config = leaving_config(dir, "namespaces = \"off\"");
    // The host dies (SIGKILL) while the plugin runs: the plugin goes with it (parent-death
    // signal), its forked child stays.
    StartedHost host = start_host({"exec", config, "left", "--", "leave-child", "hold"});
    REQUIRE(host.pid > 0);
    bool holding = false;
    for (int raw = 0; !holding && ::waitpid(host.pid, &raw, WNOHANG) == 0;) {
        holding = read_all(host.out).find("note filled left=1") != std::string::npos;
        if (!holding) ::usleep(10 * 1000);
    }
    ::kill(host.pid, SIGKILL);
    const Run died = finish_host(host);
    const auto [left, uid] = left_pid_and_uid(died.out);
    INFO(died.out << died.err);
    REQUIRE(holding);
    REQUIRE(left > 0);
    REQUIRE(runs_as(left, uid));  // the host's death alone does not end it

    // The next host gives the same plugin (the same first uid) a PID namespace, whose end
    // would take its own processes: only the uid's allocation meets the leftover.
    TempDir next_dir;
    const Run next = run_host({"exec", leaving_config(next_dir, ""), "left", "--", "whoami"});
    INFO(next.out << next.err);
    const bool ended = ends_soon(left, uid);
    if (!ended) ::kill(left, SIGKILL);
    CHECK(ended);
    CHECK(has_line(next.out, "note uid=" + std::to_string(uid) + " gid=" + std::to_string(uid)));
    CHECK(next.status == 0);
}

TEST_CASE("a System V message queue a plugin makes in the host's IPC namespace goes with it", "[e2e][redteam]") {
    if (skipped_unless_root("plugins get uids of their own only under a root host")) return;
    TempDir dir;
    // namespaces = "off": no IPC namespace of its own, so the queue is the host's namespace's.
    const std::string config = dir.file("ipc.toml", "[sandbox]\n"
                                                    "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                                                    "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n"
                                                    "dynamic_user = true\n"
                                                    "namespaces = \"off\"\n"
                                                    "[plugin.ipc]\n"
                                                    "exec = " + quoted(kRedteam) + "\n"
                                                    "protocol = \"none\"\n"
                                                    "[plugin.ipc.syscalls]\nallow = [\"msgget\"]\n");
    const int key = 0x41700000 + (::getpid() & 0xffff);
    const Run run = run_host({"exec", config, "ipc", "--", "msgqueue-create", std::to_string(key)});
    INFO(run.out << run.err);
    REQUIRE(has_line(run.out, "redteam msgqueue-create: SUCCEEDED"));
    const int left = ::msgget(key, 0);
    if (left >= 0) ::msgctl(left, IPC_RMID, nullptr);  // this test's own leftover
    CHECK(left == -1);
    CHECK(run.status == 0);
}
