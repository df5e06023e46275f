// The SDK inside a real confined plugin: grant handles and their errors, the directory
// escape refusal, handler failures, registration errors and logging.
#include "sdk_support.hpp"

#include "programs/sdk_api.hpp"

#include <unistd.h>

using namespace airlock;
using namespace airlock::sdk_test;
using ::sdk_test::GrantAttempt;
using ::sdk_test::Outcome;
using ::sdk_test::Text;

namespace {

// dir/secret.txt outside the grant; dir/data granted, with links in and out.
struct GrantedTree {
    TempDir dir;
    GrantedTree() {
        dir.dir("data");
        dir.dir("data/sub");
        dir.file("secret.txt", "outside");
        dir.file("data/inside.txt", "inside");
        dir.file("data/sub/deep.txt", "deep");
        dir.file("input.txt", "input text");
        (void)::symlink("inside.txt", (dir.path() + "/data/link_in").c_str());
        (void)::symlink("/etc/hostname", (dir.path() + "/data/link_out").c_str());
        (void)::symlink("../secret.txt", (dir.path() + "/data/link_up").c_str());
    }
    host::PluginConfig config() const {
        const std::string& d = dir.path();
        const std::string toml = "[plugin.sdk]\n"
                                 "exec = " + quoted(AIRLOCK_SDK_TEST_PLUGIN) + "\n"
                                 "protocol = \"airlock\"\n"
                                 "[plugin.sdk.grants]\n"
                                 "data = { dir = " + quoted(d + "/data") + ", access = \"read\" }\n"
                                 "input = { file = " + quoted(d + "/input.txt") + ", access = \"read\" }\n"
                                 "journal = { file = " + quoted(d + "/journal.log") + ", access = \"append\", create = true }\n"
                                 "scratch = { memfd = \"4KiB\" }\n";
        return host::load_config_text(toml, d + "/sdk.toml").plugins.at("sdk");
    }
};

constexpr auto kTimeout = std::chrono::seconds(5);

Outcome open_in(RunningPlugin& plugin, const std::string& path) {
    return plugin.call_ok<Text, Outcome>("open", Text{path}, kTimeout);
}

Outcome take_grant(RunningPlugin& plugin, const std::string& grant, const std::string& as) {
    return plugin.call_ok<GrantAttempt, Outcome>("grant", GrantAttempt{grant, as}, kTimeout);
}

} // namespace

