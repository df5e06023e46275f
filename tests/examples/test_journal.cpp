// The journal example under the real host confinement: records are appended, and history
// cannot be rewritten (pwrite at 0 and write after lseek(0) land at the end; ftruncate is a
// forbidden system call, and with on_violation = "kill" it ends the plugin).
#include "sdk_support.hpp"

#include "journal/journal_api.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>

using namespace airlock;
using namespace airlock::sdk_test;

TEST_CASE("journal: appends records, and history cannot be rewritten or truncated", "[example][journal]") {
    std::remove(AIRLOCK_JOURNAL_FILE);
    RunningPlugin journal(host::load_config(AIRLOCK_JOURNAL_TOML).plugins.at("journal"));
    auto& client = journal.client();
    for (const char* record : {"first", "second", "third"}) {
        auto reply = client.call<::journal::AppendRequest, ::journal::AppendReply>("append", {record}, std::chrono::seconds(5));
        INFO(reply.status().to_string());
        REQUIRE(reply.ok());
    }
    auto bad = client.call<::journal::AppendRequest, ::journal::AppendReply>("append", {"two\nlines"}, std::chrono::seconds(5));
    CHECK(bad.status().code() == StatusCode::HandlerFailed);

    auto rewrite = client.call<::journal::RewriteRequest, ::journal::RewriteReply>("rewrite", {"FORGED"}, std::chrono::seconds(5));
    INFO(rewrite.status().to_string());
    REQUIRE(rewrite.ok());
    INFO("pwrite " << rewrite->pwrite_at_0 << " seek " << rewrite->seek_to_0);

    std::ifstream in(AIRLOCK_JOURNAL_FILE);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    // History intact: the three records first, in order; whatever the forgery wrote came after.
    REQUIRE(content.rfind("first\nsecond\nthird\n", 0) == 0);
    std::string tail = content.substr(std::string("first\nsecond\nthird\n").size());
    std::string expected_tail;
    if (rewrite->pwrite_at_0 > 0) expected_tail += "FORGED\n";
    if (rewrite->seek_to_0 > 0) expected_tail += "FORGED\n";
    CHECK(tail == expected_tail);

    CHECK(journal.stop().exit_code == 0);

    // A second run (same test case: one journal file, so no parallel test can race on it).
    // journal.toml keeps the default on_violation = "kill": ftruncate ends the plugin and the
    // call gets no reply; the host saw the forbidden call itself; the journal is unchanged.
    RunningPlugin again(host::load_config(AIRLOCK_JOURNAL_TOML).plugins.at("journal"));
    auto truncated = again.client().call<::journal::TruncateRequest, ::journal::RewriteReply>("truncate", {0}, std::chrono::seconds(10));
    INFO(truncated.status().to_string());
    CHECK(truncated.status().code() == StatusCode::PeerClosed);
    CHECK(again.violations().wait_for("ftruncate", std::chrono::seconds(5)));
    auto lines = again.violations().lines();
    INFO(again.violations().error());
    CHECK(again.violations().error().empty());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("plugin journal (pid ") == 0);
    CHECK(lines[0].find("forbidden system call ftruncate") != std::string::npos);
    CHECK(lines[0].find("killed") != std::string::npos);
    auto exit = again.wait();
    INFO(exit.describe());
    CHECK(exit.signaled);
    CHECK(exit.signal == SIGKILL);
    std::ifstream after(AIRLOCK_JOURNAL_FILE);
    CHECK(std::string((std::istreambuf_iterator<char>(after)), {}) == content);
}
