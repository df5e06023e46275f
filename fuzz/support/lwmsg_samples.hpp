#pragma once
// Sample LWMsg type specifications for fuzz_lwmsg_decode and its seeds (seed_generator.cpp):
// every kind the LWMsg C API translates (integers of each width and sign, a range, a narrow
// C member, strings optional and NOT_NULL, length-member arrays of bytes, structures and
// descriptors, nested and embedded structures, a pointer payload).

#include <lwmsg/lwmsg.h>

#include <cstdint>
#include <iterator>

namespace airlock::fuzz::lwmsg_samples {

struct Numbers {
    std::int8_t i8;
    std::uint16_t u16;
    std::int32_t i32;
    std::uint64_t u64;
    std::int64_t i64;
    std::uint8_t ranged;  // LWMSG_ATTR_RANGE(1, 200)
    std::int16_t narrow;  // travels as 64 bits, must fit 16
};
inline LWMsgTypeSpec numbers_spec[] = {
    LWMSG_STRUCT_BEGIN(Numbers),
    LWMSG_MEMBER_INT8(Numbers, i8),
    LWMSG_MEMBER_UINT16(Numbers, u16),
    LWMSG_MEMBER_INT32(Numbers, i32),
    LWMSG_MEMBER_UINT64(Numbers, u64),
    LWMSG_MEMBER_INT64(Numbers, i64),
    LWMSG_MEMBER_UINT8(Numbers, ranged),
    LWMSG_ATTR_RANGE(1, 200),
    LWMSG_MEMBER_INTEGER(Numbers, narrow, 8, LWMSG_SIGNED),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};

struct Strings {
    char* optional_text;
    char* text;  // NOT_NULL
    std::uint16_t size;
    std::uint8_t* data;  // `size` bytes
};
inline LWMsgTypeSpec strings_spec[] = {
    LWMSG_STRUCT_BEGIN(Strings),
    LWMSG_MEMBER_PSTR(Strings, optional_text),
    LWMSG_MEMBER_PSTR(Strings, text),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_MEMBER_UINT16(Strings, size),
    LWMSG_MEMBER_POINTER(Strings, data, LWMSG_UINT8(std::uint8_t)),
    LWMSG_ATTR_LENGTH_MEMBER(Strings, size),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};

struct Entry {
    char* name;
    int fd;
    std::int32_t value;
};
inline LWMsgTypeSpec entry_spec[] = {
    LWMSG_STRUCT_BEGIN(Entry),
    LWMSG_MEMBER_PSTR(Entry, name),
    LWMSG_MEMBER_FD(Entry, fd),
    LWMSG_MEMBER_INT32(Entry, value),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};

struct Table {
    std::int8_t count;  // signed and narrow: a count above 127 does not fit
    Entry* entries;     // `count` entries
    Entry* single;      // optional pointer to one entry
    int fd;
};
inline LWMsgTypeSpec table_spec[] = {
    LWMSG_STRUCT_BEGIN(Table),
    LWMSG_MEMBER_INT8(Table, count),
    LWMSG_MEMBER_POINTER(Table, entries, LWMSG_TYPESPEC(entry_spec)),
    LWMSG_ATTR_LENGTH_MEMBER(Table, count),
    LWMSG_MEMBER_POINTER(Table, single, LWMSG_TYPESPEC(entry_spec)),
    LWMSG_MEMBER_FD(Table, fd),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};

struct Inner {
    std::uint32_t count;
    char** names;  // `count` optional strings
};
struct Nested {
    Inner inner;       // an embedded structure with its own length member
    Table* table;      // NOT_NULL pointer to a structure with arrays
    std::uint32_t count;
    Inner* inners;     // `count` structures, each with its own array
};
inline LWMsgTypeSpec inner_spec[] = {
    LWMSG_STRUCT_BEGIN(Inner),
    LWMSG_MEMBER_UINT32(Inner, count),
    LWMSG_MEMBER_POINTER(Inner, names, LWMSG_PSTR),
    LWMSG_ATTR_LENGTH_MEMBER(Inner, count),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};
inline LWMsgTypeSpec nested_spec[] = {
    LWMSG_STRUCT_BEGIN(Nested),
    LWMSG_MEMBER_TYPESPEC(Nested, inner, inner_spec),
    LWMSG_MEMBER_POINTER(Nested, table, LWMSG_TYPESPEC(table_spec)),
    LWMSG_ATTR_NOT_NULL,
    LWMSG_MEMBER_UINT32(Nested, count),
    LWMSG_MEMBER_POINTER(Nested, inners, LWMSG_TYPESPEC(inner_spec)),
    LWMSG_ATTR_LENGTH_MEMBER(Nested, count),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};

// A payload that is a pointer itself (LWMsgMessage::data is the string).
inline LWMsgTypeSpec string_payload_spec[] = {LWMSG_PSTR, LWMSG_TYPE_END};

struct Fds {
    int a;
    int b;
    std::uint8_t count;
    int* many;  // `count` descriptors
};
inline LWMsgTypeSpec fds_spec[] = {
    LWMSG_STRUCT_BEGIN(Fds),
    LWMSG_MEMBER_FD(Fds, a),
    LWMSG_MEMBER_FD(Fds, b),
    LWMSG_MEMBER_UINT8(Fds, count),
    LWMSG_MEMBER_POINTER(Fds, many, LWMSG_FD),
    LWMSG_ATTR_LENGTH_MEMBER(Fds, count),
    LWMSG_STRUCT_END,
    LWMSG_TYPE_END};

inline LWMsgTypeSpec* const kSpecs[] = {numbers_spec, strings_spec, entry_spec,  table_spec,
                                 nested_spec,  string_payload_spec, fds_spec, nullptr};

/// The selector's low 3 bits pick one of these (8 entries).
static_assert(std::size(kSpecs) == 8);

} // namespace airlock::fuzz::lwmsg_samples
