// PluginSpec, the typed builder under the TOML: each check gives the same message whether
// the value comes from C++ or from a config file. Every case builds the same plugin both
// ways and compares the messages, so a drift between the two fails here.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <type_traits>

#include "airlock/host/plugin_spec.hpp"
#include "test_support.hpp"

using namespace airlock::host;
using airlock::host::test::TempDir;

namespace {

constexpr const char* kPlugin = "[plugin.p]\nexec = \"/bin/true\"\n";

PluginSpec plugin_p() { return std::move(PluginSpec("p").exec("/bin/true")); }

// The loader's message without its FILE:LINE:COLUMN prefix, or "no error".
std::string loader_message(const std::string& toml) {
    try {
        load_config_text(toml, "demo.toml");
    } catch (const ConfigError& error) {
        return error.message();
    }
    return "no error";
}

// The builder's message, or "no error". A spec built in code has no location: what() is the
// message alone.
std::string spec_message(const PluginSpec& spec) {
    try {
        spec.build();
    } catch (const ConfigError& error) {
        CHECK(std::string(error.what()) == error.message());
        return error.message();
    }
    return "no error";
}

// Both refuse, with the same message, which says `expected`.
void same_error(const std::string& toml, const PluginSpec& spec, const std::string& expected) {
    const std::string from_toml = loader_message(toml);
    INFO("TOML:\n" << toml);
    CHECK_THAT(from_toml, Catch::Contains(expected));
    CHECK(spec_message(spec) == from_toml);
}

} // namespace

TEST_CASE("spec: plugin name, exec and args are checked like [plugin.NAME]") {
    TempDir dir;
    const std::string not_executable = dir.write("plain", "data", 0644);
    same_error("[plugin.\"a b\"]\nexec = \"/bin/true\"\n", PluginSpec("a b").exec("/bin/true"),
               "invalid plugin name \"a b\"; plugin names may contain only letters");
    same_error("[plugin.p]\nargs = []\n", PluginSpec("p"), "plugin \"p\" has no exec");
    same_error("[plugin.p]\nexec = \"\"\n", PluginSpec("p").exec(""), "exec of plugin \"p\" is empty");
    same_error("[plugin.p]\nexec = \"/nonexistent/airlock/x\"\n", PluginSpec("p").exec("/nonexistent/airlock/x"),
               "does not exist; exec must name an existing executable file");
    same_error("[plugin.p]\nexec = \"" + dir.path().string() + "\"\n", PluginSpec("p").exec(dir.path().string()),
               "is not a regular file");
    same_error("[plugin.p]\nexec = \"" + not_executable + "\"\n", PluginSpec("p").exec(not_executable),
               "is not executable; chmod +x it");
    // Relative: from the config file's directory (demo.toml: the current one), resp. the
    // spec's base directory (default: the current one).
    same_error("[plugin.p]\nexec = \"no-such-plugin\"\n", PluginSpec("p").exec("no-such-plugin"),
               "(exec \"no-such-plugin\" relative to the config file's directory) of plugin \"p\" does not exist");
    same_error("[plugin.p]\nexec = \"/bin/true\"\nargs = [\"a\\u0000b\"]\n",
               std::move(plugin_p().arg(std::string("a\0b", 3))), "contains a NUL character");
}

TEST_CASE("spec: environment variables are checked like env") {
    same_error(std::string(kPlugin) + "env = { \"A=B\" = \"x\" }\n", std::move(plugin_p().env("A=B", "x")),
               "invalid environment variable name \"A=B\" in env of plugin \"p\"");
    same_error(std::string(kPlugin) + "env = { AIRLOCK_X = \"x\" }\n", std::move(plugin_p().env("AIRLOCK_X", "x")),
               "environment variable \"AIRLOCK_X\" in env of plugin \"p\" is reserved");
    same_error(std::string(kPlugin) + "protocol = \"none\"\nenv = { LISTEN_FDS = \"1\" }\n",
               std::move(plugin_p().env("LISTEN_FDS", "1").protocol(PluginProtocol::None)), "is reserved");
    // LISTEN_* is the program's own with the airlock protocol.
    CHECK(spec_message(std::move(plugin_p().env("LISTEN_FDS", "1"))) == "no error");
}

