// Red team (contained, kept for coverage): a plugin may load filters of its own (@sandbox is
// in the default profile, for the SDK's self-lockdown). A filter of its own with a user
// notification listener would win over the host's: among equal actions the newest filter's
// USER_NOTIF is the one delivered, so the plugin's own listener could answer CONTINUE to the
// calls the host forbids. The kernel refuses a second listener in one filter chain (EBUSY);
// this shows the host's listener is always in the chain, namespaces on and off, root and
// unprivileged host.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

std::string redteam_config(const TempDir& dir, const std::string& namespaces) {
    return dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces));
}

} // namespace

TEST_CASE("a plugin's own seccomp listener cannot shadow the host's", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        for (const bool as_nobody : {false, true}) {
            TempDir dir;
            const std::string config = redteam_config(dir, namespaces);
            const std::vector<std::string> arguments{"exec", config, "redteam", "--", "seccomp-listener"};
            Run run = as_nobody ? run_host_as({65534, 65534}, arguments) : run_host(arguments);
            INFO(namespaces << (as_nobody ? " unprivileged host\n" : " root host\n") << run.out << run.err);
            CHECK(run.status == 0);
            CHECK(has_line(run.out, "redteam seccomp-listener: blocked errno=EBUSY"));
            CHECK(run.err.empty());
        }
    }
}
