// Red team: the private root's bind mounts. mount(2) follows links in its source, and the
// root is planned (every link on the way resolved and recreated) before it is built. A plugin
// that can write where a by_path grant lies (inside_writable = true) swaps that path for a
// link to a root-only directory in between; the build must refuse the step rather than bind
// what the link names. Real planner, real mounts in a private mount namespace of a child,
// the swap done by a real unprivileged process (nobody).
#include "e2e_support.hpp"

#include "child_namespaces.hpp"
#include "namespace_plan.hpp"

#include <catch2/catch.hpp>

#include <sched.h>

using namespace airlock::e2e;
namespace detail = airlock::host::detail;

namespace {

constexpr uid_t kNobody = 65534;

// What building the root in a child reported.
struct BuildResult {
    int stage = -1;  // NamespaceFailure::Stage
    int error = 0;
    int step = -1;
    bool secret_visible = false;
};

BuildResult build_in_child(const detail::NamespacePlan& plan, const std::string& secret_in_root) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const pid_t child = ::fork();
    if (child == 0) {
        BuildResult result;
        if (::unshare(CLONE_NEWNS) != 0) _exit(10);
        const detail::NamespaceFailure failure = detail::child_enter_private_root(plan.child());
        result.stage = static_cast<int>(failure.stage);
        result.error = failure.error;
        result.step = failure.step;
        struct stat status {};
        result.secret_visible = failure.stage == detail::NamespaceFailure::Stage::None &&
                                ::stat(secret_in_root.c_str(), &status) == 0;
        _exit(::write(report[1], &result, sizeof result) == sizeof result ? 0 : 11);
    }
    ::close(report[1]);
    BuildResult result;
    const bool got = ::read(report[0], &result, sizeof result) == sizeof result;
    ::close(report[0]);
    int raw = 0;
    ::waitpid(child, &raw, 0);
    if (!got) throw std::runtime_error("the child reported nothing");
    return result;
}

// As nobody: PATH moves aside and a link to TARGET takes its place.
bool swap_for_link_as_nobody(const std::string& path, const std::string& target) {
    const pid_t child = ::fork();
    if (child == 0) {
        const gid_t groups[1] = {kNobody};
        if (::setgroups(1, groups) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
            ::setresuid(kNobody, kNobody, kNobody) != 0)
            _exit(1);
        const std::string aside = path + ".old";
        _exit(::rename(path.c_str(), aside.c_str()) == 0 && ::symlink(target.c_str(), path.c_str()) == 0 ? 0 : 2);
    }
    int raw = 0;
    ::waitpid(child, &raw, 0);
    return WIFEXITED(raw) && WEXITSTATUS(raw) == 0;
}

} // namespace

TEST_CASE("a bind source swapped for a link after planning is not mounted", "[e2e][redteam]") {
    if (skipped_unless_root("mounts in a private mount namespace, and an unprivileged attacker")) return;
    TempDir dir;
    const std::string vault = dir.at("vault");
    ::mkdir(vault.c_str(), 0700);
    std::ofstream(vault + "/secret") << "root only\n";
    const std::string work = dir.dir("work");
    REQUIRE(::chown(work.c_str(), kNobody, kNobody) == 0);
    const std::string shared = work + "/shared";
    ::mkdir(shared.c_str(), 0755);
    REQUIRE(::chown(shared.c_str(), kNobody, kNobody) == 0);

    AttemptConfig attempt;
    attempt.grants = "work = { dir = " + quoted(work) + ", access = \"read-write\" }\n"
                     "shared = { dir = " + quoted(shared) + ", by_path = true, inside_writable = true }";
    const airlock::host::HostConfig config =
        airlock::host::load_config_text(attempt_toml(attempt), dir.at("bind.toml"));
    detail::PlanInputs inputs;
    const detail::NamespacePlan plan =
        detail::NamespacePlan::prepare(config.plugins.at("attempt"), CLONE_NEWNS, inputs);

    // Planned; now the plugin's user swaps the granted path before the root is built.
    REQUIRE(swap_for_link_as_nobody(shared, vault));
    const BuildResult result = build_in_child(plan, shared + "/secret");
    INFO("stage " << result.stage << " error " << result.error << " step " << result.step);
    CHECK_FALSE(result.secret_visible);
    CHECK(result.stage == static_cast<int>(detail::NamespaceFailure::Stage::RootStep));
    CHECK(result.error == ELOOP);
    CHECK(plan.describe_step(static_cast<std::size_t>(result.step)).find(shared) != std::string::npos);

    // Planning again now refuses the link outright, naming it.
    detail::PlanInputs again;
    try {
        (void)detail::NamespacePlan::prepare(config.plugins.at("attempt"), CLONE_NEWNS, again);
        FAIL("a grant path that became a link was planned");
    } catch (const airlock::host::SpawnError& error) {
        CHECK(std::string(error.what()).find(shared + " is a symbolic link") != std::string::npos);
    }
}
