// Hostile peers: what an untrusted peer's bytes may and may not make this side do or print.
#include "test_support.hpp"

#include <airlock/connection/json.hpp>
#include <airlock/connection/printable_text.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

using airlock::CallSession;
using airlock::Connection;
using airlock::StatusCode;
using airlock::UniqueFd;

namespace {

// Terminal escapes a hostile peer would like to reach an operator's terminal: OSC (sets the
// window title), BEL, CSI "clear screen" in 7-bit form, and CSI as the 8-bit C1 control U+009B.
const std::string kEscapes = "\x1b]0;pwned\x07\x1b[2J\xc2\x9b" "31m\r\nairlockctl: fake line";

bool has_control_character(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) return true;
        if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) return true;
    }
    return false;
}

} // namespace

TEST_CASE("hostile peers: an error reply's text reaches the caller without control characters", "[hostile]") {
    auto ends = test::seqpacket_pair();
    test::ForkedPeer peer(ends, [](UniqueFd fd) {
        Connection c = test::established(std::move(fd));
        CallSession session(c);
        (void)session.on(test::fail_always, [](test::Echo&) -> test::Echo { throw std::runtime_error(kEscapes); });
        return session.serve().code() == StatusCode::PeerClosed ? 0 : 1;
    });
    Connection c = test::established(std::move(ends.first));
    CallSession session(c);
    auto failed = session.call(test::fail_always, test::Echo{});
    CHECK(failed.status().code() == StatusCode::HandlerFailed);
    const std::string message = failed.status().message();
    CHECK_FALSE(has_control_character(message));
    CHECK(message == "fail: remote: ?]0;pwned??[2J?31m??airlockctl: fake line");
    c.close();
    CHECK(peer.wait() == 0);
}

TEST_CASE("hostile peers: printable_text masks controls and bytes that are not UTF-8, keeps other text", "[hostile]") {
    CHECK(airlock::printable_text("plain text, ünïcödé ✓ 😀") == "plain text, ünïcödé ✓ 😀");
    CHECK(airlock::printable_text(kEscapes) == "?]0;pwned??[2J?31m??airlockctl: fake line");
    CHECK(airlock::printable_text("\x7f\xc2\x80\xc2\x9f\xc2\xa0") == "???\xc2\xa0");
    // Not UTF-8: a lone continuation, an overlong form, a surrogate, a cut sequence, beyond U+10FFFF.
    CHECK(airlock::printable_text("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x9c|\xf4\x90\x80\x80") == "?|??|???|??|????");
}

TEST_CASE("hostile peers: printable_text masks the invisible characters that reorder or split a line", "[hostile]") {
    // "Trojan Source": U+202E (right-to-left override) shows "plugin\u202Egnp.exe" as "pluginexe.png".
    CHECK(airlock::printable_text("plugin\u202Egnp.exe") == "plugin?gnp.exe");
    CHECK(airlock::printable_text("a\u061Cb\u200Ec\u200Fd\u202Ae\u202Bf\u202Cg\u202Dh") == "a?b?c?d?e?f?g?h");
    CHECK(airlock::printable_text("\u2066x\u2067y\u2068z\u2069") == "?x?y?z?");
    CHECK(airlock::printable_text("line\u2028[host] forged\u2029") == "line?[host] forged?");
    // Their neighbours stay: zero-width joiner (emoji), en dash, the word joiner.
    CHECK(airlock::printable_text("\u200D\u2013\u2060\u206A") == "\u200D\u2013\u2060\u206A");
}

