// Probing the isolation layers and failing closed.
#include <airlock/host/isolation_layers.hpp>

#include <catch2/catch.hpp>

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
