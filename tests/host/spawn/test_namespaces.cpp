// Spawner: the namespaces layer's private root, built once per Spawner in a kept mount
// namespace and joined by every launch (docs/sandbox.md, "Namespaces"). Real confined probes
// report, from inside their private root, what exists there; the host's own descriptors
// (nsfs links "mnt:[...]") show whether the root was reused or rebuilt.
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

namespace {

using Lines = std::vector<std::string>;

const std::string kRulesetProbe = AIRLOCK_RULESET_PROBE;               // dynamically linked
const std::string kRulesetProbeStatic = AIRLOCK_RULESET_PROBE_STATIC;  // static PIE

/// The mount namespaces this (host) process holds descriptors of: the kept private roots.
std::set<std::string> held_mount_namespaces() {
    std::set<std::string> held;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        char target[256];
        const ssize_t size = ::readlink(entry.path().c_str(), target, sizeof target);
        const std::string text(target, size > 0 ? static_cast<std::size_t>(size) : 0);
        if (text.rfind("mnt:[", 0) == 0) held.insert(text);
    }
    return held;
}

bool namespaces_applied(const Spawner& spawner) {
    return std::any_of(spawner.layers().begin(), spawner.layers().end(), [](const LayerStatus& layer) {
        return layer.layer == IsolationLayer::Namespaces && layer.applied;
    });
}

void install_by_rename(const std::string& program, const std::string& path) {
    const std::string temporary = path + ".new";
    std::filesystem::copy_file(program, temporary, std::filesystem::copy_options::overwrite_existing);
    ::chmod(temporary.c_str(), 0755);
    REQUIRE(::rename(temporary.c_str(), path.c_str()) == 0);
}

} // namespace

TEST_CASE("namespaces: launches reuse one private root, rebuilt once a system path appears", "[namespaces]") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: the namespaces layer needs a root host here");
        return;
    }
    TempDir dir;
    const std::string later = dir.dir("later");  // the config loader wants system paths to exist
    const std::string file = later + "/data.txt";
    ProbeConfig probe;
    probe.exec = kRulesetProbe;
    probe.system_paths.push_back(later);
    const PluginConfig config = probe_config(probe);
    REQUIRE(::rmdir(later.c_str()) == 0);  // ... but it is gone by the first launch
    const std::set<std::string> before = held_mount_namespaces();
    const Spawner spawner(config);
    REQUIRE(namespaces_applied(spawner));

    ProbeRun first = run_probe(spawner, {"variant", "open", file});
    INFO(first.all_err());
    CHECK(first.out == Lines{"variant dynamic", "open " + file + " ENOENT"});
    const std::set<std::string> after_first = held_mount_namespaces();
    CHECK(after_first.size() == before.size() + 1);  // the spawner keeps its root

    ProbeRun again = run_probe(spawner, {"open", file});
    CHECK(again.out == Lines{"open " + file + " ENOENT"});
    CHECK(held_mount_namespaces() == after_first);  // reused

    dir.dir("later");
    dir.file("later/data.txt", "appeared");
    ProbeRun second = run_probe(spawner, {"open", file});
    INFO(second.all_err());
    CHECK(second.exit.shell_status() == 0);
    CHECK(second.out == Lines{"open " + file + " ok"});
    CHECK(held_mount_namespaces() != after_first);  // rebuilt
    CHECK(held_mount_namespaces().size() == after_first.size());  // and the old one let go
}

TEST_CASE("namespaces: an executable replaced by rename runs at the next launch, with its interpreter",
          "[namespaces]") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: the namespaces layer needs a root host here");
        return;
    }
    TempDir dir;
    const std::string exe = dir.path() + "/plugin";
    install_by_rename(kRulesetProbeStatic, exe);
    ProbeConfig probe;
    probe.exec = exe;
    const Spawner spawner(probe_config(probe));
    REQUIRE(namespaces_applied(spawner));

    ProbeRun first = run_probe(spawner, {"variant", "open", exe});
    INFO(first.all_err());
    CHECK(first.out == Lines{"variant static", "open " + exe + " ok"});
    const std::set<std::string> first_root = held_mount_namespaces();

    // Dynamically linked now: its ELF interpreter must be in the new root.
    install_by_rename(kRulesetProbe, exe);
    ProbeRun second = run_probe(spawner, {"variant", "open", exe});
    INFO(second.all_err());
    CHECK(second.exit.shell_status() == 0);
    CHECK(second.out == Lines{"variant dynamic", "open " + exe + " ok"});
    CHECK(held_mount_namespaces() != first_root);
}

TEST_CASE("namespaces: a plugin whose filter allows System V IPC gets an IPC namespace of its own per launch",
          "[namespaces]") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: the namespaces layer needs a root host here");
        return;
    }
    ProbeConfig probe;
    probe.exec = kRulesetProbeStatic;
    probe.syscalls = "allow = [\"msgget\"]";
    const Spawner spawner(probe_config(probe));
    REQUIRE(namespaces_applied(spawner));
    const std::string key = std::to_string(0x41690000 + (::getpid() & 0xffff));

    // The first launch leaves a queue behind; the next one, from the same Spawner (as a
    // restart is), must not find it: launches that may use IPC objects never share them.
    ProbeRun first = run_probe(spawner, {"msgqueue", key});
    INFO(first.all_err());
    CHECK(first.out == Lines{"msgqueue " + key + " created"});
    ProbeRun second = run_probe(spawner, {"msgqueue", key});
    INFO(second.all_err());
    CHECK(second.out == Lines{"msgqueue " + key + " created"});
    // Nor is it the host's.
    CHECK(::msgget(static_cast<key_t>(std::stoi(key)), 0) == -1);
}