TEST_CASE("spec: limits are checked like [plugin.NAME.limits]") {
    const std::string limits = std::string(kPlugin) + "[plugin.p.limits]\n";
    same_error(limits + "memory = \"12XB\"\n", std::move(plugin_p().memory("12XB")),
               "invalid memory limit in [plugin.p.limits]: unknown size unit \"XB\"");
    same_error(limits + "memory = 0\n", std::move(plugin_p().memory(0)), "size 0 is zero");
    same_error(limits + "memory = -5\n", std::move(plugin_p().memory(-5)), "negative size -5");
    same_error(limits + "file_size = \"1.5GiB\"\n", std::move(plugin_p().file_size("1.5GiB")),
               "invalid file_size limit in [plugin.p.limits]: invalid size \"1.5GiB\": fractions are not allowed");
    same_error(limits + "cpu = \"1500ms\"\n", std::move(plugin_p().cpu(std::chrono::milliseconds(1500))),
               "invalid cpu limit \"1500ms\" in [plugin.p.limits]: RLIMIT_CPU counts whole seconds");
    same_error(limits + "cpu = \"0s\"\n", std::move(plugin_p().cpu("0s")), "invalid cpu limit in [plugin.p.limits]");
    same_error(limits + "open_files = 0\n", std::move(plugin_p().open_files(0)),
               "invalid open_files limit 0 in [plugin.p.limits]; it must be at least 1");
    same_error(limits + "processes = -1\n", std::move(plugin_p().processes(-1)), "invalid processes limit -1");
    same_error(limits + "tasks = 0\n", std::move(plugin_p().tasks(0)), "invalid tasks limit 0");
    same_error(limits + "cpu_quota = \"0%\"\n", std::move(plugin_p().cpu_quota_percent(0)),
               "invalid cpu_quota \"0%\" in [plugin.p.limits]; write a whole percentage");
    same_error(limits + "cpu_quota = \"20000%\"\n", std::move(plugin_p().cpu_quota_percent(20000)), "\"20000%\"");
    same_error(limits + "cpu_quota = \"half\"\n", std::move(plugin_p().cpu_quota("half")), "\"half\"");
    same_error(limits + "wall = \"10\"\n", std::move(plugin_p().wall("10")),
               "invalid wall-clock limit in [plugin.p.limits]: duration \"10\" has no unit");
    same_error(limits + "wall = \"0ms\"\n", std::move(plugin_p().wall(std::chrono::milliseconds(0))), "is zero");
}

TEST_CASE("spec: syscalls are checked like [plugin.NAME.syscalls]") {
    const std::string syscalls = std::string(kPlugin) + "[plugin.p.syscalls]\n";
    same_error(syscalls + "profile = \"nope\"\n", std::move(plugin_p().syscall_profile("nope")),
               "unknown syscall profile \"nope\" in [plugin.p.syscalls]; known profiles:");
    same_error(syscalls + "allow = [\"read\", \"nope\"]\n", std::move(plugin_p().allow({"read", "nope"})),
               "unknown system call \"nope\" in allow of [plugin.p.syscalls]");
    same_error(syscalls + "deny = [\"@nope\"]\n", std::move(plugin_p().deny({"@nope"})),
               "unknown syscall group \"@nope\" in deny of [plugin.p.syscalls]; known groups:");
    same_error(syscalls + "allow = [\"io_uring_setup\"]\n", std::move(plugin_p().allow({"io_uring_setup"})),
               "io_uring_setup is never allowed in a plugin: io_uring runs I/O outside the seccomp filter");
}

