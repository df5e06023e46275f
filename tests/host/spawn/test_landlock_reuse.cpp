// Spawner: the Landlock ruleset one Spawner reuses between launches (docs/spawning.md, "The
// spawn sequence", step 3). Landlock rules bind to inodes, not names, so a ruleset is only
// right while every path it was built from still names the same file. Every case launches
// real confined probes from one Spawner and lets them tell, from inside their Landlock
// domain, what they may open and which executable they are.
//
// The cases where a path changes also keep a probe launched *before* the change running
// (`BackgroundProbe`): its domain is the earlier ruleset, so its EACCES shows that reusing
// that ruleset would have been wrong, and the next launch's success shows it was not reused.
// From outside, the host process's own descriptors show whether a ruleset was rebuilt: the
// Spawner keeps the one it uses open (anon_inode:[landlock-ruleset]).
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

namespace {

const std::string kRulesetProbe = AIRLOCK_RULESET_PROBE;               // dynamically linked
const std::string kRulesetProbeStatic = AIRLOCK_RULESET_PROBE_STATIC;  // static PIE

/// The Landlock rulesets this (host) process holds open.
std::set<int> ruleset_fds() {
    std::set<int> fds;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        char target[256];
        const ssize_t size = ::readlink(entry.path().c_str(), target, sizeof target);
        if (size > 0 && std::string(target, static_cast<std::size_t>(size)) == "anon_inode:[landlock-ruleset]")
            fds.insert(std::stoi(entry.path().filename().string()));
    }
    return fds;
}

bool landlock_applied(const Spawner& spawner) {
    return std::any_of(spawner.layers().begin(), spawner.layers().end(), [](const LayerStatus& layer) {
        return layer.layer == IsolationLayer::Landlock && layer.applied;
    });
}

/// A spawner for the ruleset probe; fails the test unless Landlock is applied.
Spawner reuse_spawner(const PluginConfig& config) {
    Spawner spawner(config);
    REQUIRE(landlock_applied(spawner));
    return spawner;
}

ino_t inode_of(const std::string& path) {
    struct stat status {};
    REQUIRE(::stat(path.c_str(), &status) == 0);
    return status.st_ino;
}

/// Puts a copy of `program` at `path` as a new file (a new inode), the way an update does:
/// written next to it, then renamed over it.
void install_by_rename(const std::string& program, const std::string& path) {
    const std::string temporary = path + ".new";
    std::filesystem::copy_file(program, temporary, std::filesystem::copy_options::overwrite_existing);
    ::chmod(temporary.c_str(), 0755);
    REQUIRE(::rename(temporary.c_str(), path.c_str()) == 0);
}

/// A probe launched now that runs on while the test changes the file system (it waits with
/// `await`): its Landlock domain is the ruleset the spawner used for this launch.
class BackgroundProbe {
public:
    BackgroundProbe(const Spawner& spawner, std::vector<std::string> args)
        : plugin_(spawner.launch(LaunchOptions{std::move(args)})) {}

    /// Waits (at most 20 s) for the probe to exit with status 0; its stdout lines.
    std::vector<std::string> finish() {
        pollfd exited{plugin_.process.pidfd(), POLLIN, 0};
        REQUIRE(::poll(&exited, 1, 20000) == 1);
        CHECK(plugin_.process.wait().shell_status() == 0);
        return split_lines(read_available(plugin_.stdout_pipe.get()));
    }

private:
    SpawnedPlugin plugin_;
};

using Lines = std::vector<std::string>;

} // namespace

