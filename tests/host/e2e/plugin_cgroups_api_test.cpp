// PluginCgroups and its probe on the real cgroup hierarchy, below the spawner (root and
// cgroup v1 memory/pids/cpu on the project's machines; elsewhere these tests say NOT TESTED).
// End-to-end behaviour with plugins is in memory_cgroup_e2e_test.cpp and
// cgroup_limits_e2e_test.cpp.
#include "e2e_support.hpp"

#include <airlock/host/plugin_cgroups.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

using namespace airlock::host;
using airlock::e2e::own_v1_memory_cgroup;
using airlock::e2e::path_exists;
using airlock::e2e::read_text;

namespace {

// The probe, when this machine is one where it must succeed; nullopt (after a WARN) elsewhere.
std::optional<CgroupSupport> support_here() {
    CgroupSupport support = probe_cgroup_controller(CgroupController::Memory);
    if (::geteuid() == 0 && !own_v1_memory_cgroup().empty()) {
        INFO(support.detail);
        REQUIRE(support.available);
        return support;
    }
    WARN("NOT TESTED: needs root and a cgroup v1 memory hierarchy; probe says: " << support.detail);
    return std::nullopt;
}

// A pid that no longer runs: a child that exited and was reaped.
pid_t dead_pid() {
    pid_t child = ::fork();
    if (child == 0) _exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
}

CgroupLimits memory_limit(std::uint64_t bytes) {
    CgroupLimits limits;
    limits.memory_bytes = bytes;
    return limits;
}

} // namespace

TEST_CASE("the probe finds the host's own v1 memory cgroup and leaves nothing behind", "[memory_cgroup]") {
    auto support = support_here();
    if (!support) return;
    const std::string own = own_v1_memory_cgroup();
    CHECK(support->version == CgroupVersion::V1);
    CHECK(support->parent == own);
    CHECK(support->detail == "cgroup v1 memory controller, beneath " + own);
    CHECK(airlock::e2e::cgroups_of(own, "probe", ::getpid()).empty());
}

TEST_CASE("a memory cgroup is created with its limits and removed, once", "[memory_cgroup]") {
    auto support = support_here();
    if (!support) return;
    auto created = PluginCgroups::create({*support}, "unit", memory_limit(32 << 20));
    REQUIRE(created.ok());
    PluginCgroups cgroup = std::move(*created);
    const std::string path = cgroup.path(CgroupController::Memory);
    CHECK(path.rfind(support->parent + "/airlock-unit-" + std::to_string(::getpid()) + "-", 0) == 0);
    CHECK(read_text(path + "/memory.limit_in_bytes") == std::to_string(32 << 20));
    if (path_exists(path + "/memory.memsw.limit_in_bytes")) {
        CHECK(read_text(path + "/memory.memsw.limit_in_bytes") == std::to_string(32 << 20));
    }
    CHECK(cgroup.join_fds().size() == 1);
    CHECK(cgroup.join_fds()[0] >= 0);
    CHECK(read_text(path + "/cgroup.procs").empty());
    CHECK(cgroup.oom_kills() == 0);

    // Moving it keeps one owner.
    PluginCgroups moved = std::move(cgroup);
    CHECK(cgroup.path(CgroupController::Memory).empty());
    CHECK(moved.path(CgroupController::Memory) == path);
    moved.close_join_fds();
    CHECK(moved.join_fds().empty());
    CHECK(moved.remove().ok());
    CHECK_FALSE(path_exists(path));
    CHECK(moved.path(CgroupController::Memory).empty());
    CHECK(moved.remove().ok());  // idempotent

    // The destructor removes it too.
    std::string second;
    {
        auto again = PluginCgroups::create({*support}, "unit", memory_limit(32 << 20));
        REQUIRE(again.ok());
        second = again->path(CgroupController::Memory);
        CHECK(path_exists(second));
    }
    CHECK_FALSE(path_exists(second));
}

TEST_CASE("a limit beyond what the kernel counts means no limit, not an error", "[memory_cgroup]") {
    auto support = support_here();
    if (!support) return;
    auto created = PluginCgroups::create({*support}, "huge", memory_limit(UINT64_MAX));
    REQUIRE(created.ok());
    CHECK(std::stoull(read_text(created->path(CgroupController::Memory) + "/memory.limit_in_bytes")) >= (std::uint64_t{1} << 62));
}

TEST_CASE("without support, create says why and makes nothing", "[memory_cgroup]") {
    CgroupSupport none;
    none.detail = "no memory controller is mounted";
    auto created = PluginCgroups::create({none}, "x", memory_limit(1 << 20));
    REQUIRE_FALSE(created.ok());
    CHECK(created.status().code() == airlock::StatusCode::Unsupported);
    CHECK(created.status().message() == "no memory cgroup: no memory controller is mounted");
}

