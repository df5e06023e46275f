// The journal example under the real host confinement: records are appended, and history
// cannot be rewritten (pwrite at 0 and write after lseek(0) land at the end).
#include "sdk_support.hpp"

#include "journal/journal_api.hpp"

#include <cerrno>
#include <cstdio>
#include <fstream>

using namespace airlock;
using namespace airlock::sdk_test;

TEST_CASE("journal: appends records, and history cannot be rewritten", "[example][journal]") {
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
}
