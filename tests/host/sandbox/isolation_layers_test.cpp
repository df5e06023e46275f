// Probing the isolation layers and failing closed.
#include <airlock/host/isolation_layers.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>

using namespace airlock::host;

TEST_CASE("this kernel provides every isolation layer", "[layers]") {
    auto layers = probe_isolation_layers();
    INFO(describe_isolation_layers(layers));
    CHECK(layers.seccomp.available);
    CHECK(layers.seccomp_user_notification.available);
    CHECK(layers.landlock.available);
    CHECK(layers.landlock_abi >= 6);
    CHECK(layers.no_new_privs.available);
    CHECK(check_required_layers(layers, {IsolationLayer::Seccomp, IsolationLayer::Landlock,
                                         IsolationLayer::NoNewPrivs})
              .ok());
}

TEST_CASE("a required layer that is missing refuses with its name and the reason", "[layers]") {
    auto layers = probe_isolation_layers();
    layers.landlock = {false, "landlock_create_ruleset: ENOSYS (Landlock is not built into this kernel)"};
    layers.landlock_abi = 0;
    auto status = check_required_layers(layers, {IsolationLayer::Seccomp, IsolationLayer::Landlock});
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == airlock::StatusCode::Unsupported);
    CHECK(status.message() ==
          "required isolation layer landlock is unavailable: landlock_create_ruleset: ENOSYS (Landlock is not "
          "built into this kernel)");
    // Not required: no complaint.
    CHECK(check_required_layers(layers, {IsolationLayer::Seccomp}).ok());
}

TEST_CASE("layer names match the config's require = [...] names", "[layers]") {
    CHECK(isolation_layer_name(IsolationLayer::Seccomp) == "seccomp");
    CHECK(isolation_layer_name(IsolationLayer::Landlock) == "landlock");
    CHECK(isolation_layer_name(IsolationLayer::NoNewPrivs) == "no-new-privs");
}

TEST_CASE("the namespaces probe creates them as root and names them in check's summary", "[layers]") {
    auto layers = probe_isolation_layers();
    INFO(describe_isolation_layers(layers));
    if (::geteuid() != 0) {
        CHECK_FALSE(layers.namespaces.available);
        CHECK(layers.namespaces.detail.find("EPERM") != std::string::npos);
        return;
    }
    CHECK(layers.namespaces.available);
    CHECK(&layers.of(IsolationLayer::Namespaces) == &layers.namespaces);
    CHECK(isolation_layer_name(IsolationLayer::Namespaces) == "namespaces");
    CHECK(describe_isolation_layers(layers).find("namespaces: available (mount (tmpfs root), network (no interfaces), uts, ipc, pid (airlock-pid-init as pid 1))") !=
          std::string::npos);
}

// The probe's network namespace is the first private root's (namespace_template.cpp), so an
// `airlock-host exec` creates one network namespace, not two.
TEST_CASE("the namespaces probe hands its empty network namespace over once", "[layers]") {
    if (::geteuid() != 0) return;  // a user namespace's: never handed over
    REQUIRE(probe_isolation_layers().namespaces.available);
    const int fd = take_probed_network_namespace();
    REQUIRE(fd >= 0);
    CHECK(::ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    struct stat probed {}, own {};
    REQUIRE(::fstat(fd, &probed) == 0);
    REQUIRE(::stat("/proc/self/ns/net", &own) == 0);
    CHECK(probed.st_ino != own.st_ino);
    ::close(fd);
    // Once: the next root makes its own.
    CHECK(take_probed_network_namespace() == -1);
    (void)probe_isolation_layers();
    CHECK(take_probed_network_namespace() == -1);
}

// The probe's mount, UTS and IPC namespaces are the first private root's too, so an
// `airlock-host exec` copies the host's mount table once and never waits for the probe's
// copy to be torn down (namespace_template.cpp).
TEST_CASE("the namespaces probe hands its mount, UTS and IPC namespaces over once", "[layers]") {
    if (::geteuid() != 0) return;  // a user namespace's: never handed over
    REQUIRE(probe_isolation_layers().namespaces.available);
    ProbedNamespaces probed = take_probed_namespaces();
    const std::pair<int, const char*> kinds[] = {{CLONE_NEWNS, "mnt"}, {CLONE_NEWUTS, "uts"}, {CLONE_NEWIPC, "ipc"}};
    const int fds[] = {probed.mount, probed.uts, probed.ipc};
    for (int i = 0; i < 3; ++i) {
        INFO(kinds[i].second);
        REQUIRE(fds[i] >= 0);
        CHECK(::ioctl(fds[i], NS_GET_NSTYPE) == kinds[i].first);
        CHECK((::fcntl(fds[i], F_GETFD) & FD_CLOEXEC) != 0);
        struct stat kept {}, own {};
        REQUIRE(::fstat(fds[i], &kept) == 0);
        REQUIRE(::stat((std::string("/proc/self/ns/") + kinds[i].second).c_str(), &own) == 0);
        CHECK(kept.st_ino != own.st_ino);  // the probe's own, not the host's
    }
    for (int fd : {probed.mount, probed.network, probed.uts, probed.ipc}) {
        if (fd >= 0) ::close(fd);
    }
    // Once: the next root makes its own, and nothing is left to release.
    const ProbedNamespaces again = take_probed_namespaces();
    CHECK(again.mount == -1);
    CHECK(again.network == -1);
    CHECK(again.uts == -1);
    CHECK(again.ipc == -1);
    release_probed_namespaces();
}
