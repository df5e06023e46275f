// airlock-host check / exec / run, as a user runs them.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>

using namespace airlock;
using namespace airlock::test;

namespace {

const std::string kHost = AIRLOCK_HOST_EXE;

struct CommandResult {
    int status = -1;
    std::string out;
    std::string err;
};

CommandResult run_host(const TempDir& dir, const std::string& arguments) {
    const std::string out = dir.path() + "/cli.out";
    const std::string err = dir.path() + "/cli.err";
    int raw = std::system((kHost + " " + arguments + " >" + out + " 2>" + err).c_str());
    CommandResult result;
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    result.out = dir.read("cli.out");
    result.err = dir.read("cli.err");
    return result;
}

} // namespace

TEST_CASE("check prints each plugin's policy and the isolation layers", "[cli]") {
    TempDir dir;
    dir.file("ok.toml", probe_toml(ProbeConfig{}));
    CommandResult result = run_host(dir, "check " + dir.path() + "/ok.toml");
    INFO(result.out << result.err);
    CHECK(result.status == 0);
    CHECK_THAT(result.out, Catch::Contains("probe") && Catch::Contains("layers applied at spawn:"));
}

TEST_CASE("check exits 78 (EX_CONFIG) with the located message on a bad config", "[cli]") {
    TempDir dir;
    dir.file("bad.toml", "[plugin.probe]\nexec = \"" + kProbe + "\"\nprotocl = \"none\"\n");
    CommandResult result = run_host(dir, "check " + dir.path() + "/bad.toml");
    CHECK(result.status == 78);
    CHECK_THAT(result.err, Catch::Contains(dir.path() + "/bad.toml:3:1") && Catch::Contains("protocl"));
}

TEST_CASE("exec runs one plugin, forwards its output and exits with its status", "[cli]") {
    TempDir dir;
    ProbeConfig probe;
    probe.args = {"echo", "hi"};
    dir.file("exec.toml", probe_toml(probe));
    // stdio = "inherit" (the default): the output unchanged.
    CommandResult result = run_host(dir, "exec " + dir.path() + "/exec.toml probe -- echo-err oops exit 5");
    CHECK(result.status == 5);
    CHECK(result.out == "hi\n");
    CHECK(result.err == "oops\n");
    // --prefix (stdio = "log"): prefixed lines.
    result = run_host(dir, "exec --prefix " + dir.path() + "/exec.toml probe -- echo-err oops exit 5");
    CHECK(result.status == 5);
    CHECK(result.out == "[probe] hi\n");
    CHECK(result.err == "[probe] oops\n");

    result = run_host(dir, "exec " + dir.path() + "/exec.toml probe -- signal 9");
    CHECK(result.status == 128 + 9);
    CHECK_THAT(result.err, Catch::Contains("plugin probe (pid") && Catch::Contains("killed by signal 9 (SIGKILL)"));
}

TEST_CASE("exec of an unknown plugin and run of a broken config are refused with sysexits codes", "[cli]") {
    TempDir dir;
    dir.file("exec.toml", probe_toml(ProbeConfig{}));
    CommandResult unknown = run_host(dir, "exec " + dir.path() + "/exec.toml nosuch");
    CHECK(unknown.status == 64);
    CHECK_THAT(unknown.err, Catch::Contains("no plugin named 'nosuch'"));
    // `run` supervises until SIGTERM (tests/host/supervisor); a config it cannot load is EX_CONFIG.
    dir.file("broken.toml", "[plugin.broken]\nexec = 42\n");
    CommandResult run = run_host(dir, "run " + dir.path() + "/broken.toml");
    CHECK(run.status == 78);
    CHECK_THAT(run.err, Catch::Contains("broken.toml"));
}
