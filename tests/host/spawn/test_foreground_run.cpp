// run_in_foreground: what `airlock-host exec` does with a plugin's output and exit.
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

TEST_CASE("stdout and stderr lines are forwarded to their own streams, prefixed", "[foreground]") {
    Spawner spawner(probe_config(ProbeConfig{}));
    ProbeRun run = run_probe(spawner, {"echo", "to stdout", "echo-err", "to stderr", "exit", "4"});
    CHECK(run.out == std::vector<std::string>{"to stdout"});
    CHECK(run.err == std::vector<std::string>{"[probe] to stderr"});
    CHECK(run.exit.shell_status() == 4);
}

TEST_CASE("extra arguments follow the configured ones", "[foreground]") {
    ProbeConfig probe;
    probe.args = {"echo", "configured"};
    Spawner spawner(probe_config(probe));
    ProbeRun run = run_probe(spawner, {"echo", "extra"});
    CHECK(run.out == std::vector<std::string>{"configured", "extra"});
}
