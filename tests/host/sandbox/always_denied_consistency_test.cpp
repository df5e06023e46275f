// The filter refuses every syscall the config layer calls always-denied, even when a
// policy built some other way lists it as allowed.
#include "sandbox_test_support.hpp"

#include <airlock/host/seccomp_filter.hpp>
#include <airlock/host/syscall_sets.hpp>

#include <catch2/catch.hpp>

#include <seccomp.h>

using namespace airlock::host;
using namespace airlock::host::test;

TEST_CASE("the filter refuses the config layer's always-denied syscalls", "[seccomp]") {
    auto policy = policy_with(ViolationAction::Log);
    for (const auto& name : always_denied_syscalls()) policy.allowed.insert(name);
    auto filter = compile_seccomp_filter(policy, {}, {false, true});
    INFO(filter.status().to_string());
    REQUIRE(filter.ok());
    const auto& refused = filter->violation_policy().never_continue;
    for (const auto& name : always_denied_syscalls()) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr < 0 || name == "clone3") continue;  // not on x86_64 / answers ENOSYS instead
        INFO(name);
        CHECK(refused.count(nr) == 1);
    }
}
