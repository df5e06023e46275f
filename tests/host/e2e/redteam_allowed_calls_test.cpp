// Red team round 8: what the calls a plugin is allowed reach. Each case is a real host and a
// real hostile plugin (programs/redteam.cpp) under the default profile:
// - ioctl: FS_IOC_SETFLAGS works on a read-only descriptor of a file the plugin owns (no
//   dump, no atime, synchronous writes: the same metadata class @file-metadata keeps out of
//   the default profile), and SIOCGIFCONF on the host's connection socket lists the host's
//   interfaces from inside the empty network namespace. ioctl is now filtered by request.
// - clone(CLONE_PARENT): without a PID namespace the child is the host's, which reaps only
//   its plugins (by pidfd), so each one stayed a zombie of the host, one more per restart.
// - clock_gettime of another process's CPU clock: no permission check in the kernel; without
//   a PID namespace the plugin could follow the host's and any process's CPU time.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

int inode_flags(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    int flags = -1;
    if (fd >= 0 && ::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) flags = -1;
    if (fd >= 0) ::close(fd);
    return flags;
}

// Zombie children of `pid`, from /proc/*/stat (state Z, parent pid).
int zombie_children(pid_t pid) {
    int zombies = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        int parent = 0;
        if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &parent) == 2 && state == 'Z' && parent == pid)
            ++zombies;
    }
    return zombies;
}

} // namespace

TEST_CASE("a plugin cannot change the inode flags of a file it may only read", "[e2e][redteam]") {
    if (skipped_unless_root("the plugin runs as nobody and owns the granted file")) return;
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        INFO(namespaces);
        TempDir dir;
        const std::string file = dir.file("owned.txt", "the plugin's own file, granted read-only\n");
        REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
        const int before = inode_flags(file);
        const std::string config = dir.file(
            "redteam.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                "grants = { owned = { file = " + quoted(file) + ", access = \"read\" } }\n"
                                "[plugin.redteam.syscalls]\non_violation = \"errno\"\n");
        const Run run = run_host({"exec", "--prefix", config, "redteam", "--", "inode-flags", "3"});
        INFO(run.out << run.err);
        CHECK(has_line(run.out, "\\[redteam\\] redteam inode-flags: blocked errno=ENOSYS"));
        CHECK(inode_flags(file) == before);
    }
}

TEST_CASE("a plugin cannot list the host's network interfaces through its connection", "[e2e][redteam]") {
    TempDir dir;
    // protocol "airlock": the host makes the connection socket in its own network namespace.
    const std::string config =
        dir.file("redteam.toml", "[sandbox]\nsystem_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                                 "user = \"nobody\"\n[plugin.redteam]\nexec = " + quoted(kRedteam) +
                                     "\nready_timeout = \"2s\"\n[plugin.redteam.syscalls]\non_violation = \"errno\"\n");
    const Run run = run_host({"exec", "--prefix", config, "redteam", "--", "host-interfaces"});
    INFO(run.out << run.err);
    CHECK(has_line(run.out, "\\[redteam\\] redteam host-interfaces: blocked errno=ENOSYS"));
}

TEST_CASE("a plugin's processes never become the host's children (CLONE_PARENT)", "[e2e][redteam]") {
    TempDir dir;
    // Without a PID namespace the plugin's parent is the host itself. The hostile plugin is
    // restarted over and over beside a sibling that must keep running.
    const std::string config = dir.file(
        "redteam.toml",
        "[sandbox]\nsystem_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\nuser = \"nobody\"\n"
        "namespaces = \"off\"\n"
        "[plugin.hostile]\nexec = " + quoted(kRedteam) + "\nargs = [\"clone-parent\"]\nprotocol = \"none\"\n"
        "restart = \"always\"\nrestart_delay = \"50ms\"\n"
        "[plugin.hostile.limits]\nprocesses = 8\n"
        "[plugin.hostile.syscalls]\non_violation = \"errno\"\nallow = [\"@process\"]\n"
        "[plugin.sibling]\nexec = " + quoted(kRedteam) + "\nargs = [\"sleep\", \"30\"]\nprotocol = \"none\"\n");
    StartedHost host = start_host({"run", config});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int attempts = 0;
    while (std::chrono::steady_clock::now() < deadline && attempts < 4) {
        attempts = 0;
        for (const auto& line : split_lines(read_all(host.out) + read_all(host.err)))
            if (line.find("redteam clone-parent:") != std::string::npos) ++attempts;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const int zombies = zombie_children(host.pid);
    const std::string so_far = read_all(host.out) + read_all(host.err);
    ::kill(host.pid, SIGTERM);
    const Run run = finish_host(host);
    INFO(run.out << run.err);
    CHECK(attempts >= 4);
    CHECK(zombies == 0);
    CHECK(has_line(so_far, ".*redteam clone-parent: blocked errno=EPERM"));
    CHECK(has_line(so_far, ".*CLONE_PARENT.*"));
    // The sibling ran the whole time: started once, never restarted or ended before SIGTERM.
    CHECK(so_far.find("plugin sibling: state exited") == std::string::npos);
    CHECK(has_line(so_far, ".*plugin sibling: state ready.*"));
    CHECK(has_line(run.out + run.err, ".*plugin sibling: killed by signal 15 \\(SIGTERM\\)"));
}

TEST_CASE("a plugin cannot read another process's CPU time by its pid", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        INFO(namespaces);
        TempDir dir;
        const std::string config = dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                                                 "[plugin.redteam.syscalls]\non_violation = \"errno\"\n");
        const Run run = run_host({"exec", "--prefix", config, "redteam", "--", "parent-cpu-clock"});
        INFO(run.out << run.err);
        CHECK(has_line(run.out, "\\[redteam\\] redteam parent-cpu-clock: blocked errno=ENOSYS"));
    }
}

