// Red team: a file grant naming a device hands the plugin the device's descriptor and with it
// every ioctl of its driver: Landlock's device-ioctl right covers only files the plugin opens
// itself, and seccomp allows ioctl (a request number does not say which device it is for).
// Besides terminals (redteam_terminal_grant_test.cpp), a device other than /dev/null, zero,
// full, random and urandom is now refused unless the grant sets device = true, which
// `airlock-host check` reports as a warning.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include "../../support/device_node.hpp"

#include <sys/stat.h>

using namespace airlock::e2e;

using airlock::test_support::some_device;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// A config whose plugin "redteam" gets GRANT as grant "dev" (the first inherited descriptor, 3).
std::string device_config(const TempDir& dir, const std::string& namespaces, const std::string& grant) {
    return dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                        "[plugin.redteam.grants]\n"
                                        "dev = " + grant + "\n");
}

} // namespace

TEST_CASE("a file grant of a device is refused unless device = true", "[e2e][redteam]") {
    const std::string device = some_device();
    if (device.empty()) {
        WARN("NOT TESTED: none of /dev/fuse, /dev/loop-control, /dev/kmsg, /dev/mem is a character device here");
        return;
    }
    for (const std::string namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string refused = device_config(dir, namespaces, "{ file = " + quoted(device) + ", access = \"read\" }");
        Run run = run_host({"exec", refused, "redteam", "--", "granted-device", "3"});
        INFO(namespaces << " " << device << "\n" << run.out << run.err);
        CHECK(run.status != 0);
        CHECK_FALSE(has_line(run.out, "redteam granted-device: .*"));  // the plugin never started
        CHECK(has_line(run.err, ".*grant \"dev\": " + device +
                                    " is a character device: its ioctls reach the driver and the filter cannot "
                                    "limit them; set device = true \\(exec: --device\\) to grant it anyway.*"));

        TempDir opted_dir;
        const std::string opted =
            device_config(opted_dir, namespaces, "{ file = " + quoted(device) + ", access = \"read\", device = true }");
        Run check = run_host({"check", opted});
        INFO(check.out << check.err);
        CHECK(check.status == 0);
        CHECK(has_line(check.out, "    warning: grant dev hands the plugin a device: every ioctl of it is allowed, and ioctl requests "
                                      "are no longer limited on any descriptor"));
        Run granted = run_host({"exec", opted, "redteam", "--", "granted-device", "3"});
        INFO(granted.out << granted.err);
        CHECK(granted.status == 0);
        CHECK(has_line(granted.out, "redteam granted-device: SUCCEEDED"));
    }
}

TEST_CASE("/dev/null and /dev/urandom grants need no device = true", "[e2e][redteam]") {
    for (const std::string namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        for (const std::string path : {"/dev/null", "/dev/urandom"}) {
            TempDir dir;
            const std::string config = device_config(dir, namespaces, "{ file = " + quoted(path) + " }");
            Run check = run_host({"check", config});
            Run run = run_host({"exec", config, "redteam", "--", "read-byte", "3"});
            INFO(namespaces << " " << path << "\n" << check.out << check.err << run.out << run.err);
            CHECK(check.status == 0);
            CHECK_FALSE(has_line(check.out, ".*hands the plugin a device.*"));
            CHECK(run.status == 0);
            CHECK(has_line(run.out, "redteam read-byte: SUCCEEDED"));
        }
    }
}
