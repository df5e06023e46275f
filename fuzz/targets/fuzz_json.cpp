// Fuzz target: JSON <-> message bodies (dynamic_value.hpp), as `airlockctl call` requests
// reach the control server (CallRequest.json_request, up to 4 MiB) and replies come back.
// Properties, for JSON text the fuzzer makes up and a type picked by the selector:
//  - encode_json either refuses it or gives a body that decode_to_json accepts, and
//    decode_to_json's JSON is canonical: encode_json(it) is the same body and decodes to
//    the same text (where the mapping is not lossy, support/json_round_trip.hpp);
//  - json_quote of any text is a JSON string encode_json accepts, and terminal-safe
//    (support/terminal_safe.hpp), as are printable_text of it and decode_to_json's JSON
//    (airlockctl prints a plugin's reply and its error text);
//  - json_pretty never throws or crashes, whatever the text (airlockctl pretty-prints the
//    text the server sends; for invalid JSON its output is unspecified).
// Input: selector:u8, then the JSON text (may be a recipe, see support/fuzz_input.hpp, so a
// short input can stand for a large document of up to 128 KiB, e.g. an object with 14,000
// members; see kMaxExpandedJson).

#include "../support/fuzz_input.hpp"
#include "../support/json_round_trip.hpp"
#include "../support/sample_types.hpp"
#include "../support/terminal_safe.hpp"

#include <airlock/connection/codec.hpp>
#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/printable_text.hpp>
#include <airlock/protocol/control_protocol.hpp>

namespace {

using namespace airlock;

/// The types JSON is converted through: a few real messages and the sample types.
const std::vector<ParsedType>& types() {
    static const std::vector<ParsedType> parsed = [] {
        std::vector<std::string> texts = {
            describe(spec_of<fuzz::Tree>()),
            describe(spec_of<protocol::GrantTable>()),
            describe(spec_of<protocol::ReadyNotice>()),
            describe(spec_of<protocol::ProgressReport>()),
            describe(spec_of<protocol::StatusReply>()),
            describe(spec_of<Vector<std::int64_t, 1000000>>()),
            describe(spec_of<Bytes<1000000>>()),
            describe(spec_of<String<4194304>>()),
        };
        std::vector<ParsedType> out;
        for (const std::string& text : texts) out.push_back(std::move(*ParsedType::parse(text)));
        return out;
    }();
    return parsed;
}

// JSON recipes expand to up to 128 KiB rather than the default 64 KiB: an object with
// ~14,000 members (the most that fits) makes a duplicate-name check quadratic in the member
// count take several seconds under ASan (the regression input regression-many-keys), while
// 64 KiB (~7,400 members) took about 1.6 s, too close to the 1 s timeout, which libFuzzer
// only notices on its once-a-second check. Linear work on 128 KiB stays far below it.
constexpr std::size_t kMaxExpandedJson = 128u << 10;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::InputReader in(data, size);
    const ParsedType& type = types()[in.u8() % types().size()];
    std::string text = fuzz::as_text(fuzz::expand(in.rest(), kMaxExpandedJson));

    (void)json_pretty(text);
    std::string quoted = json_quote(text);
    if (auto body = encode_json(types().back().spec(), quoted); !body)
        fuzz::property_failed("encode_json refuses json_quote's output", body.status().to_string());
    fuzz::check_terminal_safe("json_quote's output is not terminal-safe", quoted);
    fuzz::check_terminal_safe("printable_text's output is not terminal-safe", printable_text(text));

    auto body = encode_json(type.spec(), text);
    if (!body) return 0;
    auto json = decode_to_json(type.spec(), *body);
    if (!json) fuzz::property_failed("decode_to_json refuses what encode_json produced", json.status().to_string());
    fuzz::check_terminal_safe("decode_to_json's JSON is not terminal-safe", *json);
    // encode_json takes string bytes as they are, UTF-8 or not; decode_to_json then writes
    // U+FFFD for the bad ones (lossy by design, support/json_round_trip.hpp).
    if (!fuzz::json_round_trip_holds(type.spec(), *json)) return 0;
    auto again = encode_json(type.spec(), *json);
    if (!again) fuzz::property_failed("encode_json refuses canonical JSON", *json + "\n" + again.status().to_string());
    if (*again != *body) fuzz::property_failed("encode_json(decode_to_json(body)) != body", *json);
    auto canonical = decode_to_json(type.spec(), *again);
    if (!canonical || *canonical != *json) fuzz::property_failed("decode_to_json is not canonical", *json);
    return 0;
}
