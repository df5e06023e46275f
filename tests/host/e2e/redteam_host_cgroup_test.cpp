// Red team: the host's own cgroup, owned by another local user. A root host started with
// `sudo` from a terminal that systemd placed in a cgroup delegated to the user (an app scope
// of user@UID.service) makes its plugin cgroups beneath a directory that user owns. The owner
// can then move a plugin's processes out of the cgroup that limits them (cgroup v2: write
// access to the common ancestor; v1: a plugin of their own uid), raise or lower the limits
// above them, remove the spare cgroups, freeze or kill them. Measured before the fix (cgroup
// v1, a plugin with `user = "nobody"` and `limits.memory = "32MiB"`): nobody moved it into
// their cgroup (memory.limit_in_bytes 9223372036854771712). The host must not use such a
// cgroup: `memory_cgroup = "require"` refuses the start, naming the owner.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

using namespace airlock::e2e;

namespace {

constexpr uid_t kNobody = 65534;

// `airlock-host ARGS...` started inside the cgroup v1 directory `cgroup`, waited for.
Run run_host_in_cgroup(const std::string& cgroup, const std::vector<std::string>& arguments) {
    StartedHost host;
    host.out = ::memfd_create("e2e-out", MFD_CLOEXEC);
    host.err = ::memfd_create("e2e-err", MFD_CLOEXEC);
    HostArgv argv(arguments);
    const std::string procs = cgroup + "/cgroup.procs";
    host.pid = ::fork();
    if (host.pid == 0) {
        const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, "0", 1) != 1 || ::dup2(host.out, 1) < 0 || ::dup2(host.err, 2) < 0) _exit(125);
        ::execve(kHostExe.c_str(), argv.data(), environ);
        _exit(127);
    }
    return finish_host(host);
}

} // namespace

TEST_CASE("a host whose cgroup another user owns makes no plugin cgroups there", "[e2e][redteam]") {
    if (skipped_unless_root("a root host and another local user")) return;
    const std::string own = own_v1_memory_cgroup();
    if (own.empty()) {
        WARN("NOT TESTED: no cgroup v1 memory hierarchy (the host's cgroup v2 path is not tested here)");
        return;
    }
    // A child of this test's cgroup, owned by nobody as systemd hands one to a user.
    const std::string theirs = own + "/airlock-redteam-theirs-" + std::to_string(::getpid());
    REQUIRE(::mkdir(theirs.c_str(), 0755) == 0);
    for (const std::string& path : {theirs, theirs + "/tasks", theirs + "/cgroup.procs"})
        REQUIRE(::chown(path.c_str(), kNobody, kNobody) == 0);

    TempDir dir;
    AttemptConfig attempt;
    attempt.sandbox = "memory_cgroup = \"require\"";  // the plugin runs as nobody (attempt_toml)
    attempt.limits = "memory = \"32MiB\"";
    const std::string config = write_config(dir, attempt);

    const Run refused = run_host_in_cgroup(theirs, exec_arguments(config, {"noop"}));
    INFO(refused.out << refused.err);
    CHECK(refused.status != 0);
    CHECK(refused.result("noop") == "<missing>");  // never started
    CHECK(refused.err.find("the host's cgroup is not the host's alone (" + theirs + ": " + theirs +
                           " belongs to uid 65534, who could change it") != std::string::npos);
    CHECK(cgroups_of(theirs, "attempt", refused.host_pid).empty());

    // The same cgroup back in root's hands: the plugin starts beneath it, limited.
    for (const std::string& path : {theirs, theirs + "/tasks", theirs + "/cgroup.procs"})
        REQUIRE(::chown(path.c_str(), 0, 0) == 0);
    const Run served = run_host_in_cgroup(theirs, exec_arguments(config, {"noop"}));
    INFO(served.out << served.err);
    CHECK(served.result("noop") == "SUCCEEDED");
    CHECK(::rmdir(theirs.c_str()) == 0);  // the host left nothing behind
}
