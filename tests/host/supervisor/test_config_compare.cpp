// What a SIGHUP reload counts as "changed": every key of a plugin's config, one at a time, must
// make same_plugin_config() false (a key it forgets would leave a plugin running on the old
// policy after a reload), and an identical config must compare the same.
#include "config_compare.hpp"

#include <airlock/host/config_loader.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using airlock::host::load_config_text;
using airlock::host::detail::same_plugin_config;

namespace {

// One plugin with every key set; each variation below replaces exactly one line.
const std::string kBase = R"([sandbox]
system_paths = ["/usr", "/lib", "/lib64", "/etc/ld.so.cache"]
user = "nobody"
require = ["seccomp", "landlock", "no-new-privs"]
memory_cgroup = "auto"

[plugin.p]
exec = "/usr/bin/true"
args = ["a"]
env = { LANG = "C" }
protocol = "none"
restart = "on-failure"
restart_delay = "100ms"
restart_max_delay = "30s"
start_limit_burst = 5
start_limit_interval = "10s"
ready_timeout = "5s"
call_timeout = "30s"
stop_timeout = "5s"

[plugin.p.limits]
memory = "256MiB"
cpu = "10s"
open_files = 64
processes = 1
file_size = "16MiB"

[plugin.p.syscalls]
profile = "default"
allow = ["sched_yield"]
deny = ["@sync"]
on_violation = "kill"

[plugin.p.grants]
docs = { dir = "/usr/share", access = "read" }
buffer = { memfd = "1MiB" }
)";

std::string replace_line(const std::string& text, const std::string& line, const std::string& replacement) {
    const auto at = text.find(line + "\n");
    REQUIRE(at != std::string::npos);
    std::string changed = text;
    changed.replace(at, line.size(), replacement);
    return changed;
}

} // namespace

TEST_CASE("config compare: an identical plugin config is the same, a change to any key is not") {
    const auto base = load_config_text(kBase, "/tmp/compare.toml").plugins.at("p");
    CHECK(same_plugin_config(base, load_config_text(kBase, "/tmp/compare.toml").plugins.at("p")));

    const std::vector<std::pair<std::string, std::string>> variations = {
        {"system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]", "system_paths = [\"/usr\", \"/lib\", \"/lib64\"]"},
        {"user = \"nobody\"", "user = \"root\""},
        {"require = [\"seccomp\", \"landlock\", \"no-new-privs\"]", "require = [\"seccomp\", \"no-new-privs\"]"},
        {"memory_cgroup = \"auto\"", "memory_cgroup = \"off\""},
        {"exec = \"/usr/bin/true\"", "exec = \"/usr/bin/false\""},
        {"args = [\"a\"]", "args = [\"b\"]"},
        {"env = { LANG = \"C\" }", "env = { LANG = \"C.UTF-8\" }"},
        {"protocol = \"none\"", "protocol = \"airlock\""},
        {"restart = \"on-failure\"", "restart = \"always\""},
        {"restart_delay = \"100ms\"", "restart_delay = \"200ms\""},
        {"restart_max_delay = \"30s\"", "restart_max_delay = \"31s\""},
        {"start_limit_burst = 5", "start_limit_burst = 6"},
        {"start_limit_interval = \"10s\"", "start_limit_interval = \"11s\""},
        {"ready_timeout = \"5s\"", "ready_timeout = \"6s\""},
        {"call_timeout = \"30s\"", "call_timeout = \"31s\""},
        {"stop_timeout = \"5s\"", "stop_timeout = \"6s\""},
        {"memory = \"256MiB\"", "memory = \"257MiB\""},
        {"cpu = \"10s\"", "cpu = \"11s\""},
        {"open_files = 64", "open_files = 65"},
        {"processes = 1", "processes = 2"},
        {"file_size = \"16MiB\"", "file_size = \"17MiB\""},
        {"profile = \"default\"", "profile = \"minimal\""},
        {"allow = [\"sched_yield\"]", "allow = [\"sched_yield\", \"@memlock\"]"},
        {"deny = [\"@sync\"]", "deny = []"},
        {"on_violation = \"kill\"", "on_violation = \"errno\""},
        {"docs = { dir = \"/usr/share\", access = \"read\" }", "docs = { dir = \"/usr/share/doc\", access = \"read\" }"},
        {"buffer = { memfd = \"1MiB\" }", "buffer = { memfd = \"2MiB\" }"},
    };
    for (const auto& [line, replacement] : variations) {
        INFO(line << "  ->  " << replacement);
        const auto changed = load_config_text(replace_line(kBase, line, replacement), "/tmp/compare.toml").plugins.at("p");
        CHECK_FALSE(same_plugin_config(base, changed));
    }
}