TEST_CASE("under on_violation = log a call outside the allowlist still meets its argument rules", "[e2e][redteam]") {
    // "minimal" has no prctl; ioctl is denied here. `log` lets such calls continue, but before
    // round 8 with any arguments but the sandbox denials': PR_SET_PDEATHSIG 0 (the plugin then
    // outlives its host without a PID namespace) and FS_IOC_SETFLAGS ran.
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        INFO(namespaces);
        TempDir dir;
        const std::string file = dir.file("owned.txt", "the plugin's own file, granted read-only\n");
        const bool root = ::geteuid() == 0;
        if (root) REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
        const int before = inode_flags(file);
        const std::string config = dir.file(
            "redteam.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                "grants = { owned = { file = " + quoted(file) + ", access = \"read\" } }\n"
                                "[plugin.redteam.syscalls]\nprofile = \"minimal\"\non_violation = \"log\"\n"
                                "deny = [\"ioctl\"]\n");
        const Run cleared = run_host({"exec", "--prefix", config, "redteam", "--", "clear-pdeathsig"});
        INFO(cleared.out << cleared.err);
        CHECK(has_line(cleared.out, "\\[redteam\\] redteam clear-pdeathsig: blocked errno=EPERM"));
        CHECK(has_line(cleared.out, "\\[redteam\\] note pdeathsig=9"));
        CHECK(has_line(cleared.err, ".*prctl \\(157\\): refused with EPERM; prctl with these arguments is refused even "
                                    "where it is allowed"));
        // An option the rules allow still continues under log.
        const Run dumpable = run_host({"exec", "--prefix", config, "redteam", "--", "dumpable"});
        INFO(dumpable.out << dumpable.err);
        CHECK(has_line(dumpable.out, "\\[redteam\\] note dumpable=1 .*"));
        const Run flags = run_host({"exec", "--prefix", config, "redteam", "--", "inode-flags", "3"});
        INFO(flags.out << flags.err);
        CHECK(has_line(flags.out, "\\[redteam\\] redteam inode-flags: blocked errno=EPERM"));
        CHECK(inode_flags(file) == before);
    }
}

TEST_CASE("a plugin without @memlock cannot lock memory through mmap (MAP_LOCKED)", "[e2e][redteam]") {
    // MAP_LOCKED needs no mlock call: the kernel allowed it up to the RLIMIT_MEMLOCK the plugin
    // inherited from the host (8 MiB here; a unit with LimitMEMLOCK=infinity passes that on),
    // memory no one can swap out, also counted per user. The limit is now 0 unless the
    // plugin's allowlist has a call of @memlock.
    rlimit host_limit{};
    REQUIRE(::getrlimit(RLIMIT_MEMLOCK, &host_limit) == 0);
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        INFO(namespaces);
        TempDir dir;
        const std::string refused = dir.file("refused.toml", redteam_plugin_toml(kRedteam, namespaces));
        const Run run = run_host({"exec", "--prefix", refused, "redteam", "--", "map-locked"});
        INFO(run.out << run.err);
        CHECK(has_line(run.out, "\\[redteam\\] note memlock-soft=0"));
        CHECK(has_line(run.out, "\\[redteam\\] redteam map-locked: blocked errno=EPERM"));

        // With @memlock allowed the plugin keeps the host's limit, as the group promises.
        if (host_limit.rlim_cur < (2u << 20)) continue;
        const std::string allowed = dir.file("allowed.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                                                 "[plugin.redteam.syscalls]\nallow = [\"@memlock\"]\n");
        const Run locked = run_host({"exec", "--prefix", allowed, "redteam", "--", "map-locked"});
        INFO(locked.out << locked.err);
        CHECK(has_line(locked.out, "\\[redteam\\] note memlock-soft=" + std::to_string(host_limit.rlim_cur)));
        CHECK(has_line(locked.out, "\\[redteam\\] redteam map-locked: SUCCEEDED"));
    }
}
