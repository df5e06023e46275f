#pragma once
// Where encode_json(decode_to_json(body)) == body can hold. Two parts of the JSON mapping are
// lossy by design, so valid bodies using them have no JSON of their own:
//  - an absent optional is null, and so are an absent descriptor (fd) and, inside an optional,
//    an absent inner optional: optional<fd> and optional<optional<T>> holding "present, but
//    empty" come back from JSON as "absent";
//  - strings are not required to be UTF-8 on the wire, but JSON text is: decode_to_json
//    writes each byte that is not valid UTF-8 as U+FFFD (which may also make the string
//    longer than its declared maximum once encoded again).
// The round trip is checked for types without those nestings and JSON without U+FFFD.

#include <airlock/connection/type_spec.hpp>

#include <string_view>

namespace airlock::fuzz {

inline bool json_round_trip_holds_for_type(const TypeSpec& spec) {
    switch (spec.kind) {
    case TypeKind::Optional:
        if (spec.element->kind == TypeKind::Optional || spec.element->kind == TypeKind::Fd) return false;
        return json_round_trip_holds_for_type(*spec.element);
    case TypeKind::Vector: return json_round_trip_holds_for_type(*spec.element);
    case TypeKind::Struct:
        for (const MemberSpec& member : spec.members)
            if (!json_round_trip_holds_for_type(*member.type)) return false;
        return true;
    default: return true;
    }
}

/// True when `json`, produced by decode_to_json through `spec`, must convert back to the body.
inline bool json_round_trip_holds(const TypeSpec& spec, std::string_view json) {
    return json.find("\xEF\xBF\xBD") == std::string_view::npos && json_round_trip_holds_for_type(spec);
}

} // namespace airlock::fuzz
