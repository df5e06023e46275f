// Issue 11 item 4: `airlock-host exec --learn` / on_violation = "learn" runs a real confined
// program with every call outside its policy allowed and recorded, then prints the allow line
// that, pasted into the config, makes the program run under the normal (killing) policy.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>

using namespace airlock::e2e;

namespace {

// The line after "airlock-host: learn: ... add to [plugin.NAME.syscalls] ...", or "<missing>".
std::string learned_line(const std::string& err) {
    const auto lines = split_lines(err);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i)
        if (lines[i].find("airlock-host: learn: plugin ") == 0 && lines[i].find("add to [plugin.") != std::string::npos)
            return lines[i + 1];
    return "<missing>";
}

} // namespace

TEST_CASE("exec --learn allows and records a call outside the policy, and the printed line fixes the config",
          "[e2e][learn]") {
    TempDir dir;
    AttemptConfig attempt;
    std::string config = write_config(dir, attempt);
    const std::vector<std::string> action = {"raw-syscall", std::to_string(SYS_mlock)};

    Run killed = exec_attempt(config, action);  // the policy as configured
    CHECK(killed.status == 128 + SIGKILL);

    Run learned = run_host({"exec", "--prefix", "--learn", config, "attempt", "--", action[0], action[1]});
    INFO(learned.out << learned.err);
    CHECK(learned.status == 0);
    CHECK(learned.result("raw-syscall") == "SUCCEEDED");
    CHECK(has_line(learned.err, "airlock-host: LEARN MODE for plugin attempt: every system call outside its policy "
                                "is ALLOWED and recorded .*"));
    CHECK(has_line(learned.err, violation("mlock", SYS_mlock, "allowed and logged")));
    const std::string line = learned_line(learned.err);
    CHECK(line == "allow = [\"mlock\"]");

    attempt.syscalls = line;
    std::string fixed = write_config(dir, attempt, "fixed");
    Run after = exec_attempt(fixed, action);
    INFO(after.out << after.err);
    CHECK(after.status == 0);
    CHECK(after.result("raw-syscall") == "SUCCEEDED");
    CHECK(after.err.empty());
}

TEST_CASE("learning never lets the sandbox's own denials through", "[e2e][learn]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = "on_violation = \"learn\"";
    std::string config = write_config(dir, attempt);

    Run uring = exec_attempt(config, {"io-uring-setup"});
    INFO(uring.out << uring.err);
    CHECK(uring.result("io-uring-setup") == "blocked errno=EPERM");
    CHECK(has_line(uring.err, "airlock-host: learn: plugin attempt: refused io_uring_setup \\(no config can allow "
                              "it\\): io_uring_setup is always denied: .+"));
    CHECK(has_line(uring.err, "airlock-host: learn: plugin attempt made no system call outside its policy"));

    Run exec = exec_attempt(config, {"exec-sh"});  // the launch-once exec rule
    INFO(exec.out << exec.err);
    CHECK(exec.result("exec-sh") == "blocked errno=EPERM");
    CHECK(has_line(exec.err, ".*refused execve \\(no config can allow it\\): execve: executing a program after the "
                             "launch.*"));
}

TEST_CASE("learning a call the policy lacks still applies the argument rules it would have", "[e2e][learn]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = "profile = \"minimal\"\non_violation = \"learn\"";  // minimal has no clone
    std::string config = write_config(dir, attempt);
    Run run = exec_attempt(config, {"clone-newuser"});
    INFO(run.out << run.err);
    CHECK(run.result("clone-newuser") == "blocked errno=EPERM");
    CHECK(has_line(run.err, "airlock-host: learn: plugin attempt: refused clone \\(no config can allow it\\): clone "
                            "with CLONE_NEWUSER: a plugin may not create namespaces"));
}

TEST_CASE("run refuses a config that learns", "[e2e][learn]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = "on_violation = \"learn\"";
    std::string config = write_config(dir, attempt);
    Run run = run_host({"run", config});
    INFO(run.out << run.err);
    CHECK(run.status != 0);
    CHECK(has_line(run.err, "airlock-host: plugin attempt: on_violation = \"learn\" is for airlock-host exec only, "
                            "never for run"));
}

TEST_CASE("learning what ls -ln needs: the printed line lets it run under the default profile", "[e2e][learn]") {
    TempDir dir;
    // `ls -l` reads each file's ACL and security attributes (getxattr, lgetxattr), which the
    // default profile leaves out; -n keeps it from looking up user names (over a socket).
    const std::string toml = "[sandbox]\n"
                             "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                             "user = \"nobody\"\n"
                             "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n"
                             "[plugin.ls]\n"
                             "exec = \"/usr/bin/ls\"\n"
                             "args = [\"-ln\", \"/usr/bin/ls\"]\n"
                             "env = { LANG = \"C\" }\n"
                             "protocol = \"none\"\n";
    std::string config = dir.file("ls.toml", toml);
    Run without = run_host({"exec", config, "ls"});  // positive control: it needs more
    INFO(without.out << without.err);
    CHECK(without.status == 128 + SIGKILL);

    Run learned = run_host({"exec", "--learn", config, "ls"});
    INFO(learned.out << learned.err);
    CHECK(learned.status == 0);
    CHECK(learned.out.find("/usr/bin/ls") != std::string::npos);
    const std::string line = learned_line(learned.err);
    CHECK(line == "allow = [\"getxattr\", \"lgetxattr\"]");

    std::string fixed = dir.file("ls-fixed.toml", toml + "[plugin.ls.syscalls]\n" + line + "\n");
    Run after = run_host({"exec", fixed, "ls"});
    INFO(after.out << after.err);
    CHECK(after.status == 0);
    CHECK(after.out.find("/usr/bin/ls") != std::string::npos);
    CHECK(after.err.empty());
}
