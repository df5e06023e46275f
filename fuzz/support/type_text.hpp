#pragma once
// The property of type descriptions that dynamic_value.hpp promises: ParsedType::parse
// accepts only canonical texts, so for an accepted text t, describe(parse(t)) == t (a plugin's
// announcement means exactly the type it names, and is compared with the host's as text).

#include "fuzz_input.hpp"

#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/type_spec.hpp>

#include <string>
#include <string_view>

namespace airlock::fuzz {

/// `parsed` was parsed from `text`: describing it must give `text` back, byte for byte.
inline void check_description_round_trip(const TypeSpec& parsed, std::string_view text) {
    std::string described = describe(parsed);
    if (described != text) property_failed("describe(parse(t)) != t", std::string(text) + "\n" + described);
}

} // namespace airlock::fuzz
