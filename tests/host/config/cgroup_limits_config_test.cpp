// limits.tasks, limits.cpu_quota, limits.wall and the pids_cgroup / cpu_cgroup modes: what
// loads, the defaults, and every malformed value refused with FILE:LINE:COLUMN.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace airlock::host;
using airlock::host::test::error_of;
using namespace std::chrono_literals;

namespace {
constexpr const char* kPlugin = "[plugin.p]\nexec = \"/bin/true\"\n";
std::string with_plugin(const std::string& rest) { return kPlugin + rest; }
} // namespace

TEST_CASE("tasks, cpu_quota and wall load, and tasks defaults to 64") {
    const HostConfig config = load_config_text(R"([plugin.p]
exec = "/bin/true"
[plugin.p.limits]
tasks = 16
cpu_quota = "50%"
wall = "30s"

[plugin.multi]
exec = "/bin/true"
[plugin.multi.limits]
cpu_quota = "150%"
wall = "250ms"

[plugin.plain]
exec = "/bin/true"
)", "demo.toml");
    const Limits& p = config.plugins.at("p").limits;
    CHECK(p.tasks == 16u);
    CHECK(p.cpu_quota_percent == 50u);
    CHECK(p.wall == 30s);
    const Limits& multi = config.plugins.at("multi").limits;
    CHECK(multi.tasks == kDefaultTasksLimit);  // a limits table without tasks
    CHECK(multi.cpu_quota_percent == 150u);
    CHECK(multi.wall == 250ms);
    const Limits& plain = config.plugins.at("plain").limits;
    CHECK(plain.tasks == 64u);  // no limits table at all
    CHECK_FALSE(plain.cpu_quota_percent);
    CHECK_FALSE(plain.wall);
}

TEST_CASE("pids_cgroup and cpu_cgroup: host-wide, overridden per plugin, auto by default") {
    const HostConfig config = load_config_text(R"([sandbox]
pids_cgroup = "require"
cpu_cgroup = "off"

[plugin.strict]
exec = "/bin/true"

[plugin.relaxed]
exec = "/bin/true"
[plugin.relaxed.sandbox]
pids_cgroup = "off"
cpu_cgroup = "require"
)", "demo.toml");
    CHECK(config.plugins.at("strict").pids_cgroup == CgroupMode::Require);
    CHECK(config.plugins.at("strict").cpu_cgroup == CgroupMode::Off);
    CHECK(config.plugins.at("relaxed").pids_cgroup == CgroupMode::Off);
    CHECK(config.plugins.at("relaxed").cpu_cgroup == CgroupMode::Require);
    const HostConfig defaults = load_config_text(kPlugin, "demo.toml");
    CHECK(defaults.plugins.at("p").pids_cgroup == CgroupMode::Auto);
    CHECK(defaults.plugins.at("p").cpu_cgroup == CgroupMode::Auto);
}

TEST_CASE("malformed tasks, cpu_quota and wall") {
    CHECK(error_of(with_plugin("[plugin.p.limits]\ntasks = 0\n")) ==
          "demo.toml:4:9: invalid tasks limit 0 in [plugin.p.limits]; it must be at least 1 "
          "(threads and processes together)");
    CHECK(error_of(with_plugin("[plugin.p.limits]\ntasks = \"64\"\n")) ==
          "demo.toml:4:9: \"tasks\" in [plugin.p.limits] must be a positive integer (threads and processes "
          "together), not a string");
    CHECK(error_of(with_plugin("[plugin.p.limits]\ncpu_quota = 50\n")) ==
          "demo.toml:4:13: \"cpu_quota\" in [plugin.p.limits] must be a percentage of one CPU such as \"50%\", "
          "not an integer");
    for (const char* bad : {"50", "0%", "%", "0.5%", "-5%", "10001%", "50 %", "1000000%"}) {
        INFO(bad);
        CHECK(error_of(with_plugin("[plugin.p.limits]\ncpu_quota = \"" + std::string(bad) + "\"\n")) ==
              "demo.toml:4:13: invalid cpu_quota \"" + std::string(bad) +
                  "\" in [plugin.p.limits]; write a whole percentage of one CPU from \"1%\" to \"10000%\", "
                  "e.g. \"50%\" (half a CPU)");
    }
    CHECK(error_of(with_plugin("[plugin.p.limits]\nwall = \"30\"\n")) ==
          "demo.toml:4:8: invalid wall-clock limit in [plugin.p.limits]: duration \"30\" has no unit; write a "
          "whole number with a unit ms, s, m or h, e.g. \"500ms\", \"10s\", \"2m\"");
    CHECK(error_of(with_plugin("[plugin.p.limits]\nwall = 30\n")) ==
          "demo.toml:4:8: \"wall\" in [plugin.p.limits] must be a duration such as \"10s\" or \"500ms\", "
          "not an integer");
}

