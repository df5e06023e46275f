#pragma once
/// @file types.hpp
/// Declaring message types: bounded containers and the AIRLOCK_STRUCT / AIRLOCK_ENUM macros.
///
/// A message type is a plain C++ struct described once:
/// @code
/// enum class Access { Read, Write };
/// AIRLOCK_ENUM(Access, Read, Write)
///
/// struct Grant {
///     airlock::String<255> name;     // at most 255 bytes
///     Access access{};
///     airlock::UniqueFd fd;          // a descriptor member (LWMSG_MEMBER_FD)
/// };
/// AIRLOCK_STRUCT(Grant, name, access, fd)
///
/// struct GrantTable { airlock::Vector<Grant, 64> grants; std::optional<std::uint32_t> flags; };
/// AIRLOCK_STRUCT(GrantTable, grants, flags)
/// @endcode
/// The macros must appear in the namespace of the type (they are found by argument-dependent
/// lookup). Supported member types: `bool`, `std::int8_t` … `std::uint64_t`, enums declared with
/// AIRLOCK_ENUM, `String<N>`, `Bytes<N>`, `Vector<T, N>`, `std::optional<T>`, structs declared
/// with AIRLOCK_STRUCT, `UniqueFd` and `LentFd` (lent_fd.hpp). Every variable-length type
/// carries its maximum, so a receiver never allocates more than the declaration allows.
///
/// `BytesView<N>` and `StringView<N>` travel exactly like `Bytes<N>` and `String<N>` (same
/// wire format, same type description), but decode to a view into the received message
/// instead of a copy. See their documentation for how long such a view stays valid.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace airlock {

/// UTF-8 text of at most `Max` bytes.
template <std::size_t Max>
class String : public std::string {
public:
    static constexpr std::size_t max_length = Max;
    using std::string::string;
    String() = default;
    String(std::string text) : std::string(std::move(text)) {}
    using std::string::operator=;
};

/// Opaque bytes, at most `Max` of them.
template <std::size_t Max>
class Bytes : public std::vector<std::uint8_t> {
public:
    static constexpr std::size_t max_length = Max;
    using std::vector<std::uint8_t>::vector;
    Bytes() = default;
    Bytes(std::vector<std::uint8_t> bytes) : std::vector<std::uint8_t>(std::move(bytes)) {}
};

/// At most `Max` bytes, not owned: a view into memory that lives elsewhere. Same wire type as
/// `Bytes<Max>`.
///
/// Sending: the view refers to the caller's bytes, which must stay valid until the send call
/// returns; a large one goes out straight from them (no copy at all, see EncodedMessage).
/// Receiving: decoding points the view into the received message's body instead of copying.
/// It is valid exactly as long as that body lives:
/// - in a handler (`CallSession::on`, a notification handler), until the handler returns;
/// - from `decode_value(body, fds)`, while the caller keeps `body`;
/// - from `Connection::receive_viewed` / `decode_message`, while the `Received<T>` lives.
/// A value that must outlive that copies what it needs (`Bytes<Max>(view.begin(), view.end())`).
/// Calls whose Reply would hold views are refused at compile time (the reply message is gone
/// when `call` returns).
template <std::size_t Max>
class BytesView : public std::span<const std::uint8_t> {
public:
    static constexpr std::size_t max_length = Max;
    using std::span<const std::uint8_t>::span;
    BytesView() = default;
    BytesView(std::span<const std::uint8_t> bytes) : std::span<const std::uint8_t>(bytes) {}
};

/// At most `Max` bytes of UTF-8 text, not owned. Same wire type as `String<Max>`; same
/// lifetime rules as `BytesView`.
template <std::size_t Max>
class StringView : public std::string_view {
public:
    static constexpr std::size_t max_length = Max;
    using std::string_view::string_view;
    StringView() = default;
    StringView(std::string_view text) : std::string_view(text) {}
};

/// A sequence of at most `Max` elements of `T`.
template <class T, std::size_t Max>
class Vector : public std::vector<T> {
public:
    static constexpr std::size_t max_length = Max;
    using std::vector<T>::vector;
    Vector() = default;
    Vector(std::vector<T> items) : std::vector<T>(std::move(items)) {}
};

namespace detail {

/// One described struct member: its name and pointer-to-member.
template <class Struct, class Member>
struct MemberRef {
    const char* name;
    Member Struct::*pointer;
};

template <class Struct, class Member>
constexpr MemberRef<Struct, Member> member_ref(const char* name, Member Struct::*pointer) {
    return {name, pointer};
}

} // namespace detail
} // namespace airlock

// --- a FOR_EACH over up to 32 arguments, used by the declaration macros -------------------
#define AIRLOCK_DETAIL_EXPAND(x) x
#define AIRLOCK_DETAIL_COUNT(...)                                                            \
    AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_COUNT_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, \
        24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1))
#define AIRLOCK_DETAIL_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, \
    _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define AIRLOCK_DETAIL_CAT(a, b) AIRLOCK_DETAIL_CAT_(a, b)
#define AIRLOCK_DETAIL_CAT_(a, b) a##b
#define AIRLOCK_DETAIL_EACH(F, T, ...) \
    AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_CAT(AIRLOCK_DETAIL_EACH_, AIRLOCK_DETAIL_COUNT(__VA_ARGS__))(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_1(F, T, x) F(T, x)
#define AIRLOCK_DETAIL_EACH_2(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_1(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_3(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_2(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_4(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_3(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_5(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_4(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_6(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_5(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_7(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_6(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_8(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_7(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_9(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_8(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_10(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_9(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_11(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_10(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_12(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_11(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_13(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_12(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_14(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_13(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_15(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_14(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_16(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_15(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_17(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_16(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_18(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_17(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_19(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_18(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_20(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_19(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_21(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_20(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_22(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_21(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_23(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_22(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_24(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_23(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_25(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_24(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_26(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_25(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_27(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_26(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_28(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_27(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_29(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_28(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_30(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_29(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_31(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_30(F, T, __VA_ARGS__))
#define AIRLOCK_DETAIL_EACH_32(F, T, x, ...) F(T, x), AIRLOCK_DETAIL_EXPAND(AIRLOCK_DETAIL_EACH_31(F, T, __VA_ARGS__))

#define AIRLOCK_DETAIL_MEMBER(Type, name) ::airlock::detail::member_ref(#name, &Type::name)
#define AIRLOCK_DETAIL_ENUMERATOR(Type, name) std::pair<const char*, Type>{#name, Type::name}

/// Describes the members of struct `Type`, in wire order. Place it in `Type`'s namespace.
#define AIRLOCK_STRUCT(Type, ...)                                                  \
    [[maybe_unused]] inline const char* airlock_type_name(const Type*) { return #Type; } \
    [[maybe_unused]] inline auto airlock_members(const Type*) {                    \
        return std::make_tuple(AIRLOCK_DETAIL_EACH(AIRLOCK_DETAIL_MEMBER, Type, __VA_ARGS__)); \
    }

/// Declares the valid enumerators of enum `Type`; any other value is rejected on receipt.
/// Place it in `Type`'s namespace.
#define AIRLOCK_ENUM(Type, ...)                                                    \
    [[maybe_unused]] inline const char* airlock_type_name(const Type*) { return #Type; } \
    [[maybe_unused]] inline const auto& airlock_enumerators(const Type*) {         \
        static const std::pair<const char*, Type> values[] = {                     \
            AIRLOCK_DETAIL_EACH(AIRLOCK_DETAIL_ENUMERATOR, Type, __VA_ARGS__)};    \
        return values;                                                             \
    }
