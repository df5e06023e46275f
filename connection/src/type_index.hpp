#pragma once
// Lookups by name and by value in the structs and enums of one dynamic conversion
// (dynamic_value.cpp). Internal to the connection library.
//
// A struct or enum has up to 256 names (kMaxTypeMembers), and the JSON and bodies converted
// come from untrusted peers: scanning every name for each value made a body of enum values
// cost 8 times as much as one of integers, and each object of a 256-member struct 65,536
// name comparisons. Each type's table is built the first time the conversion meets it.

#include "airlock/connection/json.hpp"
#include "airlock/connection/type_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace airlock::detail {

class TypeIndex {
public:
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    /// The position of the member `name` in the struct `spec`, or kNone.
    std::size_t member(const TypeSpec& spec, std::string_view name) {
        auto [table, added] = names_.try_emplace(&spec);
        if (added)
            for (std::size_t i = 0; i < spec.members.size(); ++i) table->second.emplace(spec.members[i].name, i);
        return find(table->second, name);
    }
    /// The position of the enumerator called `name` in the enum `spec`, or kNone.
    std::size_t enumerator(const TypeSpec& spec, std::string_view name) {
        auto [table, added] = names_.try_emplace(&spec);
        if (added)
            for (std::size_t i = 0; i < spec.enumerators.size(); ++i) table->second.emplace(spec.enumerators[i].first, i);
        return find(table->second, name);
    }
    /// The name of the first enumerator of the enum `spec` whose value is `value`, as a JSON
    /// string (quoted once per conversion, not per value), or nullptr.
    const std::string* enumerator_json(const TypeSpec& spec, std::int64_t value) {
        auto [table, added] = values_.try_emplace(&spec);
        if (added)  // emplace keeps the first of equal values, as a scan in order finds it
            for (const auto& [name, number] : spec.enumerators) table->second.emplace(number, json_quote(name));
        auto found = table->second.find(value);
        return found == table->second.end() ? nullptr : &found->second;
    }

private:
    static std::size_t find(const std::unordered_map<std::string_view, std::size_t>& table, std::string_view key) {
        auto found = table.find(key);
        return found == table.end() ? kNone : found->second;
    }

    // The specs live longer than the conversion, so their names can be keys in place.
    std::unordered_map<const TypeSpec*, std::unordered_map<std::string_view, std::size_t>> names_;
    std::unordered_map<const TypeSpec*, std::unordered_map<std::int64_t, std::string>> values_;
};

} // namespace airlock::detail
