// describe_policy shows the effective policy a user needs to review.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace airlock::host;
using airlock::host::test::TempDir;

TEST_CASE("describe_policy lists executable, limits, grants and the resolved allowlist") {
    TempDir dir;
    const std::string data = dir.mkdir("data");
    const HostConfig config = load_config_text(R"([sandbox]
system_paths = ["/usr"]
require = ["seccomp"]
[plugin.p]
exec = "/bin/true"
args = ["-v"]
env = { LANG = "C" }
[plugin.p.limits]
memory = "1536MiB"
processes = 1
[plugin.p.syscalls]
profile = "minimal"
allow = ["@timer"]
deny = ["timer_create"]
on_violation = "errno"
[plugin.p.grants]
data = { dir = ")" + data + R"(", access = "read-write" }
buf = { memfd = "1MiB" }
)", "demo.toml");
    const std::string text = describe_policy(config.plugins.at("p"));
    INFO(text);
    CHECK(text.starts_with("plugin p\n  exec: /bin/true -v\n  protocol: airlock\n"));
    CHECK(text.find("  env: LANG=C (plus AIRLOCK_* set by the host)\n") != std::string::npos);
    CHECK(text.find("  required layers: seccomp\n") != std::string::npos);
    CHECK(text.find("  memory_cgroup: auto (a memory cgroup when the host can create one, else RLIMIT_AS only)\n") !=
          std::string::npos);
    CHECK(text.find("  system paths (read-only): /usr\n") != std::string::npos);
    CHECK(text.find("    memory: 1536MiB\n") != std::string::npos);
    CHECK(text.find("    cpu: inherited from the host\n") != std::string::npos);
    CHECK(text.find("    processes: 1 (threads only, no child processes)\n") != std::string::npos);
    CHECK(text.find("    data: dir " + data + " (read-write)\n") != std::string::npos);
    CHECK(text.find("    buf: memfd 1MiB shared memory\n") != std::string::npos);
    CHECK(text.find("  syscalls: profile minimal, on violation errno, ") != std::string::npos);
    CHECK(text.find(" timer_delete ") != std::string::npos);
    CHECK(text.find(" timer_create ") == std::string::npos);
    CHECK(text.find("    explicitly denied: timer_create\n") != std::string::npos);
    CHECK(text.find("  supervision: restart on-failure") != std::string::npos);
}

TEST_CASE("describe_policy says when memory_cgroup has nothing to limit") {
    const HostConfig config = load_config_text(R"([sandbox]
memory_cgroup = "require"
[plugin.p]
exec = "/bin/true"
[plugin.q]
exec = "/bin/true"
[plugin.q.sandbox]
memory_cgroup = "off"
[plugin.q.limits]
memory = "64MiB"
)", "demo.toml");
    CHECK(describe_policy(config.plugins.at("p")).find(
              "  memory_cgroup: require (the plugin does not start without a memory cgroup); unused, no memory "
              "limit\n") != std::string::npos);
    CHECK(describe_policy(config.plugins.at("q")).find("  memory_cgroup: off (RLIMIT_AS only)\n") !=
          std::string::npos);
}

TEST_CASE("describe_policy warns that a shared user's other processes can reach the plugin") {
    // Measured (docs/sandbox.md, Not covered): a separate nobody process took a user = "nobody"
    // plugin's grant of /etc/shadow with pidfd_getfd.
    const HostConfig config = load_config_text(R"([plugin.shared]
exec = "/bin/true"
[plugin.shared.sandbox]
user = "nobody"
[plugin.own]
exec = "/bin/true"
)", "demo.toml");
    const std::string warning = "    warning: every other process of uid 65534 on this machine can ptrace the plugin and "
                                "take its descriptors (pidfd_getfd), the grants the host opened included; "
                                "dynamic_user = true gives it a uid of its own\n";
    CHECK(describe_policy(config.plugins.at("shared")).find(warning) != std::string::npos);
    CHECK(describe_policy(config.plugins.at("own")).find("warning: every other process") == std::string::npos);
}
