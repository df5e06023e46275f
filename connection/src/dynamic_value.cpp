// The dynamic codec: JSON text <-> message bodies, through a run-time TypeSpec.
#include "airlock/connection/dynamic_value.hpp"

#include "airlock/connection/codec.hpp"

#include "base64.hpp"
#include "json_reader.hpp"
#include "type_index.hpp"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

namespace airlock {
namespace {

using detail::base64_decode;
using detail::base64_encode;
using detail::json_type_name;
using detail::JsonValue;
using detail::TypeIndex;

// ------------------------------------------------------------------------------------------

bool parse_integer_text(const std::string& text, bool& negative, std::uint64_t& magnitude) {
    if (text.find_first_of(".eE") != std::string::npos) return false;
    negative = !text.empty() && text.front() == '-';
    const char* begin = text.data() + (negative ? 1 : 0);
    const char* end = text.data() + text.size();
    auto [next, ec] = std::from_chars(begin, end, magnitude);
    return ec == std::errc() && next == end;
}

std::string enumerator_list(const TypeSpec& spec) {
    std::string names;
    for (const auto& e : spec.enumerators) names += (names.empty() ? "" : ", ") + e.first;
    return names;
}

bool encode_node(Encoder& e, TypeIndex& index, const TypeSpec& spec, const JsonValue& value, std::size_t limit);

// The largest body the JSON text `json` may become (encoded_body_limit in dynamic_value.hpp).
std::size_t body_limit(std::string_view json) {
    if (json.size() >= (kMaxEncodedBody - kEncodedBodyAllowance) / kEncodedBodyPerJsonByte) return kMaxEncodedBody;
    return kEncodedBodyAllowance + kEncodedBodyPerJsonByte * json.size();
}

// Whether the body is still within `limit`. Left-out optional and fd members encode to bytes
// without any JSON text (`{}` for a struct of 256 fd members is 1 KiB), so a small document
// could otherwise make a huge body: 192 KiB of `[{},{},...]` took a second and 170 MB.
bool body_room(Encoder& e, std::size_t limit) {
    if (e.size() <= limit) return true;
    return e.fail("the message body would exceed " + std::to_string(limit) + " bytes (at most " +
                  std::to_string(kEncodedBodyPerJsonByte) + " bytes per byte of JSON plus " +
                  std::to_string(kEncodedBodyAllowance) + ", and " + std::to_string(kMaxEncodedBody) +
                  "; write left-out optional and fd members as null)");
}

bool expect_type(Encoder& e, const JsonValue& value, JsonValue::Type type, const std::string& wanted) {
    if (value.type == type) return true;
    return e.fail("expected " + wanted + ", got " + json_type_name(value.type));
}

bool encode_integer(Encoder& e, const TypeSpec& spec, const JsonValue& value) {
    if (!expect_type(e, value, JsonValue::Type::Number, "an integer (" + spec.name + ")")) return false;
    bool negative = false;
    std::uint64_t magnitude = 0;
    unsigned bits = 8u * spec.width;
    std::string range = spec.is_signed
                            ? "[" + std::to_string(bits == 64 ? std::numeric_limits<std::int64_t>::min()
                                                              : -(std::int64_t(1) << (bits - 1))) +
                                  ", " +
                                  std::to_string(bits == 64 ? std::numeric_limits<std::int64_t>::max()
                                                            : (std::int64_t(1) << (bits - 1)) - 1) +
                                  "]"
                            : "[0, " + std::to_string(bits == 64 ? std::numeric_limits<std::uint64_t>::max()
                                                                 : (std::uint64_t(1) << bits) - 1) +
                                  "]";
    if (!parse_integer_text(value.text, negative, magnitude)) {
        if (value.text.find_first_of(".eE") != std::string::npos)
            return e.fail(value.text + " is not an integer (" + spec.name + ")");
        return e.fail(value.text + " is out of range for " + spec.name + " " + range);
    }
    std::uint64_t raw = 0;
    if (spec.is_signed) {
        std::uint64_t max_positive = (std::uint64_t(1) << (bits - 1)) - 1;
        std::uint64_t max_negative = std::uint64_t(1) << (bits - 1);
        if ((negative && magnitude > max_negative) || (!negative && magnitude > max_positive))
            return e.fail(value.text + " is out of range for " + spec.name + " " + range);
        raw = negative ? (~magnitude + 1) : magnitude;
    } else {
        std::uint64_t max = bits == 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t(1) << bits) - 1;
        if ((negative && magnitude != 0) || magnitude > max)
            return e.fail(value.text + " is out of range for " + spec.name + " " + range);
        raw = magnitude;
    }
    e.put_uint(raw, spec.width);
    return true;
}

bool encode_bytes(Encoder& e, const TypeSpec& spec, const JsonValue& value) {
    std::vector<std::uint8_t> bytes;
    if (value.type == JsonValue::Type::String) {
        auto decoded = base64_decode(value.text);
        if (!decoded) return e.fail("expected base64 (standard alphabet, '=' padding) for bytes<" +
                                    std::to_string(spec.max_length) + ">");
        bytes = std::move(*decoded);
    } else if (value.type == JsonValue::Type::Array) {
        for (std::size_t i = 0; i < value.items.size(); ++i) {
            const JsonValue& item = value.items[i];
            bool negative = false;
            std::uint64_t byte = 0;
            if (item.type != JsonValue::Type::Number || !parse_integer_text(item.text, negative, byte) ||
                (negative && byte != 0) || byte > 255) {
                e.fail("expected a number 0-255, got " +
                       (item.type == JsonValue::Type::Number ? item.text : std::string(json_type_name(item.type))));
                e.prefix_path("[" + std::to_string(i) + "]");
                return false;
            }
            bytes.push_back(static_cast<std::uint8_t>(byte));
        }
    } else {
        return e.fail(std::string("expected base64 text or an array of numbers for bytes<") +
                      std::to_string(spec.max_length) + ">, got " + json_type_name(value.type));
    }
    if (bytes.size() > spec.max_length)
        return e.fail("length " + std::to_string(bytes.size()) + " exceeds the declared maximum " +
                      std::to_string(spec.max_length));
    e.put_uint(bytes.size(), 4);
    e.put_raw(bytes.data(), bytes.size());
    return true;
}

bool encode_node(Encoder& e, TypeIndex& index, const TypeSpec& spec, const JsonValue& value, std::size_t limit) {
    switch (spec.kind) {
    case TypeKind::Integer:
        return encode_integer(e, spec, value);
    case TypeKind::Bool:
        if (!expect_type(e, value, JsonValue::Type::Bool, "true or false")) return false;
        e.put_uint(value.boolean ? 1 : 0, 1);
        return true;
    case TypeKind::Enum: {
        if (value.type != JsonValue::Type::String)
            return e.fail("expected the name of a " + spec.name + " (one of: " + enumerator_list(spec) + "), got " +
                          json_type_name(value.type));
        if (const std::size_t at = index.enumerator(spec, std::string_view(value.text)); at != TypeIndex::kNone) {
            e.put_uint(static_cast<std::uint64_t>(spec.enumerators[at].second), spec.width);
            return true;
        }
        return e.fail("\"" + value.text + "\" is not a declared " + spec.name + " (one of: " + enumerator_list(spec) + ")");
    }
    case TypeKind::String:
        if (!expect_type(e, value, JsonValue::Type::String, "a string")) return false;
        if (value.text.size() > spec.max_length)
            return e.fail("length " + std::to_string(value.text.size()) + " exceeds the declared maximum " +
                          std::to_string(spec.max_length));
        e.put_uint(value.text.size(), 4);
        e.put_raw(value.text.data(), value.text.size());
        return true;
    case TypeKind::Bytes:
        return encode_bytes(e, spec, value);
    case TypeKind::Vector: {
        if (!expect_type(e, value, JsonValue::Type::Array, "an array")) return false;
        if (value.items.size() > spec.max_length)
            return e.fail("count " + std::to_string(value.items.size()) + " exceeds the declared maximum " +
                          std::to_string(spec.max_length));
        e.put_uint(value.items.size(), 4);
        for (std::size_t i = 0; i < value.items.size(); ++i) {
            if (!encode_node(e, index, *spec.element, value.items[i], limit) || !body_room(e, limit)) {
                e.prefix_path("[" + std::to_string(i) + "]");
                return false;
            }
        }
        return true;
    }
    case TypeKind::Optional:
        if (value.type == JsonValue::Type::Null) {
            e.put_uint(0, 1);
            return true;
        }
        e.put_uint(1, 1);
        return encode_node(e, index, *spec.element, value, limit);
    case TypeKind::Struct: {
        if (!expect_type(e, value, JsonValue::Type::Object, "an object (struct " + spec.name + ")")) return false;
        // Each JSON member's place in the struct (the reader refused names given twice).
        std::vector<const JsonValue*> given(spec.members.size(), nullptr);
        for (const auto& [key, member_value] : value.members) {
            const std::size_t at = index.member(spec, key);
            if (at == TypeIndex::kNone) {
                std::string names;
                for (const auto& member : spec.members) names += (names.empty() ? "" : ", ") + member.name;
                return e.fail("struct " + spec.name + " has no member \"" + key + "\" (members: " + names + ")");
            }
            given[at] = &member_value;
        }
        static const JsonValue null_value;
        for (std::size_t i = 0; i < spec.members.size(); ++i) {
            const MemberSpec& member = spec.members[i];
            const JsonValue* found = given[i];
            if (!found) {
                if (member.type->kind != TypeKind::Optional && member.type->kind != TypeKind::Fd) {
                    e.fail("missing (only optional and fd members may be left out)");
                    e.prefix_path("." + member.name);
                    return false;
                }
                found = &null_value;
            }
            if (!encode_node(e, index, *member.type, *found, limit) || !body_room(e, limit)) {
                e.prefix_path("." + member.name);
                return false;
            }
        }
        return true;
    }
    case TypeKind::Fd:
        if (value.type != JsonValue::Type::Null)
            return e.fail("is a file descriptor: descriptors cannot be passed as JSON (give null or leave it out "
                          "for \"no descriptor\")");
        e.put_uint(0xFFFFFFFFu, 4);
        return true;
    }
    return e.fail("unknown type kind");
}

// ------------------------------------------------------------------------------------------
// body -> JSON
// ------------------------------------------------------------------------------------------

bool decode_node(Decoder& d, TypeIndex& index, const TypeSpec& spec, std::string& out);

// Whether `more` further bytes of JSON still fit within kMaxDecodedJson. Each decoded value adds
// a bounded amount of text per body byte (a member name, quoting, base64), and the checks sit
// after every vector element and struct member, so the text never grows far past the limit.
bool json_room(Decoder& d, const std::string& out, std::uint64_t more) {
    if (out.size() <= kMaxDecodedJson && more <= kMaxDecodedJson - out.size()) return true;
    return d.fail("the message as JSON would exceed " + std::to_string(kMaxDecodedJson) + " bytes");
}

bool decode_node(Decoder& d, TypeIndex& index, const TypeSpec& spec, std::string& out) {
    switch (spec.kind) {
    case TypeKind::Integer: {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, spec.width)) return false;
        if (spec.is_signed) {
            unsigned bits = 8u * spec.width;
            if (bits < 64 && (raw >> (bits - 1)) & 1) raw |= ~std::uint64_t(0) << bits;  // sign-extend
            out += std::to_string(static_cast<std::int64_t>(raw));
        } else {
            out += std::to_string(raw);
        }
        return true;
    }
    case TypeKind::Bool: {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, 1)) return false;
        if (raw > 1) return d.fail("boolean byte is " + std::to_string(raw) + ", expected 0 or 1");
        out += raw ? "true" : "false";
        return true;
    }
    case TypeKind::Enum: {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, spec.width)) return false;
        std::int64_t number = 0;
        unsigned bits = 8u * spec.width;
        if (spec.is_signed) {
            if (bits < 64 && (raw >> (bits - 1)) & 1) raw |= ~std::uint64_t(0) << bits;
            number = static_cast<std::int64_t>(raw);
        } else {
            number = static_cast<std::int64_t>(raw);
        }
        if (const std::string* name = index.enumerator_json(spec, number)) {
            out += *name;
            return true;
        }
        return d.fail("value " + std::to_string(number) + " is not a declared " + spec.name);
    }
    case TypeKind::String:
    case TypeKind::Bytes: {
        std::uint64_t length = 0;
        if (!d.get_length(length, spec.max_length, 1)) return false;
        if (!json_room(d, out, length)) return false;  // before quoting: the text is at least this long
        std::vector<std::uint8_t> bytes;
        if (!d.get_sequence(bytes, length)) return false;
        if (spec.kind == TypeKind::String)
            out += json_quote(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
        else
            out += "\"" + base64_encode(bytes) + "\"";
        return json_room(d, out, 0);
    }
    case TypeKind::Vector: {
        std::uint64_t count = 0;
        if (!d.get_length(count, spec.max_length, spec.element->min_encoded_size)) return false;
        out += '[';
        for (std::uint64_t i = 0; i < count; ++i) {
            if (i) out += ',';
            if (!decode_node(d, index, *spec.element, out) || !json_room(d, out, 0)) {
                d.prefix_path("[" + std::to_string(i) + "]");
                return false;
            }
        }
        out += ']';
        return true;
    }
    case TypeKind::Optional: {
        std::uint64_t present = 0;
        if (!d.get_uint(present, 1)) return false;
        if (present > 1) return d.fail("presence byte is " + std::to_string(present) + ", expected 0 or 1");
        if (!present) {
            out += "null";
            return true;
        }
        return decode_node(d, index, *spec.element, out);
    }
    case TypeKind::Struct: {
        out += '{';
        for (std::size_t i = 0; i < spec.members.size(); ++i) {
            const MemberSpec& member = spec.members[i];
            if (i) out += ',';
            out += json_quote(member.name);
            out += ':';
            if (!decode_node(d, index, *member.type, out) || !json_room(d, out, 0)) {
                d.prefix_path("." + member.name);
                return false;
            }
        }
        out += '}';
        return true;
    }
    case TypeKind::Fd: {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, 4)) return false;
        if (raw == 0xFFFFFFFFu) {
            out += "null";
            return true;
        }
        UniqueFd taken;
        if (!d.take_fd(static_cast<std::uint32_t>(raw), taken)) return false;
        (void)taken.release();  // placeholders only: the caller owns the real descriptors
        out += "\"<fd " + std::to_string(raw) + ">\"";
        return true;
    }
    }
    return d.fail("unknown type kind");
}

} // namespace

Result<std::vector<std::uint8_t>> encode_json(const TypeSpec& spec, std::string_view json) {
    Result<JsonValue> value = detail::read_json(json);
    if (!value) return value.status();
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    Encoder encoder(body, fds);
    TypeIndex index;
    if (!encode_node(encoder, index, spec, *value, body_limit(json))) return encoder.status();
    return body;
}

Result<std::string> decode_to_json(const TypeSpec& spec, std::span<const std::uint8_t> body, std::size_t fd_count) {
    std::vector<UniqueFd> placeholders(fd_count);  // all -1: only indices are checked
    Decoder decoder(body, placeholders);
    std::string out;
    TypeIndex index;
    if (!decode_node(decoder, index, spec, out) || !decoder.finish()) return decoder.status();
    return out;
}

} // namespace airlock
