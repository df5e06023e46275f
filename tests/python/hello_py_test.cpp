// examples/hello-py: the hello plugin in Python, run by Debian's python3 under the real host
// confinement (its own TOML: seccomp "minimal" plus what the interpreter needs, Landlock,
// namespaces, uid nobody) and called through PluginClient like the C++ hello.
#include "sdk_support.hpp"

#include <airlock/connection/codec.hpp>

using namespace airlock;
using namespace airlock::sdk_test;

namespace {

// The C++ hello's types (examples/hello/hello_api.hpp), spelled the same: the host compares
// the descriptions the Python plugin announces with these before every call.
struct GreetRequest {
    String<256> name;
};
AIRLOCK_STRUCT(GreetRequest, name)
struct GreetReply {
    String<512> text;
};
AIRLOCK_STRUCT(GreetReply, text)
struct EchoMessage {
    Bytes<65536> data;
};
AIRLOCK_STRUCT(EchoMessage, data)

// probe_plugin.py's types.
struct Attempt {
    String<32> what;
};
AIRLOCK_STRUCT(Attempt, what)
struct Outcome {
    String<256> result;
};
AIRLOCK_STRUCT(Outcome, result)

host::PluginConfig hello_py_config() { return host::load_config(AIRLOCK_HELLO_PY_TOML).plugins.at("hello-py"); }

// hello-py's TOML running tests/python/probe_plugin.py instead, with the SDK on its path.
host::PluginConfig probe_config() {
    auto config = hello_py_config();
    config.args = {"-B", "-s", std::string(AIRLOCK_PYTHON_TEST_DIR) + "/probe_plugin.py"};
    config.env["PYTHONPATH"] = AIRLOCK_PYTHON_SDK_DIR;
    config.system_paths.push_back(AIRLOCK_PYTHON_TEST_DIR);
    config.system_paths.push_back(AIRLOCK_PYTHON_SDK_DIR);
    return config;
}

} // namespace

TEST_CASE("hello-py: greet and echo under the real sandbox, then a clean stop", "[python][hello-py]") {
    RunningPlugin hello(hello_py_config());
    auto& client = hello.client();
    REQUIRE(client.methods().size() == 2);
    CHECK(client.methods()[0].name == "greet");
    CHECK(client.methods()[0].tag == protocol::kFirstApplicationTag);
    CHECK(client.methods()[0].request_type == describe(spec_of<GreetRequest>()));
    CHECK(client.methods()[0].reply_type == describe(spec_of<GreetReply>()));
    CHECK(client.methods()[1].name == "echo");
    CHECK(client.methods()[1].request_type == describe(spec_of<EchoMessage>()));

    CHECK(hello.call_ok<GreetRequest, GreetReply>("greet", {"world"}).text == "hello, world");
    EchoMessage largest;
    largest.data.resize(65536);
    for (std::size_t i = 0; i < largest.data.size(); ++i) largest.data[i] = static_cast<std::uint8_t>(i * 31);
    CHECK(hello.call_ok<EchoMessage, EchoMessage>("echo", largest).data == largest.data);

    // It ran as nobody, and needed no system call outside its TOML's list.
    CHECK(hello.violations().lines().empty());
    const auto exit = hello.stop();
    CHECK_FALSE(exit.signaled);
    CHECK(exit.exit_code == 0);
    CHECK(hello.violations().lines().empty());
}

TEST_CASE("hello-py: a handler exception becomes an error reply and the plugin keeps serving", "[python][hello-py]") {
    RunningPlugin hello(hello_py_config());
    auto failed = hello.client().call<GreetRequest, GreetReply>("greet", {""}, std::chrono::seconds(5));
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == StatusCode::HandlerFailed);
    CHECK_THAT(failed.status().message(), Catch::Contains("remote: greet needs a name"));
    // A request over the announced bound is refused by the caller's encoder, and one the
    // plugin cannot decode gets an error reply naming the member.
    EchoMessage too_long;
    too_long.data.resize(65537);
    CHECK_FALSE(hello.client().call<EchoMessage, EchoMessage>("echo", too_long, std::chrono::seconds(5)).ok());
    CHECK(hello.call_ok<GreetRequest, GreetReply>("greet", {"again"}).text == "hello, again");
    CHECK(hello.stop().exit_code == 0);
}