TEST_CASE("SDK directory grant: paths beneath open, escapes are refused inside the sandbox", "[sdk][directory]") {
    GrantedTree tree;
    RunningPlugin plugin(tree.config());

    CHECK(open_in(plugin, "inside.txt").value == "inside");
    CHECK(open_in(plugin, "sub/deep.txt").value == "deep");
    CHECK(open_in(plugin, "sub/../inside.txt").value == "inside");
    CHECK(open_in(plugin, "link_in").value == "inside");

    for (const char* escape : {"../secret.txt", "sub/../../secret.txt", "link_up", "link_out"}) {
        INFO(escape);
        Outcome refused = open_in(plugin, escape);
        CHECK_FALSE(refused.ok);
        CHECK_THAT(refused.value, Catch::Contains("leaves the granted directory"));
        CHECK_THAT(refused.value, Catch::Contains("directory grant \"data\""));
    }
    Outcome absolute = open_in(plugin, tree.dir.path() + "/secret.txt");
    CHECK_FALSE(absolute.ok);
    CHECK_THAT(absolute.value, Catch::Contains("absolute paths are refused"));

    auto listed = plugin.client().call<Text, Outcome>("list", Text{"."}, kTimeout);
    REQUIRE(listed.ok());
    CHECK(listed->value == "inside.txt link_in@ link_out@ link_up@ sub/ ");
    auto escaped_list = plugin.client().call<Text, Outcome>("list", Text{".."}, kTimeout);
    REQUIRE(escaped_list.ok());
    CHECK_FALSE(escaped_list->ok);
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK grants: typed handles, missing names and wrong kinds", "[sdk][grants]") {
    GrantedTree tree;
    RunningPlugin plugin(tree.config());

    CHECK(take_grant(plugin, "input", "file").value == "input text");
    CHECK(take_grant(plugin, "data", "dir").value == "5 entries");
    CHECK(take_grant(plugin, "journal", "log").value == "journal");
    CHECK(take_grant(plugin, "scratch", "memory").value == "4096 bytes");

    Outcome missing = take_grant(plugin, "config", "file");
    CHECK_FALSE(missing.ok);
    CHECK(missing.value ==
          "grant \"config\" (wanted as a read-only file) is not granted to plugin \"sdk\"; granted: data, input, journal, "
          "scratch. Add it under [plugin.sdk.grants] in the host's config");

    Outcome dir_as_file = take_grant(plugin, "data", "file");
    CHECK_FALSE(dir_as_file.ok);
    CHECK(dir_as_file.value ==
          "grant \"data\" is a dir grant with access \"read\", not a read-only file (which needs file = \"...\" with access = \"read\")");
    Outcome read_as_log = take_grant(plugin, "input", "log");
    CHECK_FALSE(read_as_log.ok);
    CHECK_THAT(read_as_log.value, Catch::Contains("is a file grant with access \"read\", not an append-only log"));
    CHECK_FALSE(take_grant(plugin, "scratch", "socket").ok);
    CHECK_FALSE(take_grant(plugin, "journal", "memory").ok);

    auto appended = plugin.client().call<Text, Outcome>("append", Text{"record 1\n"}, kTimeout);
    REQUIRE(appended.ok());
    CHECK(appended->ok);
    CHECK(tree.dir.read("journal.log") == "record 1\n");

    auto memory = plugin.client().call<Text, Outcome>("memory", Text{"through shared memory"}, kTimeout);
    REQUIRE(memory.ok());
    INFO(memory->value);
    CHECK(memory->ok);
    CHECK(memory->value == "through shared memory");
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK handlers: exceptions become error replies, registration errors say what is wrong", "[sdk][handlers]") {
    GrantedTree tree;
    RunningPlugin plugin(tree.config());

    auto failed = plugin.client().call<Text, Text>("fail", Text{"the handler gave up"}, kTimeout);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == StatusCode::HandlerFailed);
    CHECK_THAT(failed.status().message(), Catch::Contains("the handler gave up"));

    auto late = plugin.client().call<Text, Outcome>("late", Text{}, kTimeout);
    REQUIRE(late.ok());
    CHECK_FALSE(late->ok);
    CHECK(late->value == "method \"too-late\" registered after run(): register every handler before calling run()");

    auto startup = plugin.client().call<Text, Text>("startup", Text{}, kTimeout);
    REQUIRE(startup.ok());
    CHECK(startup->text == "method \"fail\" is already registered (a method has one handler)");

    // The plugin's log record arrived before ready, through the client's sink.
    REQUIRE_FALSE(plugin.logs().empty());
    CHECK(plugin.logs().front() == "sdk test plugin starting");
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK asynchronous handlers: a call waiting on a timer does not block the next call, cancellation "
          "reaches the handler", "[sdk][async]") {
    GrantedTree tree;
    RunningPlugin plugin(tree.config());
    const host::PluginMethod* wait = plugin.client().find("wait");
    const host::PluginMethod* hold = plugin.client().find("hold");
    REQUIRE(wait);
    REQUIRE(hold);
    host::PluginClient& client = plugin.client();
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(encode_value(Text{"a while"}, body, fds).ok());
    std::optional<Result<Message>> waited;
    REQUIRE(client.start_call_raw("wait", body, fds, [&](Result<Message> reply) { waited.emplace(std::move(reply)); },
                                  std::chrono::seconds(30)).ok());
    // Served while "wait" is pending: the plugin answers "wait" only after this call.
    auto poked = plugin.call_ok<Text, Text>("poke", Text{"meanwhile"});
    CHECK(poked.text == "poked meanwhile");
    while (!waited) REQUIRE(client.poll_once(std::chrono::seconds(30)).ok());
    REQUIRE(waited->ok());
    auto waited_text = decode_value<Text>((*waited)->body, std::move((*waited)->fds));
    REQUIRE(waited_text.ok());
    CHECK(waited_text->text == "waited a while");

    std::optional<Status> held;
    auto id = client.start_call_raw("hold", body, fds, [&](Result<Message> reply) { held = reply.status(); },
                                    std::chrono::seconds(30));
    REQUIRE(id.ok());
    CHECK(client.cancel(*id));
    REQUIRE(held);
    CHECK(held->code() == StatusCode::Cancelled);
    CHECK(plugin.call_ok<Text, Text>("held", Text{}).text == "deadline=1 cancelled=1");
    CHECK(plugin.stop().exit_code == 0);
}
