// The grep example under the real host confinement with its real TOML.
#include "sdk_support.hpp"

#include "grep/grep_api.hpp"

#include <filesystem>

using namespace airlock;
using namespace airlock::sdk_test;

TEST_CASE("grep: finds the right file, line number and line in a test-made tree", "[example][grep]") {
    namespace fs = std::filesystem;
    const fs::path tree = AIRLOCK_GREP_TREE;
    fs::remove_all(tree);
    fs::create_directories(tree / "src" / "deep");
    std::ofstream(tree / "README") << "nothing here\nthe needle is in src\n";
    std::ofstream(tree / "src" / "a.txt") << "alpha\nbeta needle gamma\n\nneedle at start\n";
    std::ofstream(tree / "src" / "deep" / "b.txt") << "no\nno\nno\nlast line has the needle";
    std::ofstream(tree / "src" / "c.txt") << "nothing\n";
    fs::create_symlink("/etc/passwd", tree / "src" / "link-out");  // not followed
    for (auto& entry : fs::recursive_directory_iterator(tree))
        if (!entry.is_symlink()) fs::permissions(entry.path(), entry.is_directory() ? fs::perms(0755) : fs::perms(0644));

    RunningPlugin grep(host::load_config(AIRLOCK_GREP_TOML).plugins.at("grep"));
    auto reply = grep.client().call<::grep::SearchRequest, ::grep::SearchReply>("search", {"needle", "", 100},
                                                                                  std::chrono::seconds(10));
    INFO(reply.status().to_string());
    REQUIRE(reply.ok());
    REQUIRE(reply->matches.size() == 4);
    CHECK(reply->files_searched == 4);
    CHECK_FALSE(reply->truncated);
    auto match = [&](std::size_t i) { return reply->matches[i].file + ":" + std::to_string(reply->matches[i].line) + ":" + reply->matches[i].text; };
    CHECK(match(0) == "README:2:the needle is in src");
    CHECK(match(1) == "src/a.txt:2:beta needle gamma");
    CHECK(match(2) == "src/a.txt:4:needle at start");
    CHECK(match(3) == "src/deep/b.txt:4:last line has the needle");

    auto sub = grep.client().call<::grep::SearchRequest, ::grep::SearchReply>("search", {"needle", "src/deep", 100},
                                                                                std::chrono::seconds(10));
    REQUIRE(sub.ok());
    REQUIRE(sub->matches.size() == 1);

    auto limited = grep.client().call<::grep::SearchRequest, ::grep::SearchReply>("search", {"needle", "", 2},
                                                                                    std::chrono::seconds(10));
    REQUIRE(limited.ok());
    CHECK(limited->matches.size() == 2);
    CHECK(limited->truncated);

    // Leaving the tree is refused, and the plugin keeps serving.
    auto escape = grep.client().call<::grep::SearchRequest, ::grep::SearchReply>("search", {"root", "../../../etc", 10},
                                                                                   std::chrono::seconds(10));
    CHECK(escape.status().code() == StatusCode::HandlerFailed);
    auto again = grep.client().call<::grep::SearchRequest, ::grep::SearchReply>("search", {"alpha", "", 10},
                                                                                  std::chrono::seconds(10));
    REQUIRE(again.ok());
    CHECK(again->matches.size() == 1);

    const auto exit = grep.stop();
    CHECK(exit.exit_code == 0);
}