TEST_CASE("hostile peers: json_quote escapes C1 controls, so a reply printed as JSON carries no CSI", "[hostile]") {
    CHECK(airlock::json_quote("a\xc2\x9b" "2J\xc2\x80\xc2\xa0") == "\"a\\u009b2J\\u0080\xc2\xa0\"");
    CHECK(airlock::json_quote("\x1b[2J") == "\"\\u001b[2J\"");
    CHECK(airlock::json_quote("a\u202Eb\u2028c") == "\"a\\u202eb\\u2028c\"");  // bidi and line separators too
    // Found by fuzz_json's terminal-safety property: a lead byte F5-FF was taken for the start
    // of a 3-byte sequence and copied out, so the "JSON" was not UTF-8.
    CHECK(airlock::json_quote("\xff\xbe\xbe") == "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST_CASE("hostile peers: a progress report's text is printed without control characters", "[hostile]") {
    airlock::protocol::ProgressReport report;
    report.task = "scan\xc2\x9b" "2J";
    report.done = 1;
    report.total = 2;
    report.message = "\x1b]0;title\x07";
    CHECK(airlock::protocol::format_progress(report) == "progress: scan?2J 1/2 (50%): ?]0;title?");
}

TEST_CASE("hostile peers: a call id reused while its first call waits for a deferred reply is refused", "[hostile]") {
    auto [raw, served] = test::ready_pair();
    CallSession session(served);
    std::vector<airlock::PendingReply<test::Echo>> held;
    REQUIRE(session.on(test::echo, [&held](test::Echo&, airlock::PendingReply<test::Echo> reply) {
        held.push_back(std::move(reply));
    }).ok());
    std::vector<std::uint8_t> body;
    std::vector<int> no_fds;
    REQUIRE(airlock::encode_value(test::Echo{}, body, no_fds).ok());
    const airlock::OutgoingMessage request{test::echo.tag, airlock::MessageKind::Request, 7, body, no_fds};
    REQUIRE(raw.send(request).ok());
    REQUIRE(raw.send(request).ok());  // the same call id again, the first still unanswered
    REQUIRE(served.on_readable().ok());
    REQUIRE(session.dispatch_pending().ok());
    CHECK(held.size() == 1);  // the handler saw the first request only
    REQUIRE(held.at(0).complete(test::Echo{}).ok());
    REQUIRE(session.dispatch_pending().ok());
    std::vector<airlock::MessageKind> answers;
    // Both answers were sent by this thread already: read what is there without waiting.
    for (auto message = raw.receive_for(std::chrono::milliseconds(0)); message;
         message = raw.receive_for(std::chrono::milliseconds(0))) {
        CHECK(message->call_id == 7);
        answers.push_back(message->kind);
    }
    CHECK(answers == std::vector<airlock::MessageKind>{airlock::MessageKind::ErrorReply, airlock::MessageKind::Reply});
}

TEST_CASE("hostile peers: the protocol name of a mismatched hello is reported without control characters",
          "[hostile]") {
    auto [ours, theirs] = test::seqpacket_pair();
    Connection c(test::protocol());
    REQUIRE(c.set_fd(airlock::ConnectionMode::Pair, std::move(ours)).ok());
    // A hello (§2) with a wrong fingerprint and a name made of escapes, longer than 255 bytes.
    const std::string name = kEscapes + std::string(300, 'x');
    std::vector<std::uint8_t> packet(8 + 26 + name.size());
    auto put = [&packet](std::size_t at, std::uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i) packet[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
    };
    put(0, 1, 1);  // Hello
    put(1, 3, 1);
    put(4, 26 + name.size(), 4);
    put(8, 0x4b434c41, 4);
    put(12, 1, 2);
    put(16, 131072, 4);
    put(24, 0x1234, 8);
    put(32, name.size(), 2);
    std::memcpy(packet.data() + 34, name.data(), name.size());
    REQUIRE(::send(theirs.get(), packet.data(), packet.size(), 0) == static_cast<ssize_t>(packet.size()));
    airlock::Status status = c.establish();
    CHECK(status.code() == StatusCode::ProtocolMismatch);
    CHECK_FALSE(has_control_character(status.message()));
    CHECK_THAT(status.message(), Catch::Contains("the peer speaks \"?]0;pwned??[2J?31m??airlockctl: fake line"));
    CHECK(status.message().size() < 600);  // the name cut to 255 bytes
}
