// Fuzz target: type descriptions (ParsedType::parse) and decoding a body through a parsed
// type (decode_to_json), as the control server does with a plugin's announced reply type and
// its reply. Properties: describe(parse(t)) == t (support/type_text.hpp); a
// body that decodes converts back to the same bytes (encode_json(decode_to_json(b)) == b when
// no descriptors travelled and the JSON mapping is not lossy, see
// support/json_round_trip.hpp); the JSON it gives is valid (json_pretty of it works); the
// refusals of parse and decode_to_json are terminal-safe (support/terminal_safe.hpp: they
// quote the plugin's description and reach the host's log).
// Input: mode:u8, description (u32 length), then the rest: either the body itself (may be a
// recipe, see support/fuzz_input.hpp, so a short input can stand for a large body) or, when
// bit 7 of mode is set, the choices from which support/body_writer.hpp writes a well-formed
// body of the parsed type. Bits 0-1 of mode: descriptors that travelled with the body.

#include "../support/body_writer.hpp"
#include "../support/fuzz_input.hpp"
#include "../support/terminal_safe.hpp"
#include "../support/json_round_trip.hpp"
#include "../support/type_text.hpp"

#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/type_spec.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace airlock;
    fuzz::InputReader in(data, size);
    std::uint8_t mode = in.u8();
    std::size_t fd_count = mode % 4;
    bool generated = mode & 0x80;
    std::string text = fuzz::as_text(in.part());

    auto parsed = ParsedType::parse(text);
    if (!parsed) {
        fuzz::check_terminal_safe("ParsedType::parse's refusal is not terminal-safe", parsed.status().message());
        return 0;
    }
    fuzz::check_description_round_trip(parsed->spec(), text);
    std::vector<std::uint8_t> body = generated ? fuzz::BodyWriter(in.rest()).write(parsed->spec()) : fuzz::expand(in.rest());

    auto json = decode_to_json(parsed->spec(), body, fd_count);
    if (!json) {
        fuzz::check_terminal_safe("decode_to_json's refusal is not terminal-safe", json.status().message());
        return 0;
    }
    (void)json_pretty(*json);
    if (fd_count == 0 && fuzz::json_round_trip_holds(parsed->spec(), *json)) {
        auto again = encode_json(parsed->spec(), *json);
        if (!again) fuzz::property_failed("encode_json refuses what decode_to_json produced", text + "\n" + *json);
        if (*again != body) fuzz::property_failed("encode_json(decode_to_json(body)) != body", text + "\n" + *json);
    }
    return 0;
}
