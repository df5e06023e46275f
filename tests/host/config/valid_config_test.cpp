// Valid configs load into exactly the structures the sandbox and supervisor expect.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "test_support.hpp"

using namespace airlock::host;
using airlock::host::test::TempDir;
using namespace std::chrono_literals;

namespace {

// The example of issue 3, with grant paths inside `dir`.
std::string issue_example(const TempDir& dir) {
    const std::string root = dir.path().string();
    return R"([sandbox]                      # host-wide defaults, each overridable per plugin
system_paths = ["/usr", "/lib", "/etc/ld.so.cache"]  # read-only, for the dynamic loader
user = "nobody"                # uid/gid for plugins when the host runs as root
require = ["seccomp", "landlock", "no-new-privs"]            # fail closed if a layer is missing

[plugin.thumbnailer]
exec = "build/examples/thumbnailer"
args = ["--quality", "80"]
env = { LANG = "C.UTF-8" }     # the plugin's whole environment, plus AIRLOCK_* variables
protocol = "airlock"

[plugin.thumbnailer.limits]
memory = "256MiB"
cpu = "10s"
open_files = 64
processes = 1                  # 1 = the plugin may create threads but not processes
file_size = "16MiB"

[plugin.thumbnailer.syscalls]
profile = "default"            # a named base allowlist
allow = ["@timer", "sched_yield"]   # extra names and @groups
deny = ["mprotect"]
on_violation = "kill"          # kill | errno | log

[plugin.thumbnailer.grants]
input   = { dir = ")" + root + R"(/srv/images", access = "read" }
output  = { dir = ")" + root + R"(/srv/thumbs", access = "read-write" }
journal = { file = ")" + root + R"(/var/thumb.log", access = "append", create = true }
api     = { connect = "/run/api.sock" }
scratch = { memfd = "64MiB" }
)";
}

} // namespace

TEST_CASE("the example of issue 3 loads into the expected structures") {
    TempDir dir;
    dir.mkdir("srv/images");
    dir.mkdir("srv/thumbs");
    dir.mkdir("var");
    const std::string exec = dir.write("build/examples/thumbnailer", "#!/bin/sh\n", 0755);
    const std::string path = dir.write("demo.toml", issue_example(dir));

    const HostConfig config = load_config(path);
    CHECK(config.path == path);
    REQUIRE(config.plugins.size() == 1);
    const PluginConfig& plugin = config.plugins.at("thumbnailer");

    CHECK(plugin.name == "thumbnailer");
    CHECK(plugin.executable == exec);  // relative to the config file's directory
    CHECK(plugin.args == std::vector<std::string>{"--quality", "80"});
    CHECK(plugin.env == std::map<std::string, std::string>{{"LANG", "C.UTF-8"}});
    CHECK(plugin.protocol == PluginProtocol::Airlock);
    CHECK(plugin.where.file == path);
    CHECK(plugin.where.line == 6);

    CHECK(plugin.system_paths == std::vector<std::string>{"/usr", "/lib", "/etc/ld.so.cache"});
    CHECK(plugin.user == "nobody");
    CHECK(plugin.user_id.has_value());
    CHECK(plugin.group_id.has_value());
    CHECK(plugin.required_layers ==
          std::set<IsolationLayer>{IsolationLayer::Seccomp, IsolationLayer::Landlock, IsolationLayer::NoNewPrivs});

    CHECK(plugin.limits.memory_bytes == 256ULL << 20);
    CHECK(plugin.limits.cpu_seconds == 10);
    CHECK(plugin.limits.open_files == 64);
    CHECK(plugin.limits.processes == 1);
    CHECK(plugin.limits.file_size_bytes == 16ULL << 20);

    CHECK(plugin.syscalls.profile == "default");
    CHECK(plugin.syscalls.on_violation == ViolationAction::Kill);
    CHECK(plugin.syscalls.allowed.count("timer_create") == 1);  // from @timer
    CHECK(plugin.syscalls.allowed.count("sched_yield") == 1);
    CHECK(plugin.syscalls.allowed.count("read") == 1);          // from the profile
    CHECK(plugin.syscalls.allowed.count("mprotect") == 0);      // denied
    CHECK(plugin.syscalls.denied == std::set<std::string>{"mprotect"});

    REQUIRE(plugin.grants.size() == 5);
    const auto& input = plugin.grants[0];  // config order, not name order
    CHECK(input.name == "input");
    CHECK(input.kind == GrantKind::Directory);
    CHECK(input.path == dir.path().string() + "/srv/images");
    CHECK(input.access == GrantAccess::Read);
    CHECK(input.where.line == 26);
    CHECK(input.where.column == 11);
    const auto& output = plugin.grants[1];
    CHECK(output.name == "output");
    CHECK(output.kind == GrantKind::Directory);
    CHECK(output.access == GrantAccess::ReadWrite);
    const auto& journal = plugin.grants[2];
    CHECK(journal.name == "journal");
    CHECK(journal.kind == GrantKind::File);
    CHECK(journal.path == dir.path().string() + "/var/thumb.log");
    CHECK(journal.access == GrantAccess::Append);
    CHECK(journal.create);
    const auto& api = plugin.grants[3];
    CHECK(api.name == "api");
    CHECK(api.kind == GrantKind::Connect);
    CHECK(api.path == "/run/api.sock");
    const auto& scratch = plugin.grants[4];
    CHECK(scratch.name == "scratch");
    CHECK(scratch.kind == GrantKind::Memfd);
    CHECK(scratch.size == 64ULL << 20);
    CHECK(scratch.path.empty());
}

