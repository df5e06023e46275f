// Red team: text a plugin makes the host print (output lines under stdio = "log", log
// records, progress reports, JSON replies shown by airlockctl) must not drive the reader's
// terminal or forge log lines. C0 controls were masked already; C1 controls (U+0080..U+009F:
// CSI, OSC, ST, NEL), which xterm-like terminals obey in UTF-8 and as raw bytes, were not.
#include "e2e_support.hpp"

#include <airlock/connection/printable_text.hpp>
#include <airlock/connection/json.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <catch2/catch.hpp>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// No C0 control but tab, no DEL, no C1 control (UTF-8 encoded or raw), no invalid UTF-8.
bool terminal_safe(const std::string& line) {
    return line == airlock::printable_text(line);
}

// ESC or any byte 0x80..0x9F (a raw C1 control, or the second byte of a UTF-8 encoded one):
// the plugin's lines here are ASCII apart from those.
bool has_c1_or_escape(const std::string& text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == 0x1b || (byte >= 0x80 && byte <= 0x9f)) return true;
    }
    return false;
}

} // namespace

TEST_CASE("a plugin's C1 controls never reach the host's log lines", "[e2e][redteam]") {
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string config = dir.file("redteam.toml",
                                            redteam_plugin_toml(kRedteam, namespaces));
        // stdio = "log" (--prefix): every line is `[redteam] text`, masked.
        Run run = run_host({"exec", "--prefix", config, "redteam", "--", "c1-output"});
        INFO(namespaces << "\n" << run.out << run.err);
        CHECK(run.status == 0);
        CHECK(has_line(run.out, "\\[redteam\\] redteam c1-output: SUCCEEDED"));
        // U+009B "2J" (CSI: erase display), U+009D "0;pwned" BEL (OSC: window title), U+0085
        // (NEL: a new line), raw 0x9B, U+202E (right-to-left override), U+2028 (line
        // separator): each one '?'.
        const std::string masked = "A\\?2J\\?0;pwned\\?B\\?C\\?2JD\\?gnp\\.exe\\?E";
        CHECK(has_line(run.out, "\\[redteam\\] " + masked));
        CHECK(has_line(run.err, "\\[redteam\\] " + masked));
        CHECK_FALSE(has_c1_or_escape(run.out));
        CHECK_FALSE(has_c1_or_escape(run.err));
        for (const auto& line : split_lines(run.out + run.err)) CHECK(terminal_safe(line));
    }
}

TEST_CASE("progress text and JSON strings from a plugin are masked the same way", "[e2e][redteam]") {
    // The supervisor and `exec` print a plugin's progress reports with format_progress;
    // airlockctl prints replies as JSON (json_quote).
    airlock::protocol::ProgressReport report;
    const std::string hostile = "task\xc2\x9b" "2J\x9b" "1m\xc2\x9d" "52;c;AAAA\xc2\x9c";
    report.task = hostile;
    report.message = "msg\xc2\x85" "forged line";
    report.done = 1;
    report.total = 2;
    const std::string progress = airlock::protocol::format_progress(report);
    CHECK(progress == "progress: task?2J?1m?52;c;AAAA? 1/2 (50%): msg?forged line");
    CHECK(airlock::json_quote(hostile) == "\"task\\u009b2J\xEF\xBF\xBD" "1m\\u009d52;c;AAAA\\u009c\"");
    // Ordinary non-ASCII text is kept.
    CHECK(airlock::printable_text("grüße ✓ \t tab") == "grüße ✓ \t tab");
    CHECK(airlock::printable_text("a\r\nb\x1b[2Jc\x7f") == "a??b?[2Jc?");
}
