// Red team: an embedder's inherited `>> file`. A program that uses the library (Spawner,
// run_in_foreground) rather than `airlock-host exec` and gives a plugin its own O_APPEND file
// as stdout must get the same append-only hardening exec gets: the decision is taken where
// the inherited stdio is set up (Spawner::launch), not by the exec command.
#include "e2e_support.hpp"

#include <airlock/host/spawn_violations.hpp>

#include <catch2/catch.hpp>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

std::string library_config(const TempDir& dir, const std::string& namespaces, const std::string& on_violation) {
    return dir.file("library.toml",
                    "[sandbox]\n"
                    "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                    "user = \"nobody\"\n"
                    "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n" +
                        namespaces + "\n"
                        "[plugin.redteam]\n"
                        "exec = " + quoted(kRedteam) + "\n"
                        "protocol = \"none\"\n"
                        "[plugin.redteam.syscalls]\n"
                        "on_violation = " + quoted(on_violation) + "\n");
}

// Answers the launch's violation notifications (as a host does) until no process uses its
// filter any more, then reaps it.
airlock::host::PluginExit serve_until_exit(const airlock::host::Spawner& spawner, airlock::host::SpawnedPlugin& plugin) {
    if (auto monitor = airlock::host::make_violation_monitor(spawner, plugin)) {
        while (true) {
            auto handled = monitor->handle_one(-1);
            if (!handled && handled.status().code() == airlock::StatusCode::PeerClosed) break;
            if (!handled) FAIL("violation monitor: " << handled.status().message());
        }
    }
    return plugin.process.wait();
}

} // namespace

TEST_CASE("an embedder's inherited O_APPEND stdout stays append-only (Spawner)", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        auto config = airlock::host::load_config(library_config(dir, namespaces, "errno"));
        airlock::host::Spawner spawner(config.plugins.at("redteam"));
        const std::string journal = dir.file("journal.log", "HEAD\n", 0644);
        const int appended = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        REQUIRE(appended >= 0);
        airlock::host::LaunchOptions options;
        options.extra_args = {"rewrite-start", "1"};
        options.stdio[1] = appended;  // the embedder's `>> journal.log`
        auto plugin = spawner.launch(options);
        const airlock::host::PluginExit exit = serve_until_exit(spawner, plugin);
        const std::string text = dir.read("journal.log");
        INFO(namespaces << "\n" << text);
        CHECK(plugin.shares_append_only_output);
        CHECK(exit.shell_status() == 0);
        CHECK(text.rfind("HEAD\n", 0) == 0);
        CHECK(has_line(text, "redteam rewrite-start: blocked errno=EPERM"));
        CHECK((::fcntl(appended, F_GETFL) & O_APPEND) != 0);
        ::close(appended);

        // The same spawner, a launch with its own pipes: an ordinary filter, the plugin may
        // clear O_APPEND on a description that is its own.
        airlock::host::LaunchOptions piped;
        piped.extra_args = {"clear-append", "1"};
        auto own = spawner.launch(piped);
        CHECK_FALSE(own.shares_append_only_output);
        CHECK(serve_until_exit(spawner, own).shell_status() == 0);
    }
}

TEST_CASE("an embedder's inherited O_APPEND stdout stays append-only (run_in_foreground, log mode)",
          "[e2e][redteam]") {
    TempDir dir;
    // Log mode: the violation monitor decides, and must use the hardened filter's policy.
    auto config = airlock::host::load_config(library_config(dir, "namespaces = \"auto\"", "log"));
    airlock::host::Spawner spawner(config.plugins.at("redteam"));
    const std::string journal = dir.file("journal.log", "HEAD\n", 0644);
    const int appended = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    REQUIRE(appended >= 0);
    const int err = ::memfd_create("err", MFD_CLOEXEC);
    airlock::host::ForegroundOptions options;
    options.extra_args = {"rewrite-start", "1"};
    options.inherit_stdio = true;
    options.input_fd = -1;
    options.output_fd = appended;
    options.error_fd = err;
    const airlock::host::PluginExit exit = airlock::host::run_in_foreground(spawner, options);
    const std::string text = dir.read("journal.log");
    INFO(text << read_all(err));
    CHECK(exit.shell_status() == 0);
    CHECK(text.rfind("HEAD\n", 0) == 0);
    CHECK_FALSE(has_line(text, "redteam rewrite-start: SUCCEEDED"));
    CHECK((::fcntl(appended, F_GETFL) & O_APPEND) != 0);
    ::close(appended);
    ::close(err);
}
