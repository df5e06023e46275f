// Red team round 9: what a confined plugin can learn about the host without a grant. Each
// case is a real root host and a real hostile plugin (programs/redteam.cpp):
// - a directory grant's descriptor was opened in the host's mount namespace, so ".." from it
//   led past the private root to the host's whole tree: fstatat, readlinkat, faccessat and
//   O_PATH opens there, which Landlock does not check, told which files exist and their
//   owners, sizes and times (measured: /etc/shadow, /root, /run/airlock by a grant in /tmp),
//   and getcwd after fchdir into the grant named its host path ("(unreachable)/tmp/...").
//   A root host now hands over the grant inside a detached copy of its mount.
// - setsockopt(SO_BINDTODEVICE) on the connection socket, which the host made in its own
//   network namespace, succeeded for a name the host's namespace has and failed with ENODEV
//   for one it lacks: the host's interface names, from inside the empty namespace. Refused.
// - a directory as the caller's stdin (`airlock-host exec -- cmd < dir`) was handed over as
//   it is: the same ".." past the private root, and a listing Landlock would not allow.
//   Refused at start.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <spawn.h>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// `airlock-host ARGS...` with `directory` opened as its stdin, as `< directory` in a shell.
Run run_host_with_stdin_directory(const std::string& directory, const std::vector<std::string>& arguments) {
    StartedHost host;
    host.out = ::memfd_create("e2e-out", MFD_CLOEXEC);
    host.err = ::memfd_create("e2e-err", MFD_CLOEXEC);
    HostArgv argv(arguments);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, directory.c_str(), O_RDONLY | O_DIRECTORY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, host.out, 1);
    ::posix_spawn_file_actions_adddup2(&actions, host.err, 2);
    if (::posix_spawn(&host.pid, kHostExe.c_str(), &actions, nullptr, argv.data(), environ) != 0) host.pid = -1;
    ::posix_spawn_file_actions_destroy(&actions);
    return finish_host(host);
}

} // namespace

TEST_CASE("a directory grant does not lead past the private root to the host's files", "[e2e][redteam]") {
    if (skipped_unless_root("the private root of a root host (a host in a user namespace cannot detach mounts)"))
        return;
    TempDir dir;
    const std::string grant = dir.dir("grant");
    dir.file("grant/inside.txt", "the plugin's to read\n");
    dir.file("secret.txt", "beside the grant, not granted\n", 0600);
    REQUIRE(::symlink("/etc/shadow", dir.at("link").c_str()) == 0);
    const std::string config = dir.file(
        "redteam.toml", redteam_plugin_toml(kRedteam, "namespaces = \"require\"") +
                            "grants = { data = { dir = " + quoted(grant) + ", access = \"read\" } }\n");
    const auto attempt = [&](const std::vector<std::string>& action) {
        std::vector<std::string> arguments{"exec", "--prefix", config, "redteam", "--"};
        arguments.insert(arguments.end(), action.begin(), action.end());
        return run_host(arguments);
    };

    const Run stat_beside = attempt({"stat-beside", "3", "secret.txt"});
    INFO(stat_beside.out << stat_beside.err);
    CHECK(has_line(stat_beside.out, "\\[redteam\\] redteam stat-beside: blocked errno=ENOENT"));
    const Run readlink_beside = attempt({"readlink-beside", "3", "link"});
    INFO(readlink_beside.out << readlink_beside.err);
    CHECK(has_line(readlink_beside.out, "\\[redteam\\] redteam readlink-beside: blocked errno=ENOENT"));
    const Run parent = attempt({"parent-of-grant", "3"});
    INFO(parent.out << parent.err);
    CHECK(has_line(parent.out, "\\[redteam\\] note parent=grant"));
    // Nor does the grant's working-directory name give its path on the host.
    const Run cwd = attempt({"cwd-in-grant", "3"});
    INFO(cwd.out << cwd.err);
    CHECK(has_line(cwd.out, "\\[redteam\\] note cwd=.*"));
    CHECK(cwd.out.find(grant) == std::string::npos);
    // The grant itself is still the plugin's.
    const Run inside = attempt({"open-in", "3", "inside.txt"});
    INFO(inside.out << inside.err);
    CHECK(has_line(inside.out, "\\[redteam\\] redteam open-in: SUCCEEDED"));
}

TEST_CASE("a plugin cannot learn the host's interface names by binding its connection to them", "[e2e][redteam]") {
    for (const char* namespaces : {"require", "off"}) {
        INFO(namespaces);
        TempDir dir;
        // protocol "airlock": the host makes the connection socket in its own network namespace.
        const std::string config = dir.file(
            "redteam.toml", "[sandbox]\nsystem_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                            "user = \"nobody\"\nnamespaces = " + quoted(namespaces) + "\n[plugin.redteam]\nexec = " +
                                quoted(kRedteam) + "\nready_timeout = \"2s\"\n");
        // "lo" exists in every namespace; the other name in none. The same answer for both.
        for (const char* device : {"lo", "airlock-none0"}) {
            INFO(device);
            const Run run = run_host({"exec", "--prefix", config, "redteam", "--", "bind-to-device", device});
            INFO(run.out << run.err);
            CHECK(has_line(run.out, "\\[redteam\\] redteam bind-to-device: blocked errno=EPERM"));
        }
    }
}

TEST_CASE("a directory as the caller's stdin is not handed to the plugin", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        INFO(namespaces);
        TempDir dir;
        const std::string given = dir.dir("given");
        dir.file("secret.txt", "beside the directory, not granted\n", 0600);
        const std::string config = dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces));
        // stdio = "inherit" (exec without --prefix): the caller's descriptors as they are.
        const Run run = run_host_with_stdin_directory(
            given, {"exec", config, "redteam", "--", "stat-beside", "0", "secret.txt"});
        INFO(run.out << run.err);
        CHECK(run.status != 0);
        CHECK(run.out.find("redteam stat-beside") == std::string::npos);
        CHECK(has_line(run.err, ".*cannot start: its stdin is a directory: a plugin never gets a directory as stdin.*"));
    }
}