TEST_CASE("stale cleanup removes the cgroups of hosts that no longer run, and only those", "[memory_cgroup]") {
    auto support = support_here();
    if (!support) return;
    const std::string parent = support->parent;
    const std::string dead = std::to_string(dead_pid());
    const std::string gone = parent + "/airlock-old-" + dead + "-7";
    const std::string gone_dashes = parent + "/airlock-my-plugin-" + dead + "-0";  // '-' in the plugin name
    const std::string live = parent + "/airlock-other-1-0";                     // pid 1 runs
    const std::string mine = parent + "/airlock-self-" + std::to_string(::getpid()) + "-99";
    const std::string foreign = parent + "/not-airlock-" + dead + "-0";
    for (const auto& path : {gone, gone_dashes, live, mine, foreign}) REQUIRE(::mkdir(path.c_str(), 0755) == 0);

    CHECK(remove_stale_cgroups_in(parent) == 2);
    CHECK_FALSE(path_exists(gone));
    CHECK_FALSE(path_exists(gone_dashes));
    CHECK(path_exists(live));
    CHECK(path_exists(mine));
    CHECK(path_exists(foreign));
    for (const auto& path : {live, mine, foreign}) ::rmdir(path.c_str());
}

TEST_CASE("one reading of the cgroup tables finds what each probe's own reading finds, and the sweep uses it", "[memory_cgroup]") {
    auto memory = support_here();
    if (!memory) return;
    const CgroupTables tables = read_cgroup_tables();
    REQUIRE_FALSE(tables.mounts.empty());
    for (CgroupController controller : {CgroupController::Memory, CgroupController::Pids, CgroupController::Cpu}) {
        for (CgroupProbe how : {CgroupProbe::Locate, CgroupProbe::Look}) {
            const CgroupSupport alone = probe_cgroup_controller(controller, how);
            const CgroupSupport shared = probe_cgroup_controller(controller, how, tables);
            INFO(alone.detail);
            CHECK(shared.available == alone.available);
            CHECK(shared.version == alone.version);
            CHECK(shared.parent == alone.parent);
            CHECK(shared.detail == alone.detail);
        }
    }
    // A stale cgroup of a host that no longer runs goes in a sweep given the tables.
    const std::string stale = memory->parent + "/airlock-tables-" + std::to_string(dead_pid()) + "-0";
    REQUIRE(::mkdir(stale.c_str(), 0755) == 0);
    CHECK(remove_stale_cgroups(tables) >= 1);
    CHECK_FALSE(path_exists(stale));
}

TEST_CASE("one set holds memory, pids and cpu cgroups with their limits, each removed", "[memory_cgroup]") {
    auto memory = support_here();
    if (!memory) return;
    const CgroupSupport pids = probe_cgroup_controller(CgroupController::Pids);
    const CgroupSupport cpu = probe_cgroup_controller(CgroupController::Cpu);
    INFO(pids.detail << " / " << cpu.detail);
    REQUIRE(pids.available);
    REQUIRE(cpu.available);
    CgroupLimits limits = memory_limit(32 << 20);
    limits.tasks = 12;
    limits.cpu_quota_percent = 150;
    auto created = PluginCgroups::create({*memory, pids, cpu}, "set", limits);
    REQUIRE(created.ok());
    CHECK(created->join_fds().size() == 3);  // three v1 hierarchies here
    const std::string pids_path = created->path(CgroupController::Pids);
    const std::string cpu_path = created->path(CgroupController::Cpu);
    CHECK(pids_path.rfind(pids.parent + "/airlock-set-", 0) == 0);
    CHECK(read_text(pids_path + "/pids.max") == "12");
    CHECK(read_text(cpu_path + "/cpu.cfs_quota_us") == "150000");
    CHECK(created->tasks_refused() == 0);
    CHECK(created->remove().ok());
    CHECK_FALSE(path_exists(pids_path));
    CHECK_FALSE(path_exists(cpu_path));
}

TEST_CASE("a plugin name that is no plain path component cannot leave the parent cgroup", "[memory_cgroup]") {
    auto support = support_here();
    if (!support) return;
    auto created = PluginCgroups::create({*support}, "../../escape/x", memory_limit(32 << 20));
    REQUIRE(created.ok());
    const std::string path = created->path(CgroupController::Memory);
    CHECK(path.rfind(support->parent + "/airlock-.._.._escape_x-", 0) == 0);
    CHECK(path_exists(path));
}