TEST_CASE("malformed pids_cgroup and cpu_cgroup") {
    CHECK(error_of("[sandbox]\npids_cgroup = \"yes\"\n" + std::string(kPlugin)) ==
          "demo.toml:2:15: unknown pids_cgroup \"yes\" in [sandbox]; allowed: \"auto\" (enforce limits.tasks "
          "when the host can create the cgroup), \"require\" (refuse to start without it), \"off\" (do not "
          "enforce limits.tasks)");
    CHECK(error_of(with_plugin("[plugin.p.sandbox]\ncpu_cgroup = \"on\"\n")) ==
          "demo.toml:4:14: unknown cpu_cgroup \"on\" in [plugin.p.sandbox]; allowed: \"auto\" (enforce "
          "limits.cpu_quota when the host can create the cgroup), \"require\" (refuse to start without it), "
          "\"off\" (do not enforce limits.cpu_quota)");
    CHECK(error_of("[sandbox]\ncpu_cgroup = false\n" + std::string(kPlugin)) ==
          "demo.toml:2:14: \"cpu_cgroup\" in [sandbox] must be one of \"auto\", \"require\", \"off\", not a "
          "boolean");
    CHECK(error_of(with_plugin("[plugin.p.limits]\npids_cgroup = \"off\"\n")) ==
          "demo.toml:4:1: unknown key \"pids_cgroup\" in [plugin.p.limits]; allowed keys: memory, cpu, "
          "open_files, processes, file_size, tasks, cpu_quota, wall");
}

TEST_CASE("describe_policy shows tasks, cpu_quota, wall and the two cgroup modes") {
    const HostConfig config = load_config_text(R"([plugin.p]
exec = "/bin/true"
[plugin.p.limits]
tasks = 16
cpu_quota = "50%"
wall = "30s"
[plugin.p.sandbox]
cpu_cgroup = "require"

[plugin.q]
exec = "/bin/true"
[plugin.q.sandbox]
pids_cgroup = "off"
)", "demo.toml");
    const std::string p = describe_policy(config.plugins.at("p"));
    INFO(p);
    CHECK(p.find("    tasks: 16 (threads and processes)\n") != std::string::npos);
    CHECK(p.find("    cpu_quota: 50% of one CPU\n") != std::string::npos);
    CHECK(p.find("    wall: 30s\n") != std::string::npos);
    CHECK(p.find("  pids_cgroup: auto (enforced when the host can create the cgroup)\n") != std::string::npos);
    CHECK(p.find("  cpu_cgroup: require (the plugin does not start without the cgroup)\n") != std::string::npos);
    const std::string q = describe_policy(config.plugins.at("q"));
    INFO(q);
    CHECK(q.find("    tasks: 64 (threads and processes)\n") != std::string::npos);
    CHECK(q.find("    cpu_quota: none\n") != std::string::npos);
    CHECK(q.find("    wall: none\n") != std::string::npos);
    CHECK(q.find("  pids_cgroup: off (not enforced)\n") != std::string::npos);
    CHECK(q.find("  cpu_cgroup: auto (enforced when the host can create the cgroup); unused, no cpu_quota\n") !=
          std::string::npos);
}
