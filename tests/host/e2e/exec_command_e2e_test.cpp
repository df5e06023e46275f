// Sandboxing a command (issue 11): `airlock-host exec` passes stdio through unchanged, takes
// a config-less command line, runs #! scripts and wrappers, and runs real programs (sort,
// jq, python3, a shell script, a C program) under the default profile. Every case runs the
// real airlock-host binary from a real shell, as a user types it.
#include "e2e_support.hpp"

#include "../../support/device_node.hpp"

#include <catch2/catch.hpp>

#include <pty.h>
#include <sys/wait.h>

#include <cstdio>

using namespace airlock::e2e;

namespace {

const std::string kWordCount = AIRLOCK_E2E_WORD_COUNT;
const std::string kExamples = std::string(AIRLOCK_SOURCE_DIR) + "/config/examples/";

struct ShellRun {
    int status = -1;  ///< exit status of the shell command (the pipeline's last command)
    std::string out;
};

// `sh -c COMMAND` with stdout captured (stderr left to the test's).
ShellRun shell(const std::string& command) {
    ShellRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t size;
    while ((size = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, size);
    const int raw = ::pclose(pipe);
    run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return run;
}

// The host as a shell command word.
std::string host() { return "'" + kHostExe + "'"; }

} // namespace

TEST_CASE("exec passes 100 MB of stdout through unchanged and exits with the command's status", "[e2e][exec]") {
    // seq 13000000 writes about 106 MB.
    ShellRun confined = shell(host() + " exec -- seq 13000000 | sha256sum");
    ShellRun unconfined = shell("seq 13000000 | sha256sum");
    REQUIRE(confined.status == 0);
    CHECK(confined.out == unconfined.out);
    ShellRun bytes = shell(host() + " exec -- seq 13000000 | wc -c");
    CHECK(bytes.out == "105888897\n");
    CHECK(bytes.out == shell("seq 13000000 | wc -c").out);
}

TEST_CASE("exec passes stdin through: a sandboxed command sits in a pipeline", "[e2e][exec]") {
    ShellRun sorted = shell("printf 'pear\\napple\\nfig\\n' | " + host() + " exec -- sort | " + host() +
                            " exec -- sort -r");
    CHECK(sorted.status == 0);
    CHECK(sorted.out == "pear\nfig\napple\n");
    // 5 MB through stdin and back out.
    // (-S: sort keeps it in memory; a larger input spills to $TMPDIR, which needs a --rw dir.)
    ShellRun round_trip = shell("seq 700000 | " + host() + " exec -- sort -S 64M -n | sha256sum");
    CHECK(round_trip.out == shell("seq 700000 | sha256sum").out);
}

TEST_CASE("exec exits with the command's exit code, or 128 + signal when it was killed", "[e2e][exec]") {
    CHECK(shell(host() + " exec -- sh -c 'exit 7'").status == 7);
    CHECK(shell(host() + " exec -- sh -c 'kill -TERM $$'").status == 128 + SIGTERM);
    // A violation: killed, and the status says so.
    CHECK(shell(host() + " exec -- sh -c 'exec /usr/bin/true' 2>/dev/null").status == 128 + SIGKILL);
}

TEST_CASE("exec --prefix keeps the prefixed line mode with stdin /dev/null and loses no line", "[e2e][exec]") {
    ShellRun run = shell("echo unread | " + host() + " exec --prefix -- sh -c 'echo hi; read x || echo eof; echo done'");
    CHECK(run.status == 0);
    CHECK(run.out == "[sh] hi\n[sh] eof\n[sh] done\n");
    // No line is lost in the foreground, however fast the command writes.
    ShellRun lines = shell(host() + " exec --prefix -- seq 100000 | tail -n 1");
    CHECK(lines.out == "[seq] 100000\n");
    CHECK(shell(host() + " exec --prefix -- seq 100000 | wc -l").out == "100000\n");
}

namespace {

// `airlock-host exec -- /bin/sh -c SCRIPT` on a pseudo-terminal (stdin, stdout and stderr),
// `typed` written to the terminal first; returns what appeared on it and the host's status.
std::pair<std::string, int> run_on_terminal(const std::string& script, const std::string& typed) {
    int master = -1;
    int replica = -1;
    REQUIRE(::openpty(&master, &replica, nullptr, nullptr, nullptr) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::setsid();
        ::dup2(replica, 0);
        ::dup2(replica, 1);
        ::dup2(replica, 2);
        ::execl(kHostExe.c_str(), kHostExe.c_str(), "exec", "--", "/bin/sh", "-c", script.c_str(), nullptr);
        _exit(127);
    }
    ::close(replica);
    if (!typed.empty()) REQUIRE(::write(master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size()));
    std::string output;
    char buffer[256];
    ssize_t size;
    while ((size = ::read(master, buffer, sizeof buffer)) > 0) output.append(buffer, static_cast<std::size_t>(size));
    int raw = 0;
    ::waitpid(child, &raw, 0);
    ::close(master);
    return {output, WIFEXITED(raw) ? WEXITSTATUS(raw) : -1};
}

} // namespace

TEST_CASE("exec never hands the caller's terminal to the plugin: a tty is pumped through a pipe", "[e2e][exec]") {
    auto [output, status] =
        run_on_terminal("if [ -t 0 ] || [ -t 1 ] || [ -t 2 ]; then echo TERMINAL; else echo pipes only; fi", "");
    CHECK(status == 0);
    CHECK(output.find("pipes only") != std::string::npos);
    CHECK(output.find("TERMINAL") == std::string::npos);
    // What is typed reaches the plugin through the pipe; Ctrl-D ends its stdin.
    auto [echoed, read_status] =
        run_on_terminal("read first; echo \"got $first\"; read second || echo \"end of input\"", "hello\n\x04");
    CHECK(read_status == 0);
    CHECK(echoed.find("got hello") != std::string::npos);
    CHECK(echoed.find("end of input") != std::string::npos);
}

TEST_CASE("exec --ro/--rw: the paths work by path inside, nothing else does", "[e2e][exec]") {
    TempDir dir;
    dir.file("in.txt", "b\nc\na\n");
    const std::string out_dir = dir.dir("out");
    ::chmod(out_dir.c_str(), 0777);  // the plugin runs as nobody
    ShellRun sorted = shell(host() + " exec --ro " + dir.at("in.txt") + " --rw " + out_dir + " -- sort -o " + out_dir +
                            "/sorted.txt " + dir.at("in.txt"));
    CHECK(sorted.status == 0);
    CHECK(dir.read("out/sorted.txt") == "a\nb\nc\n");
    // Without --ro the same file cannot be read; a path beside the grant neither.
    dir.file("secret.txt", "secret\n");
    ShellRun refused = shell(host() + " exec -- sort " + dir.at("in.txt") + " 2>&1");
    CHECK(refused.status == 2);  // sort: cannot read
    CHECK(refused.out.find("a\nb\nc") == std::string::npos);
    ShellRun beside = shell(host() + " exec --ro " + dir.at("in.txt") + " -- sort " + dir.at("secret.txt") + " 2>&1");
    CHECK(beside.status == 2);
    CHECK(beside.out.find("secret\n") == std::string::npos);
    // --ro is read-only: writing there fails.
    ShellRun write = shell(host() + " exec --ro " + dir.at("in.txt") + " --ro " + out_dir + " -- sort -o " + out_dir +
                           "/x " + dir.at("in.txt") + " 2>&1");
    CHECK(write.status != 0);
    CHECK(!path_exists(out_dir + "/x"));
}

TEST_CASE("exec --append: an append-only descriptor, not a path", "[e2e][exec]") {
    TempDir dir;
    const std::string log = dir.file("log.txt", "old\n", 0666);
    ShellRun run = shell(host() + " exec --append " + log + " -- sh -c 'echo \"$LISTEN_FDNAMES\"; echo new >&3'");
    CHECK(run.status == 0);
    CHECK(run.out == "append1\n");
    CHECK(dir.read("log.txt") == "old\nnew\n");
    // By path the file is out of reach (Landlock could not keep it append-only).
    CHECK(shell(host() + " exec --append " + log + " -- sh -c 'echo lost > " + log + "' 2>/dev/null").status != 0);
    CHECK(dir.read("log.txt") == "old\nnew\n");
}

TEST_CASE("exec --print-config prints TOML that loads and runs the same", "[e2e][exec]") {
    TempDir dir;
    dir.file("in.txt", "2\n10\n1\n");
    ShellRun printed = shell(host() + " exec --print-config --ro " + dir.at("in.txt") +
                             " --memory 256MiB --wall 30s --env SORT_ORDER=numeric --allow sysinfo -- sort -n " +
                             dir.at("in.txt"));
    REQUIRE(printed.status == 0);
    CHECK(printed.out.find("[plugin.sort]") != std::string::npos);
    CHECK(printed.out.find("by_path = true") != std::string::npos);
    dir.file("printed.toml", printed.out);
    ShellRun from_config = shell(host() + " exec " + dir.at("printed.toml") + " sort");
    ShellRun from_line = shell(host() + " exec --ro " + dir.at("in.txt") +
                               " --memory 256MiB --wall 30s --env SORT_ORDER=numeric --allow sysinfo -- sort -n " +
                               dir.at("in.txt"));
    CHECK(from_config.status == 0);
    CHECK(from_config.out == "1\n2\n10\n");
    CHECK(from_line.out == from_config.out);
    Run check = run_host({"check", dir.at("printed.toml")});
    CHECK(check.status == 0);
    // A bad value is reported by the one config loader.
    ShellRun bad = shell(host() + " exec --memory 12MB -- true 2>&1");
    CHECK(bad.status == 78);
    CHECK(bad.out.find("memory") != std::string::npos);
}

TEST_CASE("exec -- COMMAND: a file name cannot add TOML to the config it runs with", "[e2e][exec][redteam]") {
    // The command line becomes TOML that the loader reads. A program's file name is data (a
    // download, an archive's member): a line break in it must not end a comment or string and
    // start keys, here a second plugin that sorts first and is the one exec runs.
    TempDir dir;
    std::ifstream in("/bin/true", std::ios::binary);
    const std::string program(std::istreambuf_iterator<char>(in), {});
    const std::string name = "t\n[plugin.a]\nexec = \"\\u002fusr\\u002fbin\\u002fecho\"\nargs = [\"INJECTED\"]\n"
                             "protocol = \"none\"\nstdio = \"inherit\"\n#";
    const std::string command = dir.file(name, program, 0755);
    Run printed = run_host({"exec", "--print-config", "--", command});
    INFO(printed.out << printed.err);
    REQUIRE(printed.status == 0);
    int tables = 0;
    for (const std::string& line : split_lines(printed.out)) tables += line.rfind("[plugin.", 0) == 0 ? 1 : 0;
    CHECK(tables == 2);  // [plugin.t--plugin-a-...] and its .syscalls, nothing else
    CHECK(printed.out.find("\n[plugin.a]") == std::string::npos);
    CHECK(printed.out.find("-- t--plugin-a--exec") != std::string::npos);  // the comment names the plugin
    Run ran = run_host({"exec", "--", command});
    INFO(ran.out << ran.err);
    CHECK(ran.status == 0);  // /bin/true ran
    CHECK(ran.out.find("INJECTED") == std::string::npos);
}

TEST_CASE("a #! script runs as a plugin: exactly its interpreter executes, the script is readable", "[e2e][exec]") {
    TempDir dir;
    const std::string script = dir.file("hi.sh", "#!/bin/sh -e\necho \"script says $*\"\n", 0755);
    ShellRun run = shell(host() + " exec -- " + script + " one two");
    CHECK(run.status == 0);
    CHECK(run.out == "script says one two\n");
    // The launch-once exec rule stays: the script cannot exec another program.
    const std::string wrapper = dir.file("wrapper.sh", "#!/bin/sh\nexec /usr/bin/sort \"$@\"\n", 0755);
    CHECK(shell("printf 'b\\na\\n' | " + host() + " exec -- " + wrapper + " 2>/dev/null").status == 128 + SIGKILL);
}

TEST_CASE("a wrapper that execs works once execve is allowed by name, and check says what that means",
          "[e2e][exec]") {
    TempDir dir;
    const std::string wrapper = dir.file("wrapper.sh", "#!/bin/sh\nexec /usr/bin/sort \"$@\"\n", 0755);
    ShellRun run = shell("printf 'b\\na\\n' | " + host() + " exec --allow execve --allow @process -- " + wrapper);
    CHECK(run.status == 0);
    CHECK(run.out == "a\nb\n");
    ShellRun printed = shell(host() + " exec --print-config --allow execve -- " + wrapper);
    dir.file("wrapper.toml", printed.out);
    Run check = run_host({"check", dir.at("wrapper.toml")});
    CHECK(check.status == 0);
    CHECK(has_line(check.out, "    execve allowed: the plugin may exec any file it can read and Landlock lets it "
                              "execute: .*/usr \\(beneath\\).*" + wrapper));
    // A group that contains execve is not enough: exec after the launch needs the name.
    CHECK(shell("printf 'b\\na\\n' | " + host() + " exec --allow @process -- " + wrapper + " 2>/dev/null").status ==
          128 + SIGKILL);
}

TEST_CASE("real programs run under the default profile with their example configs", "[e2e][exec][examples]") {
    TempDir dir;
    dir.file("data.json", "{\"name\": \"airlock\", \"tags\": [\"a\", \"b\"]}\n");
    ::chmod(dir.path().c_str(), 0755);
    SECTION("python3") {
        ShellRun run = shell(host() + " exec " + kExamples + "python3.toml python3 -- -c 'import json, sys; "
                             "print(json.dumps({\"sum\": sum(range(10))}))'");
        CHECK(run.status == 0);
        CHECK(run.out == "{\"sum\": 45}\n");
    }
    SECTION("sort") {
        ShellRun run = shell("printf '3\\n1\\n2\\n' | " + host() + " exec " + kExamples + "sort.toml sort -- -n");
        CHECK(run.status == 0);
        CHECK(run.out == "1\n2\n3\n");
    }
    SECTION("jq") {
        ShellRun run = shell(host() + " exec " + kExamples + "jq.toml jq -- -c '.tags' < " + dir.at("data.json"));
        CHECK(run.status == 0);
        CHECK(run.out == "[\"a\",\"b\"]\n");
    }
    SECTION("a shell script") {
        ShellRun run = shell("printf 'x y\\nz\\n' | " + host() + " exec " + kExamples + "shell-script.toml shell-script");
        CHECK(run.status == 0);
        CHECK(run.out == "lines: 2\n");
    }
    SECTION("a C program") {
        // The example leaves the built program's path to fill in.
        std::string text = read_text(kExamples + "c-program.toml.in");
        REQUIRE(text.find("exec = \"@WORD_COUNT@\"") != std::string::npos);
        for (auto at = text.find("@WORD_COUNT@"); at != std::string::npos; at = text.find("@WORD_COUNT@"))
            text.replace(at, std::string("@WORD_COUNT@").size(), kWordCount);
        dir.file("c-program.toml", text + "\n");
        ShellRun run = shell("printf 'one two\\nthree\\n' | " + host() + " exec " + dir.at("c-program.toml") +
                             " word-count");
        CHECK(run.status == 0);
        CHECK(run.out == "2 3 -\n");
    }
}

TEST_CASE("exec --device: a device as a descriptor, which --ro refuses", "[e2e][exec]") {
    const std::string device = airlock::test_support::some_device();
    if (device.empty()) {
        WARN("NOT TESTED: none of /dev/fuse, /dev/loop-control, /dev/kmsg, /dev/mem is a character device here");
        return;
    }
    const std::string redteam = std::string("'") + AIRLOCK_E2E_REDTEAM + "'";
    ShellRun refused = shell(host() + " exec --ro " + device + " -- " + redteam + " granted-device 3 2>&1");
    INFO(refused.out);
    CHECK(refused.status != 0);
    CHECK(refused.out.find("redteam granted-device") == std::string::npos);  // it never started
    CHECK(refused.out.find(device + " is a character device") != std::string::npos);
    CHECK(refused.out.find("(exec: --device)") != std::string::npos);

    ShellRun printed = shell(host() + " exec --print-config --device " + device + " -- true");
    CHECK(printed.out.find("dev1 = { file = \"" + device + "\", access = \"read-write\", device = true }") !=
          std::string::npos);
    ShellRun granted = shell(host() + " exec --device " + device + " -- " + redteam + " granted-device 3 2>&1");
    INFO(granted.out);
    CHECK(granted.status == 0);
    CHECK(granted.out.find("redteam granted-device: SUCCEEDED") != std::string::npos);
}
