// Issue 9.1/9.5, config side: a path a plugin can write beneath is an error unless the grant
// opts in with inside_writable = true; datagram connect grants need datagram = true.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

using airlock::host::load_config_text;
using airlock::host::test::error_of;
using airlock::host::test::TempDir;

namespace {

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

struct Dirs {
    TempDir temp;
    std::string work = temp.mkdir("work");
    std::string state = temp.write("work/state", "x\n");
    std::string inner = temp.mkdir("work/inner");
};

// Plugin "writer" has `work` read-write; plugin "reader" gets GRANT (lines 5-6).
std::string two_plugins(const Dirs& dirs, const std::string& grant) {
    return "[plugin.writer]\nexec = \"/usr/bin/true\"\n"
           "grants.work = { dir = " + in_quotes(dirs.work) + ", access = \"read-write\" }\n"
           "[plugin.reader]\nexec = \"/usr/bin/true\"\n"
           "grants.victim = " + grant + "\n";
}

} // namespace

TEST_CASE("inside_writable: a grant inside another plugin's writable dir is an error naming both") {
    Dirs dirs;
    CHECK(error_of(two_plugins(dirs, "{ file = " + in_quotes(dirs.state) + " }")) ==
          "demo.toml:6:17: grant \"victim\" of plugin \"reader\": " + dirs.state +
              " lies inside the writable dir grant \"work\" of plugin \"writer\" (" + dirs.work +
              "), where a plugin could replace it before the next start; set inside_writable = true to "
              "accept that (links are still never followed)");
    CHECK_THAT(error_of(two_plugins(dirs, "{ dir = " + in_quotes(dirs.inner) + " }")),
               Catch::Contains("grant \"victim\" of plugin \"reader\": " + dirs.inner + " lies inside"));
    CHECK_THAT(error_of(two_plugins(dirs, "{ dir = " + in_quotes(dirs.work) + " }")),
               Catch::Contains("grant \"victim\" of plugin \"reader\": " + dirs.work + " lies inside"));
    CHECK_THAT(error_of(two_plugins(dirs, "{ connect = " + in_quotes(dirs.work + "/api.sock") + " }")),
               Catch::Contains(dirs.work + "/api.sock lies inside"));
}

TEST_CASE("inside_writable: the plugin's own writable dir counts too, and the opt-in accepts it") {
    Dirs dirs;
    const std::string own = "[plugin.p]\nexec = \"/usr/bin/true\"\n"
                            "grants.work = { dir = " + in_quotes(dirs.work) + ", access = \"read-write\" }\n"
                            "grants.state = { file = " + in_quotes(dirs.state) + ", access = \"read\"";
    CHECK_THAT(error_of(own + " }\n"), Catch::Contains("grant \"state\" of plugin \"p\": " + dirs.state +
                                                       " lies inside the writable dir grant \"work\" of plugin \"p\""));
    const auto config = load_config_text(own + ", inside_writable = true }\n", "demo.toml");
    const auto& plugin = config.plugins.at("p");
    CHECK(plugin.grants.at(1).inside_writable);
    CHECK_FALSE(plugin.grants.at(0).inside_writable);
    CHECK(plugin.config_writable_directories == std::vector<std::string>{dirs.work});
    // A read-only dir of another plugin is no writable dir.
    CHECK(error_of("[plugin.a]\nexec = \"/usr/bin/true\"\ngrants.w = { dir = " + in_quotes(dirs.work) +
                   " }\n[plugin.b]\nexec = \"/usr/bin/true\"\ngrants.s = { file = " + in_quotes(dirs.state) +
                   " }\n") == "no error");
}

TEST_CASE("inside_writable: an executable or a system path inside a writable dir is an error, no opt-in") {
    Dirs dirs;
    const std::string exe = dirs.temp.write("work/tool", "#!/bin/sh\n", 0755);
    CHECK_THAT(error_of("[plugin.p]\nexec = " + in_quotes(exe) + "\ngrants.work = { dir = " + in_quotes(dirs.work) +
                        ", access = \"read-write\" }\n"),
               Catch::Contains("executable " + exe + " of plugin \"p\" lies inside the writable dir grant \"work\" "
                               "of plugin \"p\" (" + dirs.work + "); a plugin could replace it"));
    dirs.temp.mkdir("work/lib");
    CHECK_THAT(error_of("[sandbox]\nsystem_paths = [\"/usr\", " + in_quotes(dirs.work + "/lib") +
                        "]\n[plugin.p]\nexec = \"/usr/bin/true\"\ngrants.work = { dir = " + in_quotes(dirs.work) +
                        ", access = \"read-write\" }\n"),
               Catch::Contains("system path " + dirs.work + "/lib of plugin \"p\" lies inside"));
}

TEST_CASE("datagram: a connect grant key, false unless set, that other kinds refuse") {
    Dirs dirs;
    const std::string base = "[plugin.p]\nexec = \"/usr/bin/true\"\n";
    auto config = load_config_text(base + "grants.a = { connect = \"/run/a.sock\" }\n"
                                          "grants.b = { connect = \"/run/b.sock\", datagram = true }\n",
                                   "demo.toml");
    CHECK_FALSE(config.plugins.at("p").grants.at(0).datagram);
    CHECK(config.plugins.at("p").grants.at(1).datagram);
    CHECK(error_of(base + "grants.f = { file = " + in_quotes(dirs.state) + ", datagram = true }\n") ==
          "demo.toml:3:" + std::to_string(dirs.state.size() + 25) +
              ": key \"datagram\" does not apply to a file grant (grant \"f\"); a file grant takes: file, "
              "access, create, inside_writable, device, by_path");
    CHECK_THAT(error_of(base + "grants.a = { connect = \"/run/a.sock\", datagram = \"yes\" }\n"),
               Catch::Contains("datagram"));
}

TEST_CASE("the config file inside a writable grant loads when its plugin runs as another user and only the host can change the file") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: plugins run as another user only under a root host");
        return;
    }
    TempDir temp;  // root's, 0700, in sticky /tmp: only root can change what lies in it
    const std::string config = temp.write("airlock.toml", "[sandbox]\nuser = \"nobody\"\n"
                                                          "[plugin.p]\nexec = \"/usr/bin/true\"\n"
                                                          "grants.work = { dir = " + in_quotes(temp.path().string()) +
                                                          ", access = \"read-write\" }\n");
    REQUIRE(::chmod(config.c_str(), 0644) == 0);
    // nobody cannot write root's 0644 file nor rename it out of root's 0700 directory.
    CHECK_NOTHROW(airlock::host::load_config(config));
    // Writable by others, the file is the plugin's to rewrite through its grant (and any other
    // user's): refused before its grants are looked at.
    REQUIRE(::chmod(config.c_str(), 0666) == 0);
    CHECK_THROWS_WITH(airlock::host::load_config(config),
                      Catch::Contains("config file " + config + ": " + config +
                                      " is writable by other users (mode 0666), who could change it"));
}
