// The hello-c example (the C plugin SDK) under the real host confinement, with its real TOML,
// called through PluginClient like any C++ plugin.
#include "../sdk/sdk_support.hpp"

#include <airlock/connection/dynamic_value.hpp>
#include <airlock/plugin.h>

#include <optional>

using namespace airlock;
using namespace airlock::sdk_test;

namespace hello_c {

// The C type specifications of examples/hello-c/hello.c, as C++ declarations.
struct GreetRequest {
    String<16777216> name;
};
AIRLOCK_STRUCT(GreetRequest, name)
struct GreetReply {
    String<16777216> text;
};
AIRLOCK_STRUCT(GreetReply, text)
struct EchoMessage {
    Bytes<16777216> data;
};
AIRLOCK_STRUCT(EchoMessage, data)

host::PluginConfig config() { return host::load_config(AIRLOCK_HELLO_C_TOML).plugins.at("hello-c"); }

} // namespace hello_c

TEST_CASE("hello-c: greet and echo from a C plugin under the real sandbox, then a clean stop", "[plugin_c][hello]") {
    RunningPlugin hello(hello_c::config());
    auto& client = hello.client();
    REQUIRE(client.methods().size() == 2);
    CHECK(client.methods()[0].name == "greet");
    CHECK(client.methods()[0].tag == protocol::kFirstApplicationTag);
    CHECK(client.methods()[0].request_type == "struct GreetRequest{name:string<16777216>}");
    CHECK(client.methods()[1].name == "echo");
    CHECK(client.methods()[1].reply_type == "struct EchoMessage{data:bytes<16777216>}");
    // What airlockctl does with the announcement: parse it and convert JSON through it.
    auto parsed = ParsedType::parse(client.methods()[0].request_type);
    REQUIRE(parsed.ok());
    CHECK(encode_json(parsed->spec(), R"({"name":"world"})").ok());

    auto reply = client.call<hello_c::GreetRequest, hello_c::GreetReply>("greet", {"world"}, std::chrono::seconds(5));
    INFO(reply.status().to_string());
    REQUIRE(reply.ok());
    CHECK(reply->text == "hello, world");

    hello_c::EchoMessage message;
    message.data = {0, 1, 2, 255};
    auto echoed = client.call<hello_c::EchoMessage, hello_c::EchoMessage>("echo", message, std::chrono::seconds(5));
    REQUIRE(echoed.ok());
    CHECK(echoed->data == message.data);
    message.data.assign(100000, 7);  // several packets
    echoed = client.call<hello_c::EchoMessage, hello_c::EchoMessage>("echo", message, std::chrono::seconds(5));
    REQUIRE(echoed.ok());
    CHECK(echoed->data == message.data);

    const auto exit = hello.stop();
    CHECK_FALSE(exit.signaled);
    CHECK(exit.exit_code == 0);
}

TEST_CASE("hello-c: a failing C handler becomes an error reply and the plugin keeps serving", "[plugin_c][hello]") {
    RunningPlugin hello(hello_c::config());
    auto failed = hello.client().call<hello_c::GreetRequest, hello_c::GreetReply>("greet", {""}, std::chrono::seconds(5));
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == StatusCode::InvalidParameter);
    CHECK_THAT(failed.status().message(), Catch::Contains("greet needs a name"));
    auto reply = hello.client().call<hello_c::GreetRequest, hello_c::GreetReply>("greet", {"again"}, std::chrono::seconds(5));
    REQUIRE(reply.ok());
    CHECK(reply->text == "hello, again");
    CHECK(hello.stop().exit_code == 0);
}

TEST_CASE("hello-c: started outside a host it says so", "[plugin_c][hello]") {
    const std::string command = std::string("env -u AIRLOCK_CONNECTION_FD ") + AIRLOCK_HELLO_C_EXE + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[1024];
    while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
    const int status = ::pclose(pipe);
    CHECK(WEXITSTATUS(status) == 78);
    CHECK_THAT(output, Catch::Contains("hello-c: AIRLOCK_CONNECTION_FD is not set"));
}

namespace grants_c {

struct GrantQuery {
    String<16777216> name;
};
AIRLOCK_STRUCT(GrantQuery, name)
struct GrantReport {
    std::uint8_t found = 0, kind = 0, access = 0;
    std::uint64_t size = 0;
    std::uint32_t count = 0;
    std::optional<String<16777216>> content, error;
};
AIRLOCK_STRUCT(GrantReport, found, kind, access, size, count, content, error)

} // namespace grants_c

TEST_CASE("C SDK: grants by name with kind, access and descriptor, log, and registration errors", "[plugin_c][grants]") {
    TempDir dir;
    dir.file("input.txt", "input text");
    const std::string& d = dir.path();
    const std::string toml = "[plugin.c-grants]\n"
                             "exec = " + quoted(AIRLOCK_C_GRANTS_PLUGIN) + "\n"
                             "protocol = \"airlock\"\n"
                             "[plugin.c-grants.grants]\n"
                             "input = { file = " + quoted(d + "/input.txt") + ", access = \"read\" }\n"
                             "journal = { file = " + quoted(d + "/journal.log") + ", access = \"append\", create = true }\n"
                             "scratch = { memfd = \"4KiB\" }\n";
    RunningPlugin plugin(host::load_config_text(toml, d + "/c.toml").plugins.at("c-grants"));
    REQUIRE(plugin.client().methods().size() == 1);  // the refused registrations announce nothing

    auto input = plugin.call_ok<grants_c::GrantQuery, grants_c::GrantReport>("grant", {"input"});
    CHECK(input.found == 1);
    CHECK(input.kind == AIRLOCK_GRANT_FILE);
    CHECK(input.access == AIRLOCK_ACCESS_READ);
    CHECK(input.size == 10);
    CHECK(input.count == 3);
    REQUIRE(input.content);
    CHECK(*input.content == "input text");  // read through the granted descriptor

    auto journal = plugin.call_ok<grants_c::GrantQuery, grants_c::GrantReport>("grant", {"journal"});
    CHECK(journal.kind == AIRLOCK_GRANT_FILE);
    CHECK(journal.access == AIRLOCK_ACCESS_APPEND);
    auto scratch = plugin.call_ok<grants_c::GrantQuery, grants_c::GrantReport>("grant", {"scratch"});
    CHECK(scratch.kind == AIRLOCK_GRANT_MEMFD);
    CHECK(scratch.size == 4096);

    auto missing = plugin.call_ok<grants_c::GrantQuery, grants_c::GrantReport>("grant", {"secrets"});
    CHECK(missing.found == 0);
    REQUIRE(missing.error);
    CHECK_THAT(std::string(*missing.error), Catch::Contains("granted: input, journal, scratch"));

    CHECK(plugin.stop().exit_code == 0);  // also: registering after run() was refused
    REQUIRE(plugin.logs().size() >= 2);
    CHECK(plugin.logs().front() == "C grants plugin starting");
    CHECK(plugin.logs()[1] == "looking up grant input");
}
