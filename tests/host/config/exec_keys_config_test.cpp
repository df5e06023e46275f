// The config keys behind `airlock-host exec` (issue 11): stdio, by_path, and execve allowed
// by name (SyscallPolicy::exec_after_launch), each checked where it is written.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <airlock/host/config_loader.hpp>

using airlock::host::GrantAccess;
using airlock::host::load_config_text;
using airlock::host::StdioMode;
using airlock::host::test::error_of;

namespace {
constexpr const char* kPlugin = "[plugin.p]\nexec = \"/bin/true\"\n";
std::string with_plugin(const std::string& rest) { return kPlugin + rest; }
} // namespace

TEST_CASE("stdio is inherit by default, log when asked, anything else is refused") {
    CHECK(load_config_text(kPlugin, "demo.toml").plugins.at("p").stdio == StdioMode::Inherit);
    CHECK(load_config_text(with_plugin("stdio = \"log\"\n"), "demo.toml").plugins.at("p").stdio == StdioMode::Log);
    CHECK(error_of(with_plugin("stdio = \"tty\"\n")) ==
          "demo.toml:3:9: unknown stdio \"tty\" in plugin \"p\"; allowed: \"inherit\", \"log\"");
}

TEST_CASE("by_path applies to dir and file grants, never to an append grant") {
    const auto config = load_config_text(with_plugin("[plugin.p.grants]\n"
                                                     "etc = { dir = \"/etc\", by_path = true }\n"
                                                     "hosts = { file = \"/etc/hosts\" }\n"),
                                         "demo.toml");
    const auto& grants = config.plugins.at("p").grants;
    CHECK(grants.at(0).by_path);
    CHECK(!grants.at(1).by_path);
    CHECK(error_of(with_plugin("[plugin.p.grants]\nlog = { file = \"/tmp/x.log\", access = \"append\", create = "
                               "true, by_path = true }\n")) ==
          "demo.toml:4:74: by_path = true in grant \"log\" cannot keep a file append-only (Landlock has no append "
          "right); an append grant is a descriptor only");
    CHECK_THAT(error_of(with_plugin("[plugin.p.grants]\ns = { connect = \"/run/x.sock\", by_path = true }\n")),
               Catch::Contains("key \"by_path\" does not apply to a connect grant"));
}

TEST_CASE("execve is allowed after the launch only when allow names it") {
    auto policy = [](const std::string& allow) {
        return load_config_text(with_plugin("[plugin.p.syscalls]\nallow = " + allow + "\n"), "demo.toml")
            .plugins.at("p")
            .syscalls;
    };
    CHECK(!load_config_text(kPlugin, "demo.toml").plugins.at("p").syscalls.exec_after_launch);
    CHECK(!policy("[\"@process\"]").exec_after_launch);  // a group is not enough
    CHECK(policy("[\"execve\"]").exec_after_launch);
    CHECK(policy("[\"execveat\", \"@process\"]").exec_after_launch);
    const auto denied = load_config_text(
        with_plugin("[plugin.p.syscalls]\nallow = [\"execve\"]\ndeny = [\"execve\"]\n"), "demo.toml");
    CHECK(!denied.plugins.at("p").syscalls.exec_after_launch);
    const auto with_exec = load_config_text(with_plugin("[plugin.p.syscalls]\nallow = [\"execve\"]\n"), "demo.toml");
    const std::string described = airlock::host::describe_policy(with_exec.plugins.at("p"));
    CHECK_THAT(described, Catch::Contains("execve allowed: the plugin may exec any file it can read and Landlock "
                                          "lets it execute: /usr (beneath)") &&
                              Catch::Contains("/bin/true"));
}
