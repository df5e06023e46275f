// Red team: the host's records of violations are keyed by what the plugin did, and a 32-bit
// (int 0x80) call can carry any number, each a kind of its own. The report limiter kept one
// window per (number, action) and let the first 10 of each kind through, so distinct numbers
// were never limited: 300,000 such calls wrote 300,000 report lines, and since a window that
// had suppressed nothing was never removed, the host's memory and its work per notification
// grew with every one (measured before the fix: 75 MiB, 5 minutes of host CPU for a run the
// plugin finishes in under a second). Learn mode kept one "refused" entry per number too.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;
constexpr int kCalls = 20000;

std::string redteam_config(const TempDir& dir, const std::string& namespaces, const std::string& on_violation) {
    return dir.file("redteam.toml", redteam_plugin_toml(kRedteam, namespaces) +
                                        "[plugin.redteam.syscalls]\n"
                                        "on_violation = " + quoted(on_violation) + "\n");
}

// Violations accounted for on stderr: one per report line, plus the counts of the summaries.
long accounted_violations(const std::string& err) {
    static const std::regex summary(".*\\): ([0-9,]+) more (like this|of other kinds) .*");
    long total = 0;
    for (const std::string& line : split_lines(err)) {
        std::smatch match;
        if (std::regex_match(line, match, summary)) {
            std::string digits = match[1];
            std::erase(digits, ',');
            total += std::stol(digits);
        } else if (line.find("forbidden system call") != std::string::npos) {
            ++total;
        }
    }
    return total;
}

} // namespace

TEST_CASE("violations of made-up kinds are reported within a bounded number of lines", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string config = redteam_config(dir, namespaces, "errno");
        Run run = run_host({"exec", config, "redteam", "--", "distinct-violations", std::to_string(kCalls)});
        const auto lines = split_lines(run.err);
        INFO(namespaces << "\n" << run.out << lines.size() << " lines on stderr, the first: "
                        << (lines.empty() ? "" : lines.front()));
        CHECK(run.status == 0);
        CHECK(has_line(run.out, "note refused=" + std::to_string(kCalls)));
        // At most 17 kinds (16 and the others together) of 10 lines per second, and summaries.
        CHECK(lines.size() <= 400);
        CHECK(has_line(run.err, ".*more of other kinds \\(the last: forbidden system call syscall_[0-9]+ \\([0-9]+, "
                                "i386 \\(int 0x80\\)\\): refused with EPERM\\) in the last .*"));
        CHECK(accounted_violations(run.err) == kCalls);  // counted, none lost
    }
}

TEST_CASE("learn mode keeps one record per ABI for calls of another architecture", "[e2e][redteam]") {
    TempDir dir;
    const std::string config = redteam_config(dir, "namespaces = \"auto\"", "learn");
    Run run = run_host({"exec", config, "redteam", "--", "distinct-violations", std::to_string(kCalls)});
    INFO(run.out << run.err.substr(0, 4000));
    CHECK(run.status == 0);
    CHECK(has_line(run.out, "note refused=" + std::to_string(kCalls)));
    CHECK(split_lines(run.err).size() <= 400);
    CHECK(has_line(run.err, "airlock-host: learn: plugin redteam: refused 20,000 call\\(s\\) of i386 \\(int 0x80\\), "
                            "the first syscall_65536 \\(no config can allow them\\): system calls of another "
                            "architecture .*"));
}
