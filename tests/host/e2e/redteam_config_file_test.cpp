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
        // The directory is the plugin user's: refused as any path another user can change.
        CHECK(run.err.find("config file " + config + ": " + work + " belongs to uid 65534, who could replace " +
                           work + "/airlock.toml") != std::string::npos);
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

TEST_CASE("a config file another local user can change is refused by exec, check and run", "[e2e][redteam]") {
    // Whoever can change the config picks what the root host executes and grants on the next
    // start or reload: the user nobody (not the host, not a plugin) must not be able to.
    if (skipped_unless_root("a root host and another local user")) return;
    TempDir dir;
    const std::string text = attempt_toml(AttemptConfig{});
    const std::string theirs = dir.dir("theirs");
    REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
    const std::string in_their_directory = theirs + "/airlock.toml";
    const std::string owned_by_them = dir.file("theirs.toml", text);
    REQUIRE(::chown(owned_by_them.c_str(), kNobody, kNobody) == 0);
    const std::string world_writable = dir.file("shared.toml", text, 0666);
    std::ofstream(in_their_directory) << text;  // root's file, 0644, in nobody's directory
    ::chmod(in_their_directory.c_str(), 0644);
    // nobody really can: move root's file aside and put their own there.
    REQUIRE(as_nobody([&] {
        return ::rename(in_their_directory.c_str(), (in_their_directory + ".root").c_str()) == 0 &&
               ::rename((in_their_directory + ".root").c_str(), in_their_directory.c_str()) == 0;
    }));
    REQUIRE(as_nobody([&] { return bool(std::ofstream(world_writable, std::ios::app)); }));

    const std::vector<std::pair<std::string, std::string>> refused = {
        {in_their_directory, theirs + " belongs to uid 65534, who could replace " + in_their_directory},
        {owned_by_them, owned_by_them + " belongs to uid 65534, who could change it"},
        {world_writable, world_writable + " is writable by other users (mode 0666), who could change it"},
    };
    for (const auto& [config, why] : refused) {
        const Run run = exec_attempt(config, {"noop"});
        INFO(config << "\n" << run.out << run.err);
        CHECK(run.status == 78);  // EX_CONFIG
        CHECK(run.result("noop") == "<missing>");  // the plugin never ran
        CHECK(run.err.find("config file " + config + ": " + why) != std::string::npos);
        const Run check = run_host({"check", config});
        CHECK(check.status != 0);
        CHECK(check.err.find(why) != std::string::npos);
        if (run.status != 78) continue;  // `run` of a config it loads would serve until stopped
        const Run served = run_host({"run", config});
        CHECK(served.status != 0);
        CHECK(served.err.find(why) != std::string::npos);
    }

    // The same config, root's and writable only by root: served.
    const std::string roots = dir.file("roots.toml", text);
    const Run served = exec_attempt(roots, {"noop"});
    INFO(served.out << served.err);
    CHECK(served.result("noop") == "SUCCEEDED");
}
