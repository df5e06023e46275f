#pragma once
/// @file dynamic_value.hpp
/// Messages whose type is known only at run time: conversion between JSON text and encoded
/// message bodies through a `TypeSpec`. Also includes what a user of it needs: type
/// descriptions parsed back into `TypeSpec` trees (type_description.hpp) and the JSON text
/// helpers (json.hpp).
///
/// A plugin announces each method's request and reply types as `describe()` texts (see
/// `airlock::protocol::MethodAnnouncement`). A generic tool such as `airlockctl call` parses
/// those texts with `ParsedType::parse` and converts JSON through the resulting spec:
/// @code
/// auto type = airlock::ParsedType::parse("struct Greet{name:string<64>,times:uint8}");
/// auto body = airlock::encode_json(type->spec(), R"({"name":"world","times":2})");
/// // ... send *body, receive a reply body ...
/// auto json = airlock::decode_to_json(reply_type->spec(), reply.body);
/// @endcode
///
/// ## JSON mapping
/// | kind | JSON |
/// |------|------|
/// | `intN` / `uintN` | an integer number, checked against the width (64-bit values exact) |
/// | `bool` | `true` / `false` |
/// | `enum` | the enumerator's name as a string, e.g. `"Read"` (must be declared) |
/// | `string<N>` | a string; at most N bytes once UTF-8 encoded |
/// | `bytes<N>` | written as standard base64 (with `=` padding); read from base64 or from an array of numbers 0–255 |
/// | `vector<T,N>` | an array of at most N elements |
/// | `optional<T>` | `null` (absent) or the value |
/// | `struct` | an object; every member must be given except optional ones (absent when missing); unknown members are refused |
/// | `fd` | descriptors cannot travel as JSON: `null` (or a missing member) means "no descriptor", anything else is refused. A decoded descriptor is shown as `"<fd N>"`, N being its index in the message |
///
/// Every failure is `InvalidParameter` (JSON input) or `Malformed` (message body) with a
/// message naming the member path, e.g. `grants[2].name: length 70 exceeds the declared maximum 64`.
///
/// ## Limits
/// Descriptions, JSON and bodies may come from untrusted peers (a plugin's announcement and
/// replies, a control client's request), so every count, depth and size is bounded by the
/// constants below and in type_description.hpp and json.hpp, each refused with an error naming
/// the limit (docs/wire-format.md).

#include "airlock/connection/json.hpp"
#include "airlock/connection/status.hpp"
#include "airlock/connection/type_description.hpp"
#include "airlock/connection/type_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock {

/// Largest body `encode_json` produces (the connection's default message limit).
inline constexpr std::size_t kMaxEncodedBody = std::size_t{64} << 20;
/// Below kMaxEncodedBody, a body from JSON text of n bytes is at most
/// kEncodedBodyAllowance + kEncodedBodyPerJsonByte * n bytes: left-out optional and fd members
/// encode without any text, and what a control client sends must not make the host build 340
/// times as much (`{}` for a struct of 256 fd members is 1 KiB of body). Written-out JSON
/// stays far below it (an integer `0,` is at most 8 bytes, `null` 1 to 4).
inline constexpr std::size_t kEncodedBodyPerJsonByte = 16;
inline constexpr std::size_t kEncodedBodyAllowance = std::size_t{64} << 10;
/// Largest JSON text `decode_to_json` produces (the control protocol's CallReply field size).
inline constexpr std::size_t kMaxDecodedJson = std::size_t{16} << 20;

/// Converts the JSON text `json` to a message body of type `spec`, verifying every bound and
/// enumerator exactly like the typed codec, and the JSON limits of json.hpp (depth, members per
/// object, values) and the body size (kMaxEncodedBody, and 16 bytes per byte of `json` plus
/// 64 KiB). InvalidParameter naming the member path on failure.
Result<std::vector<std::uint8_t>> encode_json(const TypeSpec& spec, std::string_view json);

/// Converts a message body of type `spec` to compact JSON, verifying it like the typed codec
/// (lengths, enumerators, bool/presence bytes, trailing bytes). `fd_count` is the number of
/// descriptors that travelled with the body (each must be referenced exactly once). Every
/// count is bounded by the bytes left divided by the element's `min_encoded_size` (a vector
/// of 0-byte elements is refused) and the text by kMaxDecodedJson, so time and memory stay
/// linear in the body. Malformed naming the member path on failure.
Result<std::string> decode_to_json(const TypeSpec& spec, std::span<const std::uint8_t> body,
                                   std::size_t fd_count = 0);

} // namespace airlock
