// Issue 11 item 5: every report of a confined plugin's violation or exhausted limit names
// what happened and what to do about it. Each case makes a real confined "attempt" plugin
// (airlock-host exec, a real TOML) break one rule and reads the host's report line.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>

using namespace airlock::e2e;

namespace {

// The host still runs a plugin normally from the same config afterwards.
void check_host_serving(const std::string& config) {
    Run again = exec_attempt(config, {"noop"});
    INFO(again.out << again.err);
    CHECK(again.result("noop") == "SUCCEEDED");
    CHECK(again.status == 0);
}

} // namespace

TEST_CASE("a call outside the allowlist is reported with the allow line that fixes it", "[e2e][reports]") {
    TempDir dir;
    AttemptConfig attempt;
    std::string config = write_config(dir, attempt);
    // mlock(NULL, 0): harmless, but not in the default profile.
    Run run = exec_attempt(config, {"raw-syscall", std::to_string(SYS_mlock)});
    INFO(run.out << run.err);
    CHECK(run.status == 128 + SIGKILL);
    CHECK(has_line(run.err, violation("mlock", SYS_mlock, "killed",
                                      "allow it with syscalls\\.allow = \\[\"mlock\"\\] \\(group @memlock\\)")));

    // The advice, pasted into the config, makes the call run.
    attempt.syscalls = "allow = [\"mlock\"]";
    std::string fixed = write_config(dir, attempt, "fixed");
    Run after = exec_attempt(fixed, {"raw-syscall", std::to_string(SYS_mlock)});
    INFO(after.out << after.err);
    CHECK(after.result("raw-syscall") == "SUCCEEDED");
    CHECK(after.err.empty());
    check_host_serving(config);
}

TEST_CASE("an always-denied call is reported with why it can never be allowed", "[e2e][reports]") {
    TempDir dir;
    std::string config = write_config(dir, AttemptConfig{});
    Run run = exec_attempt(config, {"io-uring-setup"});
    INFO(run.out << run.err);
    CHECK(run.status == 128 + SIGKILL);
    CHECK(has_line(run.err, violation("io_uring_setup", SYS_io_uring_setup, "killed",
                                      "io_uring_setup is always denied: io_uring performs I/O without going "
                                      "through seccomp")));
    check_host_serving(config);
}

TEST_CASE("an argument rule is reported by the rule that fired, not as a forbidden call", "[e2e][reports]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = "on_violation = \"errno\"";

    SECTION("fork with processes = 1") {
        attempt.limits = "processes = 1";
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"fork"});
        INFO(run.out << run.err);
        CHECK(run.result("fork") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("clone", SYS_clone, "refused with EPERM",
                                          "clone without CLONE_THREAD makes a new process, and limits\\.processes = "
                                          "1 allows threads only \\(raise limits\\.processes to let it fork\\)")));
        check_host_serving(config);
    }
    SECTION("prlimit64 on another process") {
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"prlimit", "1"});
        INFO(run.out << run.err);
        CHECK(run.result("prlimit") == "blocked errno=EPERM at=read");
        CHECK(has_line(run.err, violation("prlimit64", SYS_prlimit64, "refused with EPERM",
                                          "prlimit64 on another process: only the plugin's own process \\(pid "
                                          "argument 0\\) is allowed")));
        check_host_serving(config);
    }
    SECTION("execveat after the launch") {
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"execveat-sh"});
        INFO(run.out << run.err);
        CHECK(run.result("execveat-sh") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("execveat", SYS_execveat, "refused with EPERM",
                                          "executing a program after the launch: the host executes the plugin "
                                          "once, and the plugin may not exec again")));
        check_host_serving(config);
    }
    SECTION("fallocate punching a hole in an append-only grant") {
        std::string journal = dir.file("journal.log", "HEAD\n", 0666);
        attempt.grants = "journal = { file = " + quoted(journal) + ", access = \"append\" }";
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"punch-hole", "3"});
        INFO(run.out << run.err);
        CHECK(run.result("punch-hole") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("fallocate", SYS_fallocate, "refused with EPERM",
                                          "fallocate mode FALLOC_FL_PUNCH_HOLE rewrites existing data \\(only mode 0 "
                                          "and FALLOC_FL_KEEP_SIZE\\): the plugin holds an append-only grant, which "
                                          "must stay append-only")));
        CHECK(dir.read("journal.log") == "HEAD\n");
        check_host_serving(config);
    }
}

