#pragma once
/// @file type_spec.hpp
/// Runtime description of a message type (the seed's LWMsgTypeSpec).
///
/// Every type that can travel in a message has one `TypeSpec`, built once from the C++
/// declaration (see types.hpp). Specs drive three things: the protocol fingerprint both
/// peers compare in the handshake, human-readable descriptions (`describe`), and generic
/// tools that convert messages without knowing the C++ type.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace airlock {

/// What kind of value a type is.
enum class TypeKind : std::uint8_t {
    Integer,   ///< signed or unsigned, 1/2/4/8 bytes
    Bool,      ///< one byte, 0 or 1
    Enum,      ///< an integer restricted to declared enumerators
    String,    ///< UTF-8 text with a maximum length in bytes
    Bytes,     ///< opaque bytes with a maximum length
    Vector,    ///< a sequence of `element` with a maximum count
    Optional,  ///< an `element` or nothing
    Struct,    ///< named members, in order
    Fd,        ///< a file descriptor (the seed's LWMSG_FD); travels as SCM_RIGHTS
};

struct TypeSpec;

/// One member of a struct.
struct MemberSpec {
    std::string name;
    const TypeSpec* type = nullptr;
};

/// The description of one type. Specs are immutable and live for the whole program.
struct TypeSpec {
    TypeKind kind = TypeKind::Integer;
    std::string name;                 ///< "int32", "string", or the struct/enum name
    bool is_signed = false;           ///< integers and enums
    std::uint8_t width = 0;           ///< integers and enums: size in bytes on the wire
    std::uint64_t max_length = 0;     ///< strings and bytes: bytes; vectors: elements
    std::vector<std::pair<std::string, std::int64_t>> enumerators; ///< enums
    std::vector<MemberSpec> members;  ///< structs
    const TypeSpec* element = nullptr; ///< vectors and optionals
    /// The fewest bytes a value of this type takes on the wire (see `min_encoded_size`).
    /// Decoders divide the bytes left by it to bound a vector's count.
    std::uint64_t min_encoded_size = 0;
};

/// The fewest bytes a value of `spec` can take on the wire, computed from `spec`'s own kind
/// and its children's `min_encoded_size` (which must already be set): an integer or enum its
/// width, bool and optional 1, fd 4, string/bytes/vector 4 (the length prefix), a struct the
/// sum of its members. 0 only for a struct without members, which no declaration produces.
std::uint64_t min_encoded_size(const TypeSpec& spec);

/// A canonical one-line description, e.g. `struct Grant{name:string<255>,fd:fd}`.
/// Two specs describe the same wire format exactly when their descriptions are equal.
std::string describe(const TypeSpec& spec);

} // namespace airlock
