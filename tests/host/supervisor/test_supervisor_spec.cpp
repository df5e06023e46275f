// The supervisor with plugins described in code (PluginSpec), no TOML anywhere: a real
// confined process started from a spec, its limits and user as the spec said, a call
// answered, a reload from specs; an invalid spec refused before anything starts.
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <sstream>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;

namespace {

PluginSpec echo_spec(const std::string& name) {
    PluginSpec spec(name);
    spec.exec(kPlugin).arg("serve").memory("256MiB").open_files(40).processes(1).restart(RestartPolicy::No)
        .user("nobody");
    return spec;
}

// One line of /proc/PID/FILE that starts with `prefix`, or "".
std::string proc_line(pid_t pid, const std::string& file, const std::string& prefix) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0) return line;
    return "";
}

} // namespace

TEST_CASE("a plugin from a PluginSpec is started confined as the spec says and answers a call") {
    boost::asio::io_context io;
    Supervisor supervisor(io, {echo_spec("echo")});
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "echo", PluginState::Ready); }));
    const pid_t pid = status_of(supervisor, "echo").pid;
    REQUIRE(pid > 0);
    // The limits and the user of the spec, applied by the real spawner.
    std::istringstream address_space(proc_line(pid, "limits", "Max address space"));
    std::string max, address, space, soft;
    address_space >> max >> address >> space >> soft;
    CHECK(soft == std::to_string(256ULL << 20));
    CHECK_THAT(proc_line(pid, "limits", "Max open files"), Catch::Contains("40"));
    CHECK_THAT(proc_line(pid, "status", "Uid:"), Catch::Contains("65534"));

    std::optional<Result<Message>> reply;
    const std::vector<std::uint8_t> body{'h', 'i'};
    supervisor.call_raw("echo", "echo", body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    REQUIRE(run_until(io, [&] { return reply.has_value(); }));
    REQUIRE(reply->ok());
    CHECK(std::vector<std::uint8_t>((*reply)->body.begin(), (*reply)->body.end()) == body);

    // A reload from specs: the plugin is removed, a new one started.
    REQUIRE(supervisor.reload({echo_spec("other")}).ok());
    supervisor.start_all();
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "other", PluginState::Ready); }));
    REQUIRE(run_until(io, [&] { return ::kill(pid, 0) != 0; }));
    bool stopped = false;
    supervisor.stop_all([&] { stopped = true; });
    REQUIRE(run_until(io, [&] { return stopped; }));
}

TEST_CASE("an invalid PluginSpec is refused before anything starts, with the loader's message") {
    boost::asio::io_context io;
    PluginSpec bad = echo_spec("bad");
    bad.grant_dir("data", "relative/data");
    REQUIRE_THROWS_WITH(Supervisor(io, {echo_spec("good"), bad}),
                        "dir path \"relative/data\" of grant \"data\" is not absolute; grant paths must be absolute "
                        "(start with \"/\")");
    Supervisor supervisor(io, {echo_spec("good")});
    REQUIRE_THROWS_AS(supervisor.reload({bad}), ConfigError);
    CHECK(supervisor.status().size() == 1);  // the reload changed nothing
    CHECK(status_of(supervisor, "good").name == "good");
}
