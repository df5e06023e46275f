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
///
/// ## Limits
/// Descriptions, JSON and bodies may come from untrusted peers (a plugin's announcement and
/// replies, a control client's request), so every count, depth and size is bounded by the
/// constants below, each refused with an error naming the limit (docs/wire-format.md).

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

/// Longest type description `ParsedType::parse` accepts (MethodAnnouncement's field size).
inline constexpr std::size_t kMaxTypeDescriptionLength = 16384;
/// Deepest nesting of vector/optional/struct in a type description.
inline constexpr std::size_t kMaxTypeDepth = 64;
/// Longest struct, enum, member or enumerator name in a type description.
inline constexpr std::size_t kMaxTypeNameLength = 128;
/// Most members of one struct / enumerators of one enum in a type description (at least one:
/// AIRLOCK_STRUCT / AIRLOCK_ENUM cannot declare empty ones).
inline constexpr std::size_t kMaxTypeMembers = 256;
/// Deepest nesting of arrays/objects in JSON input.
inline constexpr std::size_t kMaxJsonDepth = 128;
/// Most members of one JSON object.
inline constexpr std::size_t kMaxJsonObjectMembers = 4096;
/// Most values (at any depth) in one JSON document.
inline constexpr std::size_t kMaxJsonValues = 262144;
/// Largest body `encode_json` produces (the connection's default message limit).
inline constexpr std::size_t kMaxEncodedBody = std::size_t{64} << 20;
/// Largest JSON text `decode_to_json` produces (the control protocol's CallReply field size).
inline constexpr std::size_t kMaxDecodedJson = std::size_t{16} << 20;

/// A type tree rebuilt from a canonical `describe()` text. Owns every node; moving it keeps
/// `spec()` valid. `describe(parsed.spec())` gives back the text it was parsed from.
class ParsedType {
public:
    /// Parses `description` (the grammar `describe()` produces). InvalidParameter with the
    /// offset and what was expected when the text is not a valid description or breaks a
    /// limit above (length, depth, name length, member count, an empty struct or enum).
    /// Every node's `min_encoded_size` is set.
    static Result<ParsedType> parse(std::string_view description);

    /// The root of the tree.
    [[nodiscard]] const TypeSpec& spec() const { return *nodes_.front(); }

private:
    ParsedType() = default;
    friend class TypeDescriptionParser;
    std::vector<std::unique_ptr<TypeSpec>> nodes_;  // nodes_[0] is the root
};

/// Converts the JSON text `json` to a message body of type `spec`, verifying every bound and
/// enumerator exactly like the typed codec, and the JSON limits above (depth, members per
/// object, values, body size). InvalidParameter naming the member path on failure.
Result<std::vector<std::uint8_t>> encode_json(const TypeSpec& spec, std::string_view json);

/// Converts a message body of type `spec` to compact JSON, verifying it like the typed codec
/// (lengths, enumerators, bool/presence bytes, trailing bytes). `fd_count` is the number of
/// descriptors that travelled with the body (each must be referenced exactly once). Every
/// count is bounded by the bytes left divided by the element's `min_encoded_size` (a vector
/// of 0-byte elements is refused) and the text by kMaxDecodedJson, so time and memory stay
/// linear in the body. Malformed naming the member path on failure.
Result<std::string> decode_to_json(const TypeSpec& spec, std::span<const std::uint8_t> body,
                                   std::size_t fd_count = 0);

/// `text` as a JSON string literal, quotes included (control characters escaped; bytes that
/// are not valid UTF-8 become U+FFFD).
std::string json_quote(std::string_view text);

/// Re-indents compact JSON for people (two spaces per level, at most 64 levels of indent).
/// Meant for valid JSON; unbalanced brackets never make it fail.
std::string json_pretty(std::string_view json);

} // namespace airlock