TEST_CASE("landlock reuse: a second launch with nothing changed reuses the ruleset and confines alike",
          "[landlock-reuse]") {
    TempDir dir;
    // Anyone may create files in both: only Landlock says no.
    const std::string readable = dir.dir("readable", 0777);
    const std::string writable = dir.dir("writable", 0777);
    const std::string input = dir.file("readable/input.txt", "granted");
    const std::string secret = dir.file("secret.txt", "not granted");  // 0644: only Landlock says no
    ProbeConfig probe;
    probe.namespaces = "off";  // these test Landlock, reached by path
    probe.exec = kRulesetProbe;
    probe.grants = "in = { dir = " + quoted(readable) + ", access = \"read\" }\n"
                   "out = { dir = " + quoted(writable) + ", access = \"read-write\" }\n";
    const Spawner spawner = reuse_spawner(probe_config(probe));
    const std::set<int> before = ruleset_fds();

    auto launch = [&](const std::string& name) {
        ProbeRun run = run_probe(spawner, {"variant", "open", input, "open", secret, "create",
                                           writable + "/" + name, "create", readable + "/" + name});
        INFO(run.all_err());
        CHECK(run.exit.shell_status() == 0);
        return run.out;
    };
    auto expected = [&](const std::string& name) {
        return Lines{"variant dynamic", "open " + input + " ok", "open " + secret + " EACCES",
                     "create " + writable + "/" + name + " ok", "create " + readable + "/" + name + " EACCES"};
    };

    CHECK(launch("first") == expected("first"));
    const std::set<int> after_first = ruleset_fds();
    REQUIRE(after_first.size() == before.size() + 1);  // the spawner keeps its ruleset

    CHECK(launch("second") == expected("second"));
    CHECK(ruleset_fds() == after_first);  // the same ruleset served the second launch
}

TEST_CASE("landlock reuse: a grant directory re-created at the same path is the one the next launch may use",
          "[landlock-reuse]") {
    TempDir dir;
    const std::string data = dir.dir("data");
    const std::string old_file = dir.file("data/old.txt", "old");
    const std::string new_file = data + "/new.txt";
    ProbeConfig probe;
    probe.namespaces = "off";  // these test Landlock, reached by path
    probe.exec = kRulesetProbe;
    probe.grants = "data = { dir = " + quoted(data) + ", access = \"read\" }\n";
    const Spawner spawner = reuse_spawner(probe_config(probe));

    ProbeRun first = run_probe(spawner, {"open", old_file, "open", new_file});
    CHECK(first.out == Lines{"open " + old_file + " ok", "open " + new_file + " ENOENT"});
    const std::set<int> first_ruleset = ruleset_fds();
    const ino_t old_inode = inode_of(data);

    // Launched with the first launch's ruleset (nothing changed yet), it waits for new.txt.
    BackgroundProbe earlier(spawner, {"await", new_file, "open", new_file});
    CHECK(ruleset_fds() == first_ruleset);

    std::filesystem::remove_all(data);
    dir.dir("data");
    dir.file("data/new.txt", "new");
    REQUIRE(inode_of(data) != old_inode);  // the old directory lives on in the old ruleset

    ProbeRun second = run_probe(spawner, {"open", new_file});
    INFO(second.all_err());
    CHECK(second.exit.shell_status() == 0);
    CHECK(second.out == Lines{"open " + new_file + " ok"});
    CHECK(ruleset_fds() != first_ruleset);  // rebuilt

    // Control: the first ruleset names the old directory, so under it new.txt is denied.
    CHECK(earlier.finish() == Lines{"await " + new_file + " ok", "open " + new_file + " EACCES"});
}

