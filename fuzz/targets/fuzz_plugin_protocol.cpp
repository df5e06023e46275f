// Fuzz target: the messages of the host<->plugin protocol (plugin_protocol.hpp) as the host
// receives them from an untrusted plugin (ready notice with its method announcements, log
// records, progress reports, stop replies) and as the plugin receives them (grant table, stop
// request), with the properties of support/codec_properties.hpp. Beyond decoding, what the
// host does with them: every announced type description is parsed (describe(parse(t)) == t,
// support/type_text.hpp) and compared by check_announced_types; progress reports are
// formatted, and the line airlockctl prints is terminal-safe (support/terminal_safe.hpp).
// The connection handshake (hello packet) of this protocol is fuzzed by fuzz_packet_framing.
// Input: selector:u8 (message and descriptor count), then the body.

#include "../support/codec_properties.hpp"
#include "../support/terminal_safe.hpp"
#include "../support/type_text.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

namespace {

using namespace airlock;
using namespace airlock::protocol;

void check_type_text(std::string_view text) {
    if (auto parsed = ParsedType::parse(text)) fuzz::check_description_round_trip(parsed->spec(), text);
}

void use_like_the_host(std::span<const std::uint8_t> body, std::uint8_t selector) {
    if (selector % 8 == 1) {
        auto ready = decode_value<ReadyNotice>(body, {});
        if (!ready) return;
        for (const MethodAnnouncement& method : ready->methods) {
            check_type_text(method.request_type);
            check_type_text(method.reply_type);
            (void)check_announced_types(method.name, method.request_type, method.reply_type,
                                        describe(spec_of<LogRecord>()), describe(spec_of<ProgressAck>()));
        }
    } else if (selector % 8 == 4) {
        auto report = decode_value<ProgressReport>(body, {});
        if (report) fuzz::check_terminal_safe("format_progress is not terminal-safe", format_progress(*report));
    } else if (selector % 8 == 2) {
        auto record = decode_value<LogRecord>(body, {});
        if (record) (void)log_level_name(record->level);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::InputReader in(data, size);
    std::uint8_t selector = in.u8();
    std::size_t fd_count = (selector >> 4) % 4;
    auto body = in.rest();
    switch (selector % 8) {
    case 0: fuzz::check_codec_properties<GrantTable>(body, fd_count); break;
    case 1: fuzz::check_codec_properties<ReadyNotice>(body, fd_count); break;
    case 2: fuzz::check_codec_properties<LogRecord>(body, fd_count); break;
    case 3: fuzz::check_codec_properties<StopRequest>(body, fd_count); break;
    case 4: fuzz::check_codec_properties<ProgressReport>(body, fd_count); break;
    case 5: fuzz::check_codec_properties<StopReply>(body, fd_count); break;
    case 6: fuzz::check_codec_properties<ProgressAck>(body, fd_count); break;
    default: fuzz::check_codec_properties<CallError>(body, fd_count); break;
    }
    use_like_the_host(body, selector);
    return 0;
}
