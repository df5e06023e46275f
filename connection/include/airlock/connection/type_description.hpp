#pragma once
/// @file type_description.hpp
/// Type descriptions parsed back into `TypeSpec` trees: the text `describe(spec_of<T>())`
/// produces, as a plugin announces it for each method's request and reply types.
/// @code
/// auto type = airlock::ParsedType::parse("struct Greet{name:string<64>,times:uint8}");
/// if (type) use(type->spec());
/// @endcode
/// Descriptions may come from untrusted peers (a plugin's announcement), so length, depth,
/// names and member counts are bounded by the constants below (docs/wire-format.md).

#include "airlock/connection/status.hpp"
#include "airlock/connection/type_spec.hpp"

#include <cstddef>
#include <memory>
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

} // namespace airlock