TEST_CASE("landlock reuse: an executable replaced by rename runs at the next launch, allowed to execute",
          "[landlock-reuse]") {
    TempDir dir;
    const std::string exe = dir.path() + "/plugin";
    const std::string replaced = dir.path() + "/replaced";  // tells the earlier probe to look
    install_by_rename(kRulesetProbeStatic, exe);
    ProbeConfig probe;
    probe.namespaces = "off";  // these test Landlock, reached by path
    probe.exec = exe;
    const Spawner spawner = reuse_spawner(probe_config(probe));

    ProbeRun first = run_probe(spawner, {"variant", "open", exe});
    CHECK(first.out == Lines{"variant static", "open " + exe + " ok"});  // execute rights include read
    const std::set<int> first_ruleset = ruleset_fds();

    BackgroundProbe earlier(spawner, {"await", replaced, "open", exe});
    CHECK(ruleset_fds() == first_ruleset);

    // A dynamically linked program now: the new ruleset must also let the kernel execute
    // its ELF interpreter, which the first (static) executable did not have.
    install_by_rename(kRulesetProbe, exe);
    dir.file("replaced", "");

    ProbeRun second = run_probe(spawner, {"variant", "open", exe});
    INFO(second.all_err());
    CHECK(second.exit.shell_status() == 0);
    CHECK(second.out == Lines{"variant dynamic", "open " + exe + " ok"});
    CHECK(ruleset_fds() != first_ruleset);

    // Control: the first ruleset names the replaced file, not the one now at that path.
    CHECK(earlier.finish() == Lines{"await " + replaced + " ok", "open " + exe + " EACCES"});
}

TEST_CASE("landlock reuse: an executable rewritten in place gets a ruleset for its new ELF interpreter",
          "[landlock-reuse]") {
    TempDir dir;
    const std::string exe = dir.path() + "/plugin";
    install_by_rename(kRulesetProbeStatic, exe);
    ProbeConfig probe;
    probe.namespaces = "off";  // these test Landlock, reached by path
    probe.exec = exe;
    const Spawner spawner = reuse_spawner(probe_config(probe));

    ProbeRun first = run_probe(spawner, {"variant"});
    CHECK(first.out == Lines{"variant static"});
    const std::set<int> first_ruleset = ruleset_fds();
    const ino_t inode = inode_of(exe);

    // Same inode, new content (and st_ctime): now it names /lib64/ld-linux-x86-64.so.2 as
    // PT_INTERP, which the system paths only let it read, not execute. Only a ruleset built
    // for the new content has an execute rule for it.
    std::ofstream(exe, std::ios::binary | std::ios::trunc) << read_file(kRulesetProbe);
    REQUIRE(inode_of(exe) == inode);

    ProbeRun second = run_probe(spawner, {"variant"});
    INFO(second.all_err());
    CHECK(second.exit.shell_status() == 0);
    CHECK(second.out == Lines{"variant dynamic"});
    CHECK(ruleset_fds() != first_ruleset);
}

TEST_CASE("landlock reuse: a system path missing at the first launch is covered once it appears",
          "[landlock-reuse]") {
    TempDir dir;
    const std::string later = dir.dir("later");  // the config loader wants system paths to exist
    const std::string file = later + "/data.txt";
    ProbeConfig probe;
    probe.namespaces = "off";  // these test Landlock, reached by path
    probe.exec = kRulesetProbe;
    probe.system_paths.push_back(later);
    const PluginConfig config = probe_config(probe);
    REQUIRE(::rmdir(later.c_str()) == 0);  // ... but it is gone by the first launch: skipped
    const Spawner spawner = reuse_spawner(config);

    ProbeRun first = run_probe(spawner, {"open", file});
    CHECK(first.out == Lines{"open " + file + " ENOENT"});
    const std::set<int> first_ruleset = ruleset_fds();

    BackgroundProbe earlier(spawner, {"await", file, "open", file});
    CHECK(ruleset_fds() == first_ruleset);

    dir.dir("later");
    dir.file("later/data.txt", "appeared");

    ProbeRun second = run_probe(spawner, {"open", file});
    INFO(second.all_err());
    CHECK(second.exit.shell_status() == 0);
    CHECK(second.out == Lines{"open " + file + " ok"});
    CHECK(ruleset_fds() != first_ruleset);

    // Control: the first ruleset has no rule for the path, so under it the file is denied.
    CHECK(earlier.finish() == Lines{"await " + file + " ok", "open " + file + " EACCES"});
}

