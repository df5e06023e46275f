// Red team: a file lease. A plugin that owns a file (one it created in its read-write grant,
// or, under a host that is not root, any file of the host's user it can open) could take a
// lease on it: every other process's open() of the file, root's included (the operator's
// `cat`, a backup, a log shipper, a sibling plugin), then waits until the plugin gives the
// lease up or fs.lease-break-time passes (45 s, measured), again on every open. fcntl
// F_SETLEASE is refused by the filter (docs/sandbox.md, "Leases").
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <thread>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// Waits (up to 10 s) until the plugin has printed its result or `note` line for the lease.
std::string wait_for_lease_line(const StartedHost& host) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& line : split_lines(read_all(host.out)))
            if (line.find("lease") != std::string::npos) return line;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "<none>";
}

} // namespace

TEST_CASE("a plugin cannot lease a file to make others' opens of it wait", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string data = dir.dir("data");
        ::chmod(data.c_str(), 0777);  // the plugin (nobody) creates its file there
        const std::string config =
            dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                         "grants = { data = { dir = " + quoted(data) + ", access = \"read-write\" } }\n"
                                         "[plugin.redteam.syscalls]\non_violation = \"errno\"\n");
        INFO(namespaces);
        // The plugin creates `leased` in its grant (fd 3) and takes a write lease on it.
        StartedHost host = start_host({"exec", "--prefix", config, "redteam", "--", "lease", "3"});
        const std::string line = wait_for_lease_line(host);
        INFO(line);
        CHECK(line == "[redteam] redteam lease: blocked errno=EPERM");
        // Non-blocking, so this test never waits: with a lease held the open fails EWOULDBLOCK
        // (a blocking open, as `cat` makes, waits 45 s).
        const int fd = ::open((data + "/leased").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        CHECK(fd >= 0);
        if (fd >= 0) ::close(fd);
        ::kill(host.pid, SIGKILL);  // a plugin still holding its lease would never end
        Run run = finish_host(host);
        INFO(run.out << run.err);
        CHECK(has_line(run.err, ".*fcntl F_SETLEASE: a lease makes other processes' open\\(\\) of the file wait.*"));
    }
}
