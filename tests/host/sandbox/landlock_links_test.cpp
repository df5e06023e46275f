// Issue 9.1: the Landlock ruleset never binds a rule through a link a plugin could plant,
// and the check whether a built ruleset may be reused does not follow links either.
#include "sandbox_test_support.hpp"

#include <airlock/host/landlock_ruleset.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

const char* const probe = AIRLOCK_SANDBOX_PROBE;

PluginConfig plugin_with_dir(const std::string& path) {
    PluginConfig plugin;
    plugin.name = "probe";
    plugin.executable = probe;
    plugin.system_paths = {"/usr", "/lib", "/lib64", "/etc/ld.so.cache"};
    GrantConfig grant;
    grant.name = "data";
    grant.kind = GrantKind::Directory;
    grant.path = path;
    grant.access = GrantAccess::ReadWrite;
    plugin.grants.push_back(grant);
    return plugin;
}

airlock::Status build_status(const PluginConfig& plugin) {
    auto policy = landlock_policy_for(plugin);
    if (!policy) return policy.status();
    auto ruleset = build_landlock_ruleset(*policy);
    return ruleset.status();
}

} // namespace

TEST_CASE("landlock links: a dir grant that is a symlink is refused, not followed", "[landlock][links]") {
    TempDir dir;
    const std::string real = (dir.path() / "real").string();
    const std::string link = (dir.path() / "grant").string();
    std::filesystem::create_directory(real);
    REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
    CHECK(build_status(plugin_with_dir(link)).message() ==
          "grant \"data\": " + link + " is a symbolic link; grants never follow links");
    // A link in a parent component is refused the same way.
    const std::string parent_link = (dir.path() / "parent").string();
    REQUIRE(::symlink(dir.path().c_str(), parent_link.c_str()) == 0);
    CHECK(build_status(plugin_with_dir(parent_link + "/real")).message() ==
          "grant \"data\": " + parent_link + "/real lies under a symbolic link (" + parent_link +
              "); grants never follow links");
    CHECK(build_status(plugin_with_dir(real)).ok());
}

TEST_CASE("landlock links: a reused ruleset is stale once its dir grant became a link, even to the same dir",
          "[landlock][links]") {
    TempDir dir;
    const std::string grant = (dir.path() / "grant").string();
    const std::string moved = (dir.path() / "moved").string();
    std::filesystem::create_directory(grant);
    auto policy = landlock_policy_for(plugin_with_dir(grant));
    REQUIRE(policy.ok());
    auto ruleset = build_landlock_ruleset(*policy);
    REQUIRE(ruleset.ok());
    CHECK(landlock_ruleset_is_current(*ruleset));
    // The same inode, now reached through a link: stat() would say "unchanged".
    REQUIRE(::rename(grant.c_str(), moved.c_str()) == 0);
    REQUIRE(::symlink(moved.c_str(), grant.c_str()) == 0);
    CHECK_FALSE(landlock_ruleset_is_current(*ruleset));
    // And building anew refuses it.
    CHECK(build_status(plugin_with_dir(grant)).message() ==
          "grant \"data\": " + grant + " is a symbolic link; grants never follow links");
}

TEST_CASE("landlock links: the interpreter and system paths are resolved from trusted links, "
          "but never inside a writable directory", "[landlock][links]") {
    char resolved[PATH_MAX];
    REQUIRE(::realpath("/lib64/ld-linux-x86-64.so.2", resolved) != nullptr);
    // A fresh writable dir (not /tmp itself: a build tree under /tmp would put the probe
    // inside the writable grant, which is refused by design).
    TempDir granted;
    auto policy = landlock_policy_for(plugin_with_dir(granted.path().string()));
    REQUIRE(policy.ok());
    REQUIRE(policy->executable_files.size() == 2);
    CHECK(policy->executable_files[1] == resolved);  // /lib64 is a link into /usr
    auto ruleset = build_landlock_ruleset(*policy);
    REQUIRE(ruleset.ok());
    CHECK(landlock_ruleset_is_current(*ruleset));

    TempDir dir;
    const std::string writable = (dir.path() / "work").string();
    std::filesystem::create_directory(writable);
    const std::string planted = writable + "/lib";
    REQUIRE(::symlink("/etc", planted.c_str()) == 0);
    LandlockPolicy with_planted;
    with_planted.read_only_paths = {planted};
    with_planted.writable_directories = {writable};
    auto refused = build_landlock_ruleset(with_planted);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() ==
          "landlock: system path: " + planted + " lies inside the plugin-writable directory " + writable +
              "; a path a plugin can change is never resolved through links");
}

TEST_CASE("landlock links: a reused ruleset is stale once a system path, or what its link leads to, is replaced",
          "[landlock][links]") {
    TempDir dir;
    const std::string root = std::filesystem::canonical(dir.path()).string();
    const std::string real = root + "/real";
    const std::string link = root + "/system";
    std::filesystem::create_directory(real);
    REQUIRE(::symlink("real", link.c_str()) == 0);
    for (const std::string& path : {real, link}) {
        INFO(path);
        LandlockPolicy policy;
        policy.read_only_paths = {path};
        auto ruleset = build_landlock_ruleset(policy);
        REQUIRE(ruleset.ok());
        CHECK(landlock_ruleset_is_current(*ruleset));
        // Another directory at the same path: the same name, another inode.
        REQUIRE(::rename(real.c_str(), (root + "/old").c_str()) == 0);
        std::filesystem::create_directory(real);
        CHECK_FALSE(landlock_ruleset_is_current(*ruleset));
        std::filesystem::remove(real);
        REQUIRE(::rename((root + "/old").c_str(), real.c_str()) == 0);
        CHECK(landlock_ruleset_is_current(*ruleset));
        // A regular file in its place.
        REQUIRE(::rename(real.c_str(), (root + "/old").c_str()) == 0);
        dir.write_file("real", "text");
        CHECK_FALSE(landlock_ruleset_is_current(*ruleset));
        std::filesystem::remove(real);
        REQUIRE(::rename((root + "/old").c_str(), real.c_str()) == 0);
    }
}
