#pragma once
// JSON text -> a tree of values, for the dynamic codec (encode_json). Internal to the
// connection library.

#include "airlock/connection/json.hpp"
#include "airlock/connection/status.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::detail {

/// One parsed JSON value.
struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    bool boolean = false;
    std::string text;  // number literal or decoded string
    std::vector<JsonValue> items;
    std::vector<std::pair<std::string, JsonValue>> members;
};

/// "null", "a boolean", "a number", ... for error messages.
const char* json_type_name(JsonValue::Type type);

/// Parses one JSON document (RFC 8259; surrounding white space allowed) within the limits
/// of json.hpp. InvalidParameter naming the line and column on failure.
Result<JsonValue> read_json(std::string_view text);

} // namespace airlock::detail