TEST_CASE("hello-py: a Python plugin under hello-py's confinement is refused what it may not do, and keeps serving",
          "[python][hello-py]") {
    // on_violation = errno, so a forbidden system call fails instead of killing it.
    auto config = probe_config();
    config.syscalls.on_violation = host::ViolationAction::Errno;
    RunningPlugin probe(config);

    auto attempt = [&](const std::string& what) {
        auto reply = probe.client().call<Attempt, Outcome>("try", {what}, std::chrono::seconds(10));
        INFO(what << ": " << reply.status().to_string() << "\n" << probe.drain_stderr());
        REQUIRE(reply.ok());
        return std::string(reply->result);
    };
    CHECK_THAT(attempt("read /etc/passwd"), Catch::StartsWith("refused: E"));   // not in its root, nor its ruleset
    CHECK_THAT(attempt("list /home"), Catch::StartsWith("refused: E"));
    CHECK(attempt("exec /bin/sh") == "refused: EPERM");                          // execve is not in its list
    CHECK(attempt("open a TCP socket") == "refused: EPERM");                     // socket() never is
    CHECK_THAT(attempt("write into the SDK"), Catch::StartsWith("refused: E"));  // system paths are read-only
    // Still serving, and it stops cleanly.
    CHECK_THAT(attempt("read /etc/passwd"), Catch::StartsWith("refused: E"));
    CHECK(probe.stop().exit_code == 0);
}

TEST_CASE("hello-py: a Python plugin receives its grant table with descriptors, logs and reports progress",
          "[python][hello-py]") {
    test_support::TempDir dir;
    const std::string notes = dir.file("notes.txt", "granted to Python\n");
    auto config = probe_config();
    host::GrantConfig grant;
    grant.name = "notes";
    grant.kind = host::GrantKind::File;
    grant.path = notes;
    grant.access = host::GrantAccess::Read;
    config.grants.push_back(grant);
    RunningPlugin probe(config);
    auto call = [&](const std::string& method, const std::string& what) {
        auto reply = probe.client().call<Attempt, Outcome>(method, {what}, std::chrono::seconds(10));
        INFO(method << " " << what << ": " << reply.status().to_string() << "\n" << probe.drain_stderr());
        REQUIRE(reply.ok());
        return std::string(reply->result);
    };
    CHECK(call("grant", "notes") == "File Read 18: granted to Python\n");
    CHECK(call("grant", "secrets") ==
          "PluginError GrantNotFound: grant \"secrets\" is not granted to plugin \"hello-py\"; granted: notes. "
          "Add it under [plugin.hello-py.grants] in the host's config");
    CHECK(call("report", "halfway there") == "reported to hello-py");
    CHECK(call("grant", "notes") == "File Read 18: granted to Python\n");  // the report's ack was dropped meanwhile
    REQUIRE(probe.logs().size() == 1);
    CHECK(probe.logs()[0] == "halfway there");
    CHECK(probe.stop().exit_code == 0);
}

TEST_CASE("hello-py: started outside a host it says so", "[python][hello-py]") {
    const std::string command = std::string("env -u AIRLOCK_CONNECTION_FD ") + AIRLOCK_PYTHON3 + " -B " +
                                std::string(AIRLOCK_HELLO_PY_TOML).substr(0, std::string(AIRLOCK_HELLO_PY_TOML).rfind('/')) +
                                "/hello.py 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[1024];
    while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
    const int status = ::pclose(pipe);
    CHECK(status != 0);
    CHECK_THAT(output, Catch::Contains("hello-py: AIRLOCK_CONNECTION_FD is not set: this program is an Airlock plugin and "
                                       "must be started by airlock-host"));
    CHECK_THAT(output, !Catch::Contains("Traceback"));
}
