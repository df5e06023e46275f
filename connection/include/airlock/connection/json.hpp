#pragma once
/// @file json.hpp
/// JSON text helpers of the dynamic codec (dynamic_value.hpp): string literals, indentation
/// for people, and the limits on JSON input. JSON may come from untrusted peers (a control
/// client's request), so `encode_json` refuses input past these limits with an error naming
/// the limit (docs/wire-format.md).

#include <cstddef>
#include <string>
#include <string_view>

namespace airlock {

/// Deepest nesting of arrays/objects in JSON input.
inline constexpr std::size_t kMaxJsonDepth = 128;
/// Most members of one JSON object.
inline constexpr std::size_t kMaxJsonObjectMembers = 4096;
/// Most values (at any depth) in one JSON document.
inline constexpr std::size_t kMaxJsonValues = 262144;

/// `text` as a JSON string literal, quotes included (control characters escaped, C1 controls
/// U+0080-U+009F too, so the text is safe to print on a terminal; bytes that are not valid
/// UTF-8 become U+FFFD).
std::string json_quote(std::string_view text);

/// Re-indents compact JSON for people (two spaces per level, at most 64 levels of indent).
/// Meant for valid JSON; unbalanced brackets never make it fail.
std::string json_pretty(std::string_view json);

} // namespace airlock