TEST_CASE("defaults when only exec is given") {
    const HostConfig config = load_config_text("[plugin.p]\nexec = \"/bin/true\"\n", "demo.toml");
    const PluginConfig& plugin = config.plugins.at("p");
    CHECK(plugin.executable == "/bin/true");
    CHECK(plugin.args.empty());
    CHECK(plugin.env.empty());
    CHECK(plugin.protocol == PluginProtocol::Airlock);
    CHECK_FALSE(plugin.limits.memory_bytes);
    CHECK_FALSE(plugin.limits.processes);
    CHECK(plugin.grants.empty());
    CHECK(plugin.syscalls.profile == "default");
    CHECK(plugin.syscalls.on_violation == ViolationAction::Kill);
    CHECK(plugin.syscalls.allowed.count("execve") == 1);
    CHECK(plugin.syscalls.denied.empty());
    // Fail closed: every layer is required unless the config says otherwise.
    CHECK(plugin.required_layers.size() == 3);
    // A memory cgroup where the host can make one; unprivileged hosts still run.
    CHECK(plugin.memory_cgroup == MemoryCgroupMode::Auto);
    CHECK(plugin.user == "nobody");
    CHECK(std::find(plugin.system_paths.begin(), plugin.system_paths.end(), "/usr") != plugin.system_paths.end());
    CHECK(plugin.supervision.restart == RestartPolicy::OnFailure);
    CHECK(plugin.supervision.ready_timeout == 5s);
    CHECK(plugin.supervision.stop_timeout == 5s);
    CHECK_FALSE(config.control_path);
    CHECK(config.control_users == std::vector<std::uint32_t>{static_cast<std::uint32_t>(geteuid())});
}

TEST_CASE("a plugin's [sandbox] table overrides the host-wide keys it names, and only those") {
    const HostConfig config = load_config_text(R"([sandbox]
system_paths = ["/usr"]
require = ["seccomp"]

[plugin.a]
exec = "/bin/true"

[plugin.b]
exec = "/bin/true"
[plugin.b.sandbox]
require = []
user = "root"
)", "demo.toml");
    const PluginConfig& a = config.plugins.at("a");
    CHECK(a.system_paths == std::vector<std::string>{"/usr"});
    CHECK(a.required_layers == std::set<IsolationLayer>{IsolationLayer::Seccomp});
    CHECK(a.user == "nobody");  // built-in default: [sandbox] does not name a user
    const PluginConfig& b = config.plugins.at("b");
    CHECK(b.system_paths == std::vector<std::string>{"/usr"});  // inherited
    CHECK(b.required_layers.empty());                           // overridden
    CHECK(b.user == "root");
    CHECK(b.user_id == 0u);
}

TEST_CASE("memory_cgroup: host-wide, overridden per plugin, each value") {
    const HostConfig config = load_config_text(R"([sandbox]
memory_cgroup = "require"

[plugin.strict]
exec = "/bin/true"

[plugin.relaxed]
exec = "/bin/true"
[plugin.relaxed.sandbox]
memory_cgroup = "auto"

[plugin.unlimited]
exec = "/bin/true"
[plugin.unlimited.sandbox]
memory_cgroup = "off"
require = []
)", "demo.toml");
    CHECK(config.plugins.at("strict").memory_cgroup == MemoryCgroupMode::Require);
    CHECK(config.plugins.at("relaxed").memory_cgroup == MemoryCgroupMode::Auto);
    const PluginConfig& unlimited = config.plugins.at("unlimited");
    CHECK(unlimited.memory_cgroup == MemoryCgroupMode::Off);
    CHECK(unlimited.required_layers.empty());  // the other keys of the table still apply
}

TEST_CASE("dynamic_user: on unless the config names a user, host-wide, overridden per plugin") {
    const HostConfig config = load_config_text(R"([sandbox]
dynamic_user = true

[plugin.own]
exec = "/bin/true"

[plugin.shared]
exec = "/bin/true"
[plugin.shared.sandbox]
dynamic_user = false
)", "demo.toml");
    CHECK(config.plugins.at("own").dynamic_user);
    CHECK_FALSE(config.plugins.at("shared").dynamic_user);
    CHECK(config.plugins.at("shared").user == "nobody");  // `user` is what a shared plugin runs as
    // The default: a uid of its own, unless the config names the user to share.
    CHECK(load_config_text("[plugin.p]\nexec = \"/bin/true\"\n", "demo.toml").plugins.at("p").dynamic_user);
    CHECK_FALSE(load_config_text("[sandbox]\nuser = \"nobody\"\n[plugin.p]\nexec = \"/bin/true\"\n", "demo.toml")
                    .plugins.at("p")
                    .dynamic_user);
    CHECK_FALSE(load_config_text("[plugin.p]\nexec = \"/bin/true\"\n[plugin.p.sandbox]\nuser = \"nobody\"\n",
                                 "demo.toml")
                    .plugins.at("p")
                    .dynamic_user);
}

