// End-to-end containment through the spawner: the sandbox layers as a plugin meets them.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

TEST_CASE("a secret file outside the grants cannot be opened", "[containment]") {
    TempDir dir;
    std::string secret = dir.file("secret.txt", "top secret");
    ::chmod(secret.c_str(), 0644);  // readable by anyone: only the sandbox stands in the way
    ProbeConfig probe;
    probe.namespaces = "off";  // Landlock's answer (with namespaces: ENOENT, namespaces_test.cpp)
    probe.args = {"open", secret, "open", "/etc/passwd", "open", "/usr/lib/os-release"};
    ProbeRun run = run_probe(probe);
    CHECK(run.lines_starting("open") == std::vector<std::string>{secret + " EACCES", "/etc/passwd EACCES",
                                                                 "/usr/lib/os-release ok"});
    CHECK(run.exit.shell_status() == 0);
}

TEST_CASE("a read-only grant stays read-only, also through /proc/self/fd", "[containment]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "original");
    ::chmod(input.c_str(), 0666);
    ProbeConfig probe;
    probe.namespaces = "off";  // Landlock's answer (with namespaces there is no /proc at all)
    probe.grants = "input = { file = " + quoted(input) + ", access = \"read\" }";
    probe.args = {"write-fd", "3", "changed", "reopen-write", "3"};
    ProbeRun run = run_probe(probe);
    CHECK(run.value("write") == "EBADF");
    CHECK(run.value("reopen-write") == "EACCES");  // Landlock: /proc is not reachable at all
    CHECK(dir.read("input.txt") == "original");
}

TEST_CASE("exec of /bin/sh is a violation the host reports by syscall name", "[containment]") {
    ProbeConfig probe;
    probe.args = {"exec", "/bin/sh"};
    ProbeRun run = run_probe(probe);
    CHECK(run.exit.signaled);
    CHECK(run.exit.signal == SIGKILL);
    REQUIRE(run.err.size() == 1);
    CHECK_THAT(run.err[0], Catch::Matches("airlock-host: plugin probe \\(pid [0-9]+\\): forbidden system call "
                                          "execve \\(59\\): killed; execve: executing a program after the launch: "
                                          "the host executes the plugin once, and the plugin may not exec again"));
}

TEST_CASE("with processes = 1 the plugin may start threads but not processes", "[containment]") {
    ProbeConfig probe;
    probe.limits = "processes = 1";
    probe.syscalls = "on_violation = \"errno\"";
    probe.args = {"thread", "fork"};
    ProbeRun run = run_probe(probe);
    CHECK(run.value("thread") == "ok");
    CHECK(run.value("fork") == "EPERM");
    CHECK_THAT(run.all_err(), Catch::Contains("forbidden system call clone"));
    CHECK(run.exit.shell_status() == 0);
}

