#pragma once
/// @file dynamic_value.hpp
/// Messages whose type is known only at run time: type descriptions parsed back into
/// `TypeSpec` trees, and conversion between JSON text and encoded message bodies.
///
/// A plugin announces each method's request and reply types as `describe()` texts (see
/// `airlock::protocol::MethodAnnouncement`). A generic tool such as `airlockctl call` parses
/// those texts with `ParsedType::parse` and converts JSON through the resulting spec:
/// @code
/// auto type = airlock::ParsedType::parse("struct Greet{name:string<64>,times:uint8}");
/// auto body = airlock::encode_json(type->spec(), R"({"name":"world","times":2})");
/// // ... send *body, receive a reply body ...
/// auto json = airlock::decode_to_json(reply_type->spec(), reply.body);
/// @endcode
///
/// ## JSON mapping
/// | kind | JSON |
/// |------|------|
/// | `intN` / `uintN` | an integer number, checked against the width (64-bit values exact) |
/// | `bool` | `true` / `false` |
/// | `enum` | the enumerator's name as a string, e.g. `"Read"` (must be declared) |
/// | `string<N>` | a string; at most N bytes once UTF-8 encoded |
/// | `bytes<N>` | written as standard base64 (with `=` padding); read from base64 or from an array of numbers 0–255 |
/// | `vector<T,N>` | an array of at most N elements |
/// | `optional<T>` | `null` (absent) or the value |
/// | `struct` | an object; every member must be given except optional ones (absent when missing); unknown members are refused |
/// | `fd` | descriptors cannot travel as JSON: `null` (or a missing member) means "no descriptor", anything else is refused. A decoded descriptor is shown as `"<fd N>"`, N being its index in the message |
///
/// Every failure is `InvalidParameter` (JSON input) or `Malformed` (message body) with a
/// message naming the member path, e.g. `grants[2].name: length 70 exceeds the declared maximum 64`.

#include "airlock/connection/status.hpp"
#include "airlock/connection/type_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock {

/// A type tree rebuilt from a canonical `describe()` text. Owns every node; moving it keeps
/// `spec()` valid. `describe(parsed.spec())` gives back the text it was parsed from.
class ParsedType {
public:
    /// Parses `description` (the grammar `describe()` produces). InvalidParameter with the
    /// offset and what was expected when the text is not a valid description.
    static Result<ParsedType> parse(std::string_view description);

    /// The root of the tree.
    [[nodiscard]] const TypeSpec& spec() const { return *nodes_.front(); }

private:
    ParsedType() = default;
    friend class TypeDescriptionParser;
    std::vector<std::unique_ptr<TypeSpec>> nodes_;  // nodes_[0] is the root
};

/// Converts the JSON text `json` to a message body of type `spec`, verifying every bound and
/// enumerator exactly like the typed codec. InvalidParameter naming the member path on failure.
Result<std::vector<std::uint8_t>> encode_json(const TypeSpec& spec, std::string_view json);

/// Converts a message body of type `spec` to compact JSON, verifying it like the typed codec
/// (lengths, enumerators, bool/presence bytes, trailing bytes). `fd_count` is the number of
/// descriptors that travelled with the body (each must be referenced exactly once).
/// Malformed naming the member path on failure.
Result<std::string> decode_to_json(const TypeSpec& spec, std::span<const std::uint8_t> body,
                                   std::size_t fd_count = 0);

/// `text` as a JSON string literal, quotes included (control characters escaped; bytes that
/// are not valid UTF-8 become U+FFFD).
std::string json_quote(std::string_view text);

/// Re-indents compact JSON for people (two spaces per level). `json` must be valid JSON.
std::string json_pretty(std::string_view json);

} // namespace airlock
