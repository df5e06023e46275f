// Config side of device grants: a file grant of a character or block device other than
// /dev/null, zero, full, random and urandom is an error unless it sets device = true, which
// `airlock-host check` (describe_policy) then reports as a warning. Real device nodes.
#include <catch2/catch.hpp>

#include "../../support/device_node.hpp"

#include "test_support.hpp"

#include <airlock/host/device_grant.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>

using airlock::host::describe_policy;
using airlock::host::load_config_text;
using airlock::host::test::error_of;

using airlock::test_support::some_device;

namespace {

std::string plugin_with(const std::string& grant) {
    return "[plugin.p]\nexec = \"/usr/bin/true\"\ngrants.dev = " + grant + "\n";
}

} // namespace

TEST_CASE("device grants: another device is refused at load unless device = true") {
    const std::string device = some_device();
    if (device.empty()) {
        WARN("NOT TESTED: none of /dev/fuse, /dev/loop-control, /dev/kmsg, /dev/mem is a character device here");
        return;
    }
    const std::string grant = "{ file = \"" + device + "\", access = \"read\" }";
    CHECK(error_of(plugin_with(grant)) ==
               ("demo.toml:3:23: grant \"dev\": " + device +
                              " is a character device: its ioctls reach the driver and the filter cannot limit "
                              "them; set device = true (exec: --device) to grant it anyway"));
    const auto config =
        load_config_text(plugin_with("{ file = \"" + device + "\", access = \"read\", device = true }"), "demo.toml");
    const auto& opted = config.plugins.at("p");
    CHECK(opted.grants.at(0).device);
    CHECK_THAT(describe_policy(opted),
               Catch::Contains("    warning: grant dev hands the plugin a device: every ioctl of it is allowed, and ioctl "
                                         "requests are no longer limited on any descriptor\n"));
}

TEST_CASE("device grants: /dev/null, zero, full, random and urandom need no device = true") {
    for (const char* path : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}) {
        INFO(path);
        const auto config = load_config_text(plugin_with(std::string("{ file = \"") + path + "\" }"), "demo.toml");
        const auto& plugin = config.plugins.at("p");
        CHECK_FALSE(plugin.grants.at(0).device);
        CHECK_THAT(describe_policy(plugin), !Catch::Contains("hands the plugin a device"));
    }
    // By device number, not by name.
    CHECK(airlock::host::is_plain_memory_device(::makedev(1, 3)));
    CHECK(airlock::host::is_plain_memory_device(::makedev(1, 9)));
    CHECK_FALSE(airlock::host::is_plain_memory_device(::makedev(1, 1)));   // /dev/mem
    CHECK_FALSE(airlock::host::is_plain_memory_device(::makedev(1, 11)));  // /dev/kmsg
    CHECK_FALSE(airlock::host::is_plain_memory_device(::makedev(10, 229)));  // /dev/fuse
}

TEST_CASE("device grants: device = true applies to file grants only") {
    CHECK_THAT(error_of("[plugin.p]\nexec = \"/usr/bin/true\"\ngrants.d = { dir = \"/tmp\", device = true }\n"),
               Catch::Contains("key \"device\" does not apply to a dir grant (grant \"d\"); a dir grant takes: "
                               "dir, access, inside_writable, by_path"));
    CHECK_THAT(error_of("[plugin.p]\nexec = \"/usr/bin/true\"\ngrants.m = { memfd = 4096, device = true }\n"),
               Catch::Contains("key \"device\" does not apply to a memfd grant"));
    CHECK_THAT(error_of(plugin_with("{ file = \"/dev/null\", device = \"yes\" }")), Catch::Contains("device"));
}