TEST_CASE("32-bit and x32 calls are reported by name and architecture", "[e2e][reports]") {
    TempDir dir;
    std::string config = write_config(dir, AttemptConfig{});
    const std::string why = "system calls of another architecture \\(32-bit int 0x80, x32\\) are always denied: "
                            "the policy covers native calls only";

    Run int80 = exec_attempt(config, {"int80"});
    INFO(int80.out << int80.err);
    CHECK(int80.status == 128 + SIGKILL);
    CHECK(int80.result("int80") == "<missing>");
    CHECK(has_line(int80.err, "airlock-host: plugin attempt \\(pid [0-9]+\\): forbidden system call getpid "
                              "\\(20, i386 \\(int 0x80\\)\\): killed; " + why));

    Run x32 = exec_attempt(config, {"x32"});
    INFO(x32.out << x32.err);
    CHECK(x32.status == 128 + SIGKILL);
    CHECK(x32.result("x32") == "<missing>");
    CHECK(has_line(x32.err, "airlock-host: plugin attempt \\(pid [0-9]+\\): forbidden system call getpid "
                            "\\(39, x32\\): killed; " + why));

    SECTION("on_violation = \"log\" never lets a foreign call through") {
        AttemptConfig logging;
        logging.syscalls = "on_violation = \"log\"";
        std::string log_config = write_config(dir, logging, "log");
        Run logged = exec_attempt(log_config, {"int80"});
        INFO(logged.out << logged.err);
        CHECK(logged.result("int80") == "blocked errno=EPERM");
        CHECK(has_line(logged.err, ".*forbidden system call getpid \\(20, i386 \\(int 0x80\\)\\): refused with EPERM; .*"));
    }
    check_host_serving(config);
}

TEST_CASE("a CPU limit kill names the limit", "[e2e][reports]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "cpu = \"1s\"";
    std::string config = write_config(dir, attempt);
    Run run = exec_attempt(config, {"busy-loop", "600000"});
    INFO(run.out << run.err);
    CHECK(run.status == 128 + SIGXCPU);
    CHECK(has_line(run.err, "airlock-host: plugin attempt \\(pid [0-9]+\\) killed by signal 24 \\(SIGXCPU\\): "
                            "exceeded cpu = 1s \\(RLIMIT_CPU\\)"));
    check_host_serving(config);
}

TEST_CASE("check warns when the plugin's user cannot use its executable or a writable grant", "[e2e][reports]") {
    if (::geteuid() != 0) return;  // the plugin only changes user under a root host
    TempDir dir;
    const std::string out = dir.dir("out");
    ::chmod(out.c_str(), 0777);  // writable for nobody
    AttemptConfig attempt;
    attempt.grants = "out = { dir = " + quoted(out) + ", access = \"read-write\" }";
    std::string config = write_config(dir, attempt);
    Run fine = run_host({"check", config});
    INFO(fine.out << fine.err);
    CHECK(fine.status == 0);
    CHECK_FALSE(has_line(fine.out, ".*warning: plugin runs as.*"));  // positive control

    // A root-owned 0700 directory and executable: nobody can neither write to nor execute them.
    ::chmod(out.c_str(), 0700);
    const std::string private_exe = dir.at("private-attempt");
    REQUIRE(std::system(("cp '" + kAttempt + "' '" + private_exe + "' && chmod 0700 '" + private_exe + "'").c_str()) == 0);
    std::string text = attempt_toml(attempt);
    text.replace(text.find(quoted(kAttempt)), quoted(kAttempt).size(), quoted(private_exe));
    std::string private_config = dir.file("private.toml", text);
    Run check = run_host({"check", private_config});
    INFO(check.out << check.err);
    CHECK(check.status == 0);
    CHECK(has_line(check.out, "    warning: plugin runs as nobody \\(65534\\); " + private_exe +
                                  " is 0700 root:root, so it cannot read and execute its executable"));
    CHECK(has_line(check.out, "    warning: plugin runs as nobody \\(65534\\); " + out +
                                  " is 0700 root:root, so it cannot create files in this writable grant"));
}