TEST_CASE("protocol none, env, syscall options and file grants") {
    TempDir dir;
    const std::string existing = dir.write("data.txt", "x");
    const HostConfig config = load_config_text(R"([plugin.cat]
exec = "/bin/cat"
protocol = "none"
env = { LANG = "C", EMPTY = "" }
[plugin.cat.syscalls]
profile = "minimal"
on_violation = "errno"
[plugin.cat.grants]
data = { file = ")" + existing + R"(" }
log = { file = ")" + existing + R"(", access = "write" }
)", "demo.toml");
    const PluginConfig& plugin = config.plugins.at("cat");
    CHECK(plugin.protocol == PluginProtocol::None);
    CHECK(plugin.env.at("EMPTY").empty());
    CHECK(plugin.syscalls.profile == "minimal");
    CHECK(plugin.syscalls.on_violation == ViolationAction::Errno);
    CHECK(plugin.syscalls.allowed.count("clone") == 0);
    REQUIRE(plugin.grants.size() == 2);
    CHECK(plugin.grants[0].access == GrantAccess::Read);  // access defaults to read
    CHECK_FALSE(plugin.grants[0].create);
    CHECK(plugin.grants[1].access == GrantAccess::Write);
}

TEST_CASE("grant paths are normalized") {
    TempDir dir;
    dir.mkdir("a/b");
    const HostConfig config = load_config_text(
        "[plugin.p]\nexec = \"/bin/true\"\n[plugin.p.grants]\nd = { dir = \"" + dir.path().string() +
            "/a/./b/../b/\" }\n",
        "demo.toml");
    CHECK(config.plugins.at("p").grants.at(0).path == dir.path().string() + "/a/b");
}

TEST_CASE("[host] control settings and supervision keys") {
    const HostConfig config = load_config_text(R"([host]
control = "/run/airlock/control.sock"
control_users = ["root", 1234]

[plugin.p]
exec = "/bin/true"
restart = "always"
restart_delay = "200ms"
restart_max_delay = "1m"
start_limit_burst = 3
start_limit_interval = "30s"
ready_timeout = "2s"
call_timeout = "1h"
stop_timeout = "500ms"
)", "demo.toml");
    CHECK(config.control_path == "/run/airlock/control.sock");
    CHECK(config.control_users == std::vector<std::uint32_t>{0, 1234});
    const auto& s = config.plugins.at("p").supervision;
    CHECK(s.restart == RestartPolicy::Always);
    CHECK(s.restart_delay == 200ms);
    CHECK(s.restart_max_delay == 1min);
    CHECK(s.start_limit_burst == 3);
    CHECK(s.start_limit_interval == 30s);
    CHECK(s.ready_timeout == 2s);
    CHECK(s.call_timeout == 1h);
    CHECK(s.stop_timeout == 500ms);
}

TEST_CASE("several plugins, the map is keyed by name") {
    const HostConfig config = load_config_text(
        "[plugin.zeta]\nexec = \"/bin/true\"\n[plugin.alpha-1_b]\nexec = \"/bin/true\"\n", "x.toml");
    CHECK(config.plugins.size() == 2);
    CHECK(config.plugins.count("alpha-1_b") == 1);
    CHECK(config.plugins.at("zeta").where.line == 1);
}

TEST_CASE("relative exec without a directory in the message path resolves against the CWD") {
    TempDir dir;
    dir.write("tool", "#!/bin/sh\n", 0755);
    const auto previous = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    std::string executable;
    try {
        executable = load_config_text("[plugin.p]\nexec = \"tool\"\n", "demo.toml").plugins.at("p").executable;
    } catch (...) {
        std::filesystem::current_path(previous);
        throw;
    }
    std::filesystem::current_path(previous);
    CHECK(executable == (dir.path() / "tool").string());
}

TEST_CASE("load_config reports an unreadable file without a line") {
    CHECK_THROWS_WITH(load_config("/nonexistent/airlock.toml"),
                      "/nonexistent/airlock.toml: cannot read config file: No such file or directory");
    CHECK_THROWS_WITH(load_config("/tmp"),
                      "/tmp: cannot read config file: it is a directory; give the path of a .toml file");
}

TEST_CASE("every shipped example config loads") {
    const std::filesystem::path examples = AIRLOCK_CONFIG_EXAMPLES;
    int loaded = 0;
    for (const auto& entry : std::filesystem::directory_iterator(examples)) {
        if (entry.path().extension() != ".toml")
            continue;
        INFO(entry.path());
        CHECK_NOTHROW(load_config(entry.path().string()));
        ++loaded;
    }
    CHECK(loaded >= 3);
}