TEST_CASE("spec: grants are checked like [plugin.NAME.grants]") {
    TempDir dir;
    const std::string file = dir.write("data.txt", "x");
    const std::string sub = dir.mkdir("sub");
    const std::string grants = std::string(kPlugin) + "[plugin.p.grants]\n";
    auto toml = [&](const std::string& grant) { return grants + grant + "\n"; };
    same_error(toml("\"a b\" = { memfd = \"4KiB\" }"), std::move(plugin_p().grant_memfd("a b", "4KiB")),
               "invalid grant name \"a b\"");
    same_error(toml("in = { dir = \"relative/dir\" }"), std::move(plugin_p().grant_dir("in", "relative/dir")),
               "dir path \"relative/dir\" of grant \"in\" is not absolute");
    same_error(toml("in = { dir = \"/nonexistent/airlock\" }"), std::move(plugin_p().grant_dir("in", "/nonexistent/airlock")),
               "directory \"/nonexistent/airlock\" of grant \"in\" does not exist");
    same_error(toml("in = { dir = \"" + file + "\" }"), std::move(plugin_p().grant_dir("in", file)), "is not a directory");
    same_error(toml("in = { dir = \"" + sub + "\", access = \"write\" }"),
               std::move(plugin_p().grant_dir("in", sub, GrantAccess::Write)),
               "unknown access \"write\" for dir grant \"in\"; allowed: \"read\", \"read-write\"");
    same_error(toml("f = { file = \"" + sub + "\" }"), std::move(plugin_p().grant_file("f", sub)), "is a directory");
    same_error(toml("f = { file = \"" + sub + "/missing\" }"), std::move(plugin_p().grant_file("f", sub + "/missing")),
               "does not exist; create it first");
    same_error(toml("f = { file = \"" + sub + "/new\", create = true }"),
               std::move(plugin_p().grant_file("f", sub + "/new", GrantAccess::Read, true)),
               "create = true in grant \"f\" needs access");
    same_error(toml("f = { file = \"" + sub + "/no/new\", access = \"write\", create = true }"),
               std::move(plugin_p().grant_file("f", sub + "/no/new", GrantAccess::Write, true)),
               "create = true creates only the file");
    same_error(toml("s = { connect = \"" + file + "\" }"), std::move(plugin_p().grant_connect("s", file)),
               "is not a UNIX socket");
    same_error(toml("m = { memfd = \"0KiB\" }"), std::move(plugin_p().grant_memfd("m", "0KiB")),
               "invalid memfd size in grant \"m\": size \"0KiB\" is zero");
    same_error(toml("m = { memfd = -1 }"), std::move(plugin_p().grant_memfd("m", std::int64_t{-1})), "negative size -1");
    GrantConfig append;
    append.name = "log";
    append.kind = GrantKind::File;
    append.path = file;
    append.access = GrantAccess::Append;
    append.by_path = true;
    same_error(toml("log = { file = \"" + file + "\", access = \"append\", by_path = true }"),
               std::move(plugin_p().grant(append)), "by_path = true in grant \"log\" cannot keep a file append-only");
    GrantConfig connect_create;
    connect_create.name = "s";
    connect_create.kind = GrantKind::Connect;
    connect_create.path = "/run/x.sock";
    connect_create.create = true;
    same_error(toml("s = { connect = \"/run/x.sock\", create = true }"), std::move(plugin_p().grant(connect_create)),
               "key \"create\" does not apply to a connect grant (grant \"s\"); a connect grant takes: connect, "
               "inside_writable, datagram");

    std::string many = grants;
    PluginSpec spec = plugin_p();
    for (int i = 0; i <= 253; ++i) {
        many += "m" + std::to_string(i) + " = { memfd = 4096 }\n";
        spec.grant_memfd("m" + std::to_string(i), std::int64_t{4096});
    }
    same_error(many, spec, "too many grants in [plugin.p.grants]; at most 253");

    // Only code can name a grant twice.
    CHECK(spec_message(std::move(plugin_p().grant_memfd("m", "4KiB").grant_memfd("m", "8KiB"))) ==
          "grant \"m\" is given twice in plugin \"p\"; grant names must be unique");
}

TEST_CASE("spec: sandbox settings are checked like [plugin.NAME.sandbox]") {
    const std::string sandbox = std::string(kPlugin) + "[plugin.p.sandbox]\n";
    same_error(sandbox + "user = \"no-such-user-airlock\"\n", std::move(plugin_p().user("no-such-user-airlock")),
               "unknown user \"no-such-user-airlock\" in [plugin.p.sandbox]; user must name an existing account");
    same_error(sandbox + "system_paths = [\"usr\"]\n", std::move(plugin_p().system_paths({"usr"})),
               "system path \"usr\" in [plugin.p.sandbox] is not absolute");
    same_error(sandbox + "system_paths = [\"/nonexistent/airlock\"]\n",
               std::move(plugin_p().system_paths({"/nonexistent/airlock"})), "does not exist; list only existing");
}

TEST_CASE("spec: restart settings are checked like the keys of [plugin.NAME]") {
    same_error(std::string(kPlugin) + "restart_delay = \"0s\"\n", std::move(plugin_p().restart_delay("0s")),
               "invalid restart_delay in plugin \"p\": duration \"0s\" is zero");
    same_error(std::string(kPlugin) + "start_limit_burst = 0\n", std::move(plugin_p().start_limit_burst(0)),
               "start_limit_burst 0 in plugin \"p\" is out of range");
    same_error(std::string(kPlugin) + "restart_delay = \"2s\"\nrestart_max_delay = \"1s\"\n",
               std::move(plugin_p().restart_delay(std::chrono::seconds(2)).restart_max_delay("1s")),
               "restart_max_delay is shorter than restart_delay in plugin \"p\"");
}

