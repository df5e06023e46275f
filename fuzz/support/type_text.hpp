#pragma once
// The property of type descriptions: describe∘parse is a fixed point. For an accepted text t,
// d = describe(parse(t)) parses again and describe(parse(d)) == d.
//
// dynamic_value.hpp promises more (describe(parse(t)) == t, i.e. only canonical texts are
// accepted), but ParsedType::parse accepts numbers with leading zeros ("string<064>" is read
// as "string<64>", "=-07" as -7), reported as a finding: such an announcement still means the
// type its canonical text names. Once parse accepts only canonical numbers, check t == d.

#include "fuzz_input.hpp"

#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/type_spec.hpp>

#include <string>
#include <string_view>

namespace airlock::fuzz {

inline void check_description_fixed_point(const TypeSpec& parsed, std::string_view text) {
    std::string once = describe(parsed);
    auto again = ParsedType::parse(once);
    if (!again) property_failed("describe() of a parsed type does not parse", std::string(text) + "\n" + once);
    if (describe(again->spec()) != once) property_failed("describe∘parse is not a fixed point", std::string(text) + "\n" + once);
}

} // namespace airlock::fuzz
