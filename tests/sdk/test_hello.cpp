// The hello example under the real host confinement, with its real TOML, called through
// PluginClient.
#include "sdk_support.hpp"

#include "hello_api.hpp"

#include <sys/wait.h>

using namespace airlock;
using namespace airlock::sdk_test;

namespace {

host::PluginConfig hello_config() {
    return host::load_config(AIRLOCK_HELLO_TOML).plugins.at("hello");
}

} // namespace

TEST_CASE("hello: greet and echo under the real sandbox, then a clean stop", "[sdk][hello]") {
    RunningPlugin hello(hello_config());
    auto& client = hello.client();
    REQUIRE(client.methods().size() == 2);
    CHECK(client.methods()[0].name == "greet");
    CHECK(client.methods()[0].tag == protocol::kFirstApplicationTag);
    CHECK(client.methods()[0].request_type == describe(spec_of<::hello::GreetRequest>()));
    CHECK(client.methods()[1].name == "echo");

    auto reply = client.call<::hello::GreetRequest, ::hello::GreetReply>("greet", {"world"}, std::chrono::seconds(5));
    INFO(reply.status().to_string());
    REQUIRE(reply.ok());
    CHECK(reply->text == "hello, world");

    ::hello::EchoMessage message;
    message.data = {0, 1, 2, 255};
    auto echoed = client.call<::hello::EchoMessage, ::hello::EchoMessage>("echo", message, std::chrono::seconds(5));
    REQUIRE(echoed.ok());
    CHECK(echoed->data == message.data);

    const auto exit = hello.stop();
    CHECK_FALSE(exit.signaled);
    CHECK(exit.exit_code == 0);
}

TEST_CASE("hello: a handler exception becomes an error reply and the plugin keeps serving", "[sdk][hello]") {
    RunningPlugin hello(hello_config());
    auto failed = hello.client().call<::hello::GreetRequest, ::hello::GreetReply>("greet", {""}, std::chrono::seconds(5));
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == StatusCode::HandlerFailed);
    CHECK_THAT(failed.status().message(), Catch::Contains("greet needs a name"));
    auto reply = hello.client().call<::hello::GreetRequest, ::hello::GreetReply>("greet", {"again"}, std::chrono::seconds(5));
    REQUIRE(reply.ok());
    CHECK(reply->text == "hello, again");
    CHECK(hello.stop().exit_code == 0);
}

TEST_CASE("PluginClient: unknown methods and mismatched types fail before anything is sent", "[sdk][client]") {
    RunningPlugin hello(hello_config());
    auto missing = hello.client().call<::hello::GreetRequest, ::hello::GreetReply>("wave", {"x"});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().code() == StatusCode::NotFound);
    CHECK_THAT(missing.status().message(), Catch::Contains("no method \"wave\"; it serves: greet, echo"));

    auto wrong_request = hello.client().call<::hello::EchoMessage, ::hello::GreetReply>("greet", {});
    REQUIRE_FALSE(wrong_request.ok());
    CHECK(wrong_request.status().code() == StatusCode::ProtocolMismatch);
    CHECK_THAT(wrong_request.status().message(), Catch::Contains("method \"greet\": the request type differs"));

    auto wrong_reply = hello.client().call<::hello::GreetRequest, ::hello::EchoMessage>("greet", {"x"});
    REQUIRE_FALSE(wrong_reply.ok());
    CHECK(wrong_reply.status().code() == StatusCode::ProtocolMismatch);
    CHECK_THAT(wrong_reply.status().message(), Catch::Contains("the reply type differs"));

    // Still serving.
    CHECK(hello.client().call<::hello::GreetRequest, ::hello::GreetReply>("greet", {"x"}, std::chrono::seconds(5)).ok());
    CHECK(hello.stop().exit_code == 0);
}

TEST_CASE("hello: started outside a host it says so", "[sdk][hello]") {
    const std::string command = std::string("env -u AIRLOCK_CONNECTION_FD ") + AIRLOCK_HELLO_EXE + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[1024];
    while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
    const int status = ::pclose(pipe);
    CHECK(WIFEXITED(status));  // a message and an exit status, not an uncaught exception's abort
    CHECK(WEXITSTATUS(status) == 78);
    CHECK_THAT(output, Catch::Contains("hello: AIRLOCK_CONNECTION_FD is not set: this program is an Airlock plugin and "
                                       "must be started by airlock-host"));
    CHECK_THAT(output, !Catch::Contains("terminate called"));
}