TEST_CASE("spec: a valid spec resolves to the same plugin as the equivalent TOML") {
    TempDir dir;
    const std::string out = dir.mkdir("out");
    const std::string input = dir.write("in.txt", "x");
    const std::string toml = "[plugin.p]\n"
                             "exec = \"/bin/true\"\n"
                             "args = [\"--serve\", \"x\"]\n"
                             "env = { LANG = \"C.UTF-8\" }\n"
                             "restart = \"no\"\n"
                             "stop_timeout = \"2s\"\n"
                             "[plugin.p.limits]\n"
                             "memory = \"256MiB\"\n"
                             "cpu = \"1m\"\n"
                             "open_files = 32\n"
                             "processes = 1\n"
                             "cpu_quota = \"50%\"\n"
                             "wall = \"10s\"\n"
                             "[plugin.p.syscalls]\n"
                             "allow = [\"@timer\"]\n"
                             "deny = [\"sched_yield\"]\n"
                             "on_violation = \"errno\"\n"
                             "[plugin.p.grants]\n"
                             "out = { dir = \"" + out + "/\", access = \"read-write\" }\n"
                             "in = { file = \"" + input + "\" }\n"
                             "shm = { memfd = \"64KiB\" }\n"
                             "[plugin.p.sandbox]\n"
                             "require = [\"seccomp\"]\n"
                             "namespaces = \"off\"\n";
    const PluginConfig from_toml = load_config_text(toml, "demo.toml").plugins.at("p");
    PluginSpec spec("p");
    spec.exec("/bin/true").args({"--serve", "x"}).env("LANG", "C.UTF-8").restart(RestartPolicy::No)
        .stop_timeout(std::chrono::seconds(2))
        .memory("256MiB").cpu(std::chrono::minutes(1)).open_files(32).processes(1).cpu_quota_percent(50)
        .wall(std::chrono::seconds(10))
        .allow({"@timer"}).deny({"sched_yield"}).on_violation(ViolationAction::Errno)
        .grant_dir("out", out + "/", GrantAccess::ReadWrite).grant_file("in", input).grant_memfd("shm", "64KiB")
        .require({IsolationLayer::Seccomp}).namespaces(NamespacesMode::Off);
    const PluginConfig from_spec = spec.build();
    // describe_policy prints every resolved setting (`airlock-host check`).
    CHECK(describe_policy(from_spec) == describe_policy(from_toml));
    CHECK(from_spec.grants[0].path == out);  // normalized like the loader's
    CHECK(from_spec.limits.tasks == kDefaultTasksLimit);
    CHECK(from_spec.user == from_toml.user);
    CHECK(from_spec.system_paths == from_toml.system_paths);
    CHECK(from_spec.supervision.stop_timeout == std::chrono::seconds(2));
}

TEST_CASE("spec: build_host_config checks the specs together") {
    TempDir dir;
    const std::string out = dir.mkdir("out");
    std::vector<PluginSpec> plugins{plugin_p(), plugin_p()};
    REQUIRE_THROWS_WITH(build_host_config(plugins), "plugin \"p\" is given twice; plugin names must be unique");
    // A path inside another plugin's writable dir grant, as in a config file.
    PluginSpec writer("writer");
    writer.exec("/bin/true").grant_dir("out", out, GrantAccess::ReadWrite);
    PluginSpec reader("reader");
    reader.exec("/bin/true").grant_dir("sub", out);
    REQUIRE_THROWS_WITH(build_host_config({writer, reader}),
                        Catch::Contains("grant \"sub\" of plugin \"reader\": " + out + " lies inside the writable dir "
                                        "grant \"out\" of plugin \"writer\""));
    const HostConfig config = build_host_config({writer});
    CHECK(config.plugins.at("writer").config_writable_directories == std::vector<std::string>{out});
    CHECK(config.control_users == std::vector<std::uint32_t>{static_cast<std::uint32_t>(::geteuid())});
}

TEST_CASE("spec: grant kinds and access modes have one definition, the wire protocol's") {
    // The config, the sandbox, the spawner and the SDK share these; no translation between copies.
    STATIC_REQUIRE(std::is_same_v<GrantKind, airlock::protocol::GrantKind>);
    STATIC_REQUIRE(std::is_same_v<GrantAccess, airlock::protocol::GrantAccess>);
    CHECK(std::string(grant_kind_name(GrantKind::Directory)) == "dir");
    CHECK(std::string(grant_access_name(GrantAccess::ReadWrite)) == "read-write");
}
