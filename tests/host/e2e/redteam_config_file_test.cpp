// Red team: the config file itself. A config kept inside a directory one of its plugins may
// write is a config that plugin can rewrite (or replace with a link) before the next load
// (a restart, SIGHUP): it would choose its own grants and sandbox. The host refuses to load it.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

using namespace airlock::e2e;

namespace {

constexpr uid_t kNobody = 65534;

std::string work_grant(const std::string& work) {
    return "work = { dir = " + quoted(work) + ", access = \"read-write\" }";
}

} // namespace

TEST_CASE("a config file inside a plugin's writable grant is refused before the plugin can rewrite it",
          "[e2e][redteam]") {
    if (skipped_unless_root("a root host and a plugin running as nobody")) return;
    TempDir dir;
    const std::string work = dir.dir("work");
    REQUIRE(::chown(work.c_str(), kNobody, kNobody) == 0);
    AttemptConfig attempt;
    attempt.sandbox = "namespaces = \"off\"";  // the plugin plants by host path
    attempt.grants = work_grant(work);
    const std::string text = attempt_toml(attempt);
    for (const std::string& config : {work + "/airlock.toml", dir.at("outside.toml")}) {
        std::ofstream(config) << text;
        ::chmod(config.c_str(), 0644);
    }
    // The same config reached through a link from outside the grant.
    REQUIRE(::symlink((work + "/airlock.toml").c_str(), dir.at("link.toml").c_str()) == 0);

    for (const std::string& config : {work + "/airlock.toml", dir.at("link.toml")}) {
        // The plugin moves the config aside and puts a link to a file of its choice there.
        const Run run = exec_attempt(config, {"plant", "symlink", work + "/airlock.toml", "/etc/hostname", "none"});
        INFO(config << "\n" << run.out << run.err);
        CHECK(run.status == 78);  // EX_CONFIG
        CHECK(run.err.find("config file " + work + "/airlock.toml lies inside the writable dir grant \"work\"") !=
              std::string::npos);
        struct stat status {};
        REQUIRE(::lstat((work + "/airlock.toml").c_str(), &status) == 0);
        CHECK(S_ISREG(status.st_mode));
        CHECK(read_text(work + "/airlock.toml") + "\n" == text);
        const Run check = run_host({"check", config});
        CHECK(check.status != 0);
    }

    // The same config kept outside the grant: the host serves it.
    const Run served = exec_attempt(dir.at("outside.toml"), {"noop"});
    INFO(served.out << served.err);
    CHECK(served.status == 0);
    CHECK(served.result("noop") == "SUCCEEDED");
}
