// MemoryCgroup and its probe on the real cgroup hierarchy, below the spawner (root and
// cgroup v1 memory on the project's machines; elsewhere these tests say NOT TESTED).
// End-to-end behaviour with plugins is in memory_cgroup_e2e_test.cpp.
#include "e2e_support.hpp"

#include <airlock/host/memory_cgroup.hpp>

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
std::optional<MemoryCgroupSupport> support_here() {
    MemoryCgroupSupport support = probe_memory_cgroup();
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
    auto created = MemoryCgroup::create(*support, "unit", 32 << 20);
    REQUIRE(created.ok());
    MemoryCgroup cgroup = std::move(*created);
    const std::string path = cgroup.path();
    CHECK(path.rfind(support->parent + "/airlock-unit-" + std::to_string(::getpid()) + "-", 0) == 0);
    CHECK(read_text(path + "/memory.limit_in_bytes") == std::to_string(32 << 20));
    if (path_exists(path + "/memory.memsw.limit_in_bytes")) {
        CHECK(read_text(path + "/memory.memsw.limit_in_bytes") == std::to_string(32 << 20));
    }
    CHECK(cgroup.join_fd() >= 0);
    CHECK(read_text(path + "/cgroup.procs").empty());
    CHECK(cgroup.oom_kills() == 0);

    // Moving it keeps one owner.
    MemoryCgroup moved = std::move(cgroup);
    CHECK(cgroup.path().empty());
    CHECK(moved.path() == path);
    moved.close_join_fd();
    CHECK(moved.join_fd() == -1);
    CHECK(moved.remove().ok());
    CHECK_FALSE(path_exists(path));
    CHECK(moved.path().empty());
    CHECK(moved.remove().ok());  // idempotent

    // The destructor removes it too.
    std::string second;
    {
        auto again = MemoryCgroup::create(*support, "unit", 32 << 20);
        REQUIRE(again.ok());
        second = again->path();
        CHECK(path_exists(second));
    }
    CHECK_FALSE(path_exists(second));
}

TEST_CASE("a limit beyond what the kernel counts means no limit, not an error", "[memory_cgroup]") {
    auto support = support_here();
    if (!support) return;
    auto created = MemoryCgroup::create(*support, "huge", UINT64_MAX);
    REQUIRE(created.ok());
    CHECK(std::stoull(read_text(created->path() + "/memory.limit_in_bytes")) >= (std::uint64_t{1} << 62));
}

TEST_CASE("without support, create says why and makes nothing", "[memory_cgroup]") {
    MemoryCgroupSupport none;
    none.detail = "no memory controller is mounted";
    auto created = MemoryCgroup::create(none, "x", 1 << 20);
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

    CHECK(remove_stale_memory_cgroups(parent) == 2);
    CHECK_FALSE(path_exists(gone));
    CHECK_FALSE(path_exists(gone_dashes));
    CHECK(path_exists(live));
    CHECK(path_exists(mine));
    CHECK(path_exists(foreign));
    for (const auto& path : {live, mine, foreign}) ::rmdir(path.c_str());
}
