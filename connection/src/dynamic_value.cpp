#include "airlock/connection/dynamic_value.hpp"

#include "airlock/connection/codec.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>

namespace airlock {

// ------------------------------------------------------------------------------------------
// Type descriptions -> TypeSpec trees
// ------------------------------------------------------------------------------------------

class TypeDescriptionParser {
public:
    explicit TypeDescriptionParser(std::string_view text) : text_(text) {}

    Result<ParsedType> run() {
        if (text_.size() > kMaxTypeDescriptionLength) {
            return Status(StatusCode::InvalidParameter, "invalid type description: " + std::to_string(text_.size()) +
                                                            " bytes, more than the limit of " +
                                                            std::to_string(kMaxTypeDescriptionLength));
        }
        ParsedType parsed;
        parsed.nodes_.push_back(std::make_unique<TypeSpec>());
        nodes_ = &parsed.nodes_;
        if (!parse_into(*parsed.nodes_.front(), 0)) return error();
        if (pos_ != text_.size()) {
            fail("unexpected text after the type");
            return error();
        }
        return parsed;
    }

private:
    static constexpr int kMaxDepth = static_cast<int>(kMaxTypeDepth);
    std::string_view text_;
    std::size_t pos_ = 0;
    std::vector<std::unique_ptr<TypeSpec>>* nodes_ = nullptr;
    std::string error_;
    std::size_t error_at_ = 0;

    Status error() const {
        return Status(StatusCode::InvalidParameter, "invalid type description at offset " + std::to_string(error_at_) +
                                                        ": " + error_ + " (in \"" + excerpt() + "\")");
    }
    // The description around the error, at most kExcerpt characters: the text comes from a
    // peer, and a refusal is logged on every restart.
    std::string excerpt() const {
        constexpr std::size_t kExcerpt = 160;
        if (text_.size() <= kExcerpt) return std::string(text_);
        const std::size_t start = std::min(error_at_ > kExcerpt / 2 ? error_at_ - kExcerpt / 2 : 0, text_.size() - kExcerpt);
        return (start > 0 ? "..." : "") + std::string(text_.substr(start, kExcerpt)) +
               (start + kExcerpt < text_.size() ? "..." : "");
    }
    bool fail(std::string what) {
        if (error_.empty()) {
            error_ = std::move(what);
            error_at_ = pos_;
        }
        return false;
    }
    bool consume(std::string_view token) {
        if (text_.substr(pos_, token.size()) != token) return false;
        pos_ += token.size();
        return true;
    }
    bool expect(std::string_view token) {
        if (consume(token)) return true;
        return fail("expected \"" + std::string(token) + "\"");
    }
    static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }
    /// An identifier; "::" inside it is kept (qualified names), a single ':' ends it.
    bool identifier(std::string& out) {
        std::size_t start = pos_;
        while (pos_ < text_.size()) {
            if (is_word_char(text_[pos_])) {
                ++pos_;
            } else if (text_.substr(pos_, 2) == "::" && pos_ + 2 < text_.size() && is_word_char(text_[pos_ + 2])) {
                pos_ += 2;
            } else {
                break;
            }
        }
        if (pos_ == start || (text_[start] >= '0' && text_[start] <= '9')) {
            pos_ = start;
            return fail("expected a name");
        }
        if (pos_ - start > kMaxTypeNameLength) {
            pos_ = start;
            return fail("a name longer than " + std::to_string(kMaxTypeNameLength) + " bytes");
        }
        out = std::string(text_.substr(start, pos_ - start));
        return true;
    }
    // Numbers are canonical as describe() writes them: decimal, no leading zeros (except "0"
    // itself), no "-0", so that describe(parse(t)) == t. The error points at the first digit.
    bool canonical_digits(std::string_view number) {
        const std::size_t sign = number.starts_with('-') ? 1 : 0;
        const std::string_view digits = number.substr(sign);
        if (digits.size() > 1 && digits[0] == '0') {
            pos_ += sign;
            return fail("number \"" + std::string(number) + "\" has a leading zero");
        }
        if (sign && digits == "0") {
            pos_ += sign;
            return fail("number \"-0\" is not canonical (write \"0\")");
        }
        return true;
    }
    bool unsigned_number(std::uint64_t& out) {
        const char* begin = text_.data() + pos_;
        const char* end = text_.data() + text_.size();
        auto [next, ec] = std::from_chars(begin, end, out);
        if (ec != std::errc() || next == begin) return fail("expected a number");
        if (!canonical_digits(std::string_view(begin, next))) return false;
        pos_ += static_cast<std::size_t>(next - begin);
        return true;
    }
    bool signed_number(std::int64_t& out) {
        const char* begin = text_.data() + pos_;
        const char* end = text_.data() + text_.size();
        auto [next, ec] = std::from_chars(begin, end, out);
        if (ec != std::errc() || next == begin) return fail("expected an integer");
        if (!canonical_digits(std::string_view(begin, next))) return false;
        pos_ += static_cast<std::size_t>(next - begin);
        return true;
    }
    /// "int8".."int64" / "uint8".."uint64" at the current position (without consuming on failure).
    bool integer_name(bool& is_signed, std::uint8_t& width) {
        std::size_t start = pos_;
        is_signed = !consume("u");
        if (!consume("int")) {
            pos_ = start;
            return false;
        }
        for (auto [digits, bytes] : {std::pair{"8", 1}, {"16", 2}, {"32", 4}, {"64", 8}}) {
            std::string_view d(digits);
            if (text_.substr(pos_, d.size()) == d &&
                (pos_ + d.size() == text_.size() || !is_word_char(text_[pos_ + d.size()]))) {
                pos_ += d.size();
                width = static_cast<std::uint8_t>(bytes);
                return true;
            }
        }
        pos_ = start;
        return false;
    }
    TypeSpec* new_node() {
        nodes_->push_back(std::make_unique<TypeSpec>());
        return nodes_->back().get();
    }
    bool keyword(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        std::size_t after = pos_ + word.size();
        if (after < text_.size() && is_word_char(text_[after])) return false;
        pos_ = after;
        return true;
    }

    // Parses one type into `node`, then records its minimum encoded size (children first).
    bool parse_into(TypeSpec& node, int depth) {
        if (!parse_kind(node, depth)) return false;
        node.min_encoded_size = min_encoded_size(node);
        return true;
    }

    bool parse_kind(TypeSpec& node, int depth) {
        if (depth > kMaxDepth) return fail("types nested deeper than " + std::to_string(kMaxDepth));
        bool is_signed = false;
        std::uint8_t width = 0;
        if (integer_name(is_signed, width)) {
            node.kind = TypeKind::Integer;
            node.is_signed = is_signed;
            node.width = width;
            node.name = std::string(is_signed ? "int" : "uint") + std::to_string(8 * width);
            return true;
        }
        if (keyword("bool")) {
            node.kind = TypeKind::Bool;
            node.name = "bool";
            node.width = 1;
            return true;
        }
        if (keyword("fd")) {
            node.kind = TypeKind::Fd;
            node.name = "fd";
            return true;
        }
        if (consume("string<") || consume("bytes<")) {
            bool is_string = text_[pos_ - 2] == 'g';
            node.kind = is_string ? TypeKind::String : TypeKind::Bytes;
            node.name = is_string ? "string" : "bytes";
            return unsigned_number(node.max_length) && expect(">");
        }
        if (consume("vector<")) {
            node.kind = TypeKind::Vector;
            node.name = "vector";
            TypeSpec* element = new_node();
            node.element = element;
            return parse_into(*element, depth + 1) && expect(",") && unsigned_number(node.max_length) && expect(">");
        }
        if (consume("optional<")) {
            node.kind = TypeKind::Optional;
            node.name = "optional";
            TypeSpec* element = new_node();
            node.element = element;
            return parse_into(*element, depth + 1) && expect(">");
        }
        if (consume("enum ")) {
            node.kind = TypeKind::Enum;
            if (!identifier(node.name) || !expect(":")) return false;
            if (!integer_name(node.is_signed, node.width)) return fail("expected the enum's integer type (uint8, int32, ...)");
            if (!expect("{")) return false;
            // AIRLOCK_ENUM cannot declare an enum without enumerators: no value would decode.
            if (text_.substr(pos_, 1) == "}") return fail("enum " + node.name + " has no enumerators");
            do {
                if (node.enumerators.size() == kMaxTypeMembers)
                    return fail("enum " + node.name + " has more than " + std::to_string(kMaxTypeMembers) + " enumerators");
                std::string name;
                std::int64_t value = 0;
                if (!identifier(name) || !expect("=") || !signed_number(value)) return false;
                for (const auto& existing : node.enumerators)
                    if (existing.first == name) return fail("enumerator \"" + name + "\" appears twice");
                node.enumerators.emplace_back(std::move(name), value);
            } while (consume(","));
            return expect("}");
        }
        if (consume("struct ")) {
            node.kind = TypeKind::Struct;
            if (!identifier(node.name) || !expect("{")) return false;
            // AIRLOCK_STRUCT cannot declare a struct without members, and one would encode to
            // 0 bytes: a vector of them could claim any count at no cost.
            if (text_.substr(pos_, 1) == "}") return fail("struct " + node.name + " has no members");
            do {
                if (node.members.size() == kMaxTypeMembers)
                    return fail("struct " + node.name + " has more than " + std::to_string(kMaxTypeMembers) + " members");
                MemberSpec member;
                if (!identifier(member.name) || !expect(":")) return false;
                for (const auto& existing : node.members)
                    if (existing.name == member.name) return fail("member \"" + member.name + "\" appears twice");
                TypeSpec* type = new_node();
                member.type = type;
                node.members.push_back(std::move(member));
                if (!parse_into(*type, depth + 1)) return false;
            } while (consume(","));
            return expect("}");
        }
        return fail("expected a type (intN, uintN, bool, fd, string<N>, bytes<N>, enum, vector<T,N>, optional<T>, struct)");
    }
};

Result<ParsedType> ParsedType::parse(std::string_view description) {
    return TypeDescriptionParser(description).run();
}

// ------------------------------------------------------------------------------------------
// A small JSON reader
// ------------------------------------------------------------------------------------------
namespace {

struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    bool boolean = false;
    std::string text;  // number literal or decoded string
    std::vector<JsonValue> items;
    std::vector<std::pair<std::string, JsonValue>> members;
};

const char* json_type_name(JsonValue::Type type) {
    switch (type) {
    case JsonValue::Type::Null: return "null";
    case JsonValue::Type::Bool: return "a boolean";
    case JsonValue::Type::Number: return "a number";
    case JsonValue::Type::String: return "a string";
    case JsonValue::Type::Array: return "an array";
    case JsonValue::Type::Object: return "an object";
    }
    return "?";
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class JsonReader {
public:
    explicit JsonReader(std::string_view text) : text_(text) {}

    Result<JsonValue> run() {
        JsonValue value;
        skip_space();
        if (!parse_value(value, 0)) return error();
        skip_space();
        if (pos_ != text_.size()) {
            fail("unexpected text after the JSON value");
            return error();
        }
        return value;
    }

private:
    static constexpr int kMaxDepth = static_cast<int>(kMaxJsonDepth);
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t values_ = 0;  // every value read so far, at any depth
    std::string error_;

    Status error() const {
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        return Status(StatusCode::InvalidParameter, "invalid JSON at line " + std::to_string(line) + ", column " +
                                                        std::to_string(column) + ": " + error_);
    }
    bool fail(std::string what) {
        if (error_.empty()) error_ = std::move(what);
        return false;
    }
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    void skip_space() {
        while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return fail("expected a value");
        pos_ += word.size();
        return true;
    }

    bool parse_value(JsonValue& out, int depth) {
        if (depth > kMaxDepth) return fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
        if (at_end()) return fail("unexpected end of input, expected a value");
        if (++values_ > kMaxJsonValues)
            return fail("more than " + std::to_string(kMaxJsonValues) +
                        " values in one document (give large bytes<N> values as base64)");
        char c = peek();
        switch (c) {
        case 'n':
            out.type = JsonValue::Type::Null;
            return literal("null");
        case 't':
            out.type = JsonValue::Type::Bool;
            out.boolean = true;
            return literal("true");
        case 'f':
            out.type = JsonValue::Type::Bool;
            out.boolean = false;
            return literal("false");
        case '"':
            out.type = JsonValue::Type::String;
            return parse_string(out.text);
        case '[':
            out.type = JsonValue::Type::Array;
            ++pos_;
            skip_space();
            if (peek() == ']') {
                ++pos_;
                return true;
            }
            while (true) {
                out.items.emplace_back();
                skip_space();
                if (!parse_value(out.items.back(), depth + 1)) return false;
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                if (peek() == ']') {
                    ++pos_;
                    return true;
                }
                return fail("expected ',' or ']' in an array");
            }
        case '{': {
            out.type = JsonValue::Type::Object;
            ++pos_;
            skip_space();
            if (peek() == '}') {
                ++pos_;
                return true;
            }
            // Names seen so far, hashed: a linear scan per member made large objects quadratic.
            std::unordered_set<std::string> names;
            while (true) {
                skip_space();
                if (peek() != '"') return fail("expected a member name in quotes");
                if (out.members.size() == kMaxJsonObjectMembers)
                    return fail("more than " + std::to_string(kMaxJsonObjectMembers) + " members in one object");
                std::string key;
                const std::size_t key_at = pos_;
                if (!parse_string(key)) return false;
                if (!names.insert(key).second) {
                    pos_ = key_at;
                    return fail("member \"" + key + "\" appears twice");
                }
                skip_space();
                if (peek() != ':') return fail("expected ':' after a member name");
                ++pos_;
                skip_space();
                out.members.emplace_back(std::move(key), JsonValue{});
                if (!parse_value(out.members.back().second, depth + 1)) return false;
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                if (peek() == '}') {
                    ++pos_;
                    return true;
                }
                return fail("expected ',' or '}' in an object");
            }
        }
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                out.type = JsonValue::Type::Number;
                return parse_number(out.text);
            }
            return fail(std::string("unexpected character '") + c + "'");
        }
    }

    bool digits() {
        std::size_t start = pos_;
        while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
        return pos_ > start;
    }
    bool parse_number(std::string& out) {
        std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (peek() == '0') {
            ++pos_;
        } else if (!digits()) {
            return fail("expected digits");
        }
        if (peek() == '.') {
            ++pos_;
            if (!digits()) return fail("expected digits after '.'");
        }
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-') ++pos_;
            if (!digits()) return fail("expected digits in the exponent");
        }
        out = std::string(text_.substr(start, pos_ - start));
        return true;
    }
    bool hex4(std::uint32_t& out) {
        if (text_.size() - pos_ < 4) return fail("expected four hex digits after \\u");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[pos_++];
            out <<= 4;
            if (c >= '0' && c <= '9') out |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') out |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') out |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return fail("expected four hex digits after \\u");
        }
        return true;
    }
    bool parse_string(std::string& out) {
        ++pos_;  // opening quote
        out.clear();
        while (true) {
            if (at_end()) return fail("unterminated string");
            char c = text_[pos_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) {
                --pos_;
                return fail("control character in a string (write it as \\n, \\t or \\u00XX)");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) return fail("unterminated string");
            char e = text_[pos_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    std::uint32_t low = 0;
                    if (text_.substr(pos_, 2) != "\\u") return fail("a high surrogate must be followed by \\u and a low surrogate");
                    pos_ += 2;
                    if (!hex4(low)) return false;
                    if (low < 0xDC00 || low > 0xDFFF) return fail("invalid low surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail("unpaired low surrogate");
                }
                append_utf8(out, cp);
                break;
            }
            default:
                --pos_;
                return fail(std::string("invalid escape '\\") + e + "'");
            }
        }
    }
};

// ------------------------------------------------------------------------------------------
// Base64 (standard alphabet, '=' padding)
// ------------------------------------------------------------------------------------------

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8) | data[i + 2];
        out += kBase64Alphabet[(v >> 18) & 63];
        out += kBase64Alphabet[(v >> 12) & 63];
        out += kBase64Alphabet[(v >> 6) & 63];
        out += kBase64Alphabet[v & 63];
    }
    std::size_t rest = data.size() - i;
    if (rest) {
        std::uint32_t v = std::uint32_t(data[i]) << 16;
        if (rest == 2) v |= std::uint32_t(data[i + 1]) << 8;
        out += kBase64Alphabet[(v >> 18) & 63];
        out += kBase64Alphabet[(v >> 12) & 63];
        out += rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    auto value_of = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::vector<std::uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int padding = 0;
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            char c = text[i + j];
            if (c == '=' && last && j >= 2) {
                ++padding;
                v <<= 6;
                continue;
            }
            int d = value_of(c);
            if (d < 0 || padding) return std::nullopt;
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        if (padding < 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
        if (padding < 1) out.push_back(static_cast<std::uint8_t>(v));
    }
    return out;
}

// ------------------------------------------------------------------------------------------
// JSON -> body
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

bool encode_node(Encoder& e, const TypeSpec& spec, const JsonValue& value);

// Whether the body is still within kMaxEncodedBody. Left-out optional and fd members encode
// to bytes without any JSON text, so a small document could otherwise make a huge body.
bool body_room(Encoder& e) {
    if (e.size() <= kMaxEncodedBody) return true;
    return e.fail("the message body would exceed " + std::to_string(kMaxEncodedBody) + " bytes");
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

bool encode_node(Encoder& e, const TypeSpec& spec, const JsonValue& value) {
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
        for (const auto& [name, number] : spec.enumerators) {
            if (name == value.text) {
                e.put_uint(static_cast<std::uint64_t>(number), spec.width);
                return true;
            }
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
            if (!encode_node(e, *spec.element, value.items[i]) || !body_room(e)) {
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
        return encode_node(e, *spec.element, value);
    case TypeKind::Struct: {
        if (!expect_type(e, value, JsonValue::Type::Object, "an object (struct " + spec.name + ")")) return false;
        for (const auto& [key, member_value] : value.members) {
            bool known = false;
            for (const auto& member : spec.members) known = known || member.name == key;
            if (!known) {
                std::string names;
                for (const auto& member : spec.members) names += (names.empty() ? "" : ", ") + member.name;
                return e.fail("struct " + spec.name + " has no member \"" + key + "\" (members: " + names + ")");
            }
        }
        static const JsonValue null_value;
        for (const auto& member : spec.members) {
            const JsonValue* found = nullptr;
            for (const auto& [key, member_value] : value.members)
                if (key == member.name) found = &member_value;
            if (!found) {
                if (member.type->kind != TypeKind::Optional && member.type->kind != TypeKind::Fd) {
                    e.fail("missing (only optional and fd members may be left out)");
                    e.prefix_path("." + member.name);
                    return false;
                }
                found = &null_value;
            }
            if (!encode_node(e, *member.type, *found) || !body_room(e)) {
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

bool decode_node(Decoder& d, const TypeSpec& spec, std::string& out);

// Whether `more` further bytes of JSON still fit within kMaxDecodedJson. Each decoded value adds
// a bounded amount of text per body byte (a member name, quoting, base64), and the checks sit
// after every vector element and struct member, so the text never grows far past the limit.
bool json_room(Decoder& d, const std::string& out, std::uint64_t more) {
    if (out.size() <= kMaxDecodedJson && more <= kMaxDecodedJson - out.size()) return true;
    return d.fail("the message as JSON would exceed " + std::to_string(kMaxDecodedJson) + " bytes");
}

bool decode_node(Decoder& d, const TypeSpec& spec, std::string& out) {
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
        for (const auto& [name, value] : spec.enumerators) {
            if (value == number) {
                out += json_quote(name);
                return true;
            }
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
            if (!decode_node(d, *spec.element, out) || !json_room(d, out, 0)) {
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
        return decode_node(d, *spec.element, out);
    }
    case TypeKind::Struct: {
        out += '{';
        for (std::size_t i = 0; i < spec.members.size(); ++i) {
            const MemberSpec& member = spec.members[i];
            if (i) out += ',';
            out += json_quote(member.name);
            out += ':';
            if (!decode_node(d, *member.type, out) || !json_room(d, out, 0)) {
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
    Result<JsonValue> value = JsonReader(json).run();
    if (!value) return value.status();
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    Encoder encoder(body, fds);
    if (!encode_node(encoder, spec, *value)) return encoder.status();
    return body;
}

Result<std::string> decode_to_json(const TypeSpec& spec, std::span<const std::uint8_t> body, std::size_t fd_count) {
    std::vector<UniqueFd> placeholders(fd_count);  // all -1: only indices are checked
    Decoder decoder(body, placeholders);
    std::string out;
    if (!decode_node(decoder, spec, out) || !decoder.finish()) return decoder.status();
    return out;
}

std::string json_quote(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
            }
            ++i;
            continue;
        }
        // A multi-byte UTF-8 sequence: copy it if valid, else U+FFFD for this byte.
        std::size_t length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
        bool valid = length != 0 && i + length <= text.size();
        std::uint32_t cp = length == 2 ? (c & 0x1F) : length == 3 ? (c & 0x0F) : (c & 0x07);
        for (std::size_t k = 1; valid && k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) valid = false;
            cp = (cp << 6) | (next & 0x3F);
        }
        if (valid && ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                      (length == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
            valid = false;
        if (valid) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    out += '"';
    return out;
}

std::string json_pretty(std::string_view json) {
    constexpr int kMaxPrettyIndent = 64;
    std::string out;
    int depth = 0;
    bool in_string = false;
    // Unbalanced input (not valid JSON) must not make the depth negative, and indentation
    // stops growing past kMaxPrettyIndent levels so the output stays linear in the input.
    auto newline = [&] {
        out += '\n';
        out.append(static_cast<std::size_t>(2 * std::clamp(depth, 0, kMaxPrettyIndent)), ' ');
    };
    for (std::size_t i = 0; i < json.size(); ++i) {
        char c = json[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < json.size()) out += json[++i];
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            out += c;
            break;
        case '{':
        case '[': {
            char close = c == '{' ? '}' : ']';
            std::size_t next = i + 1;
            while (next < json.size() && (json[next] == ' ' || json[next] == '\n' || json[next] == '\t' || json[next] == '\r')) ++next;
            if (next < json.size() && json[next] == close) {
                out += c;
                out += close;
                i = next;
                break;
            }
            out += c;
            ++depth;
            newline();
            break;
        }
        case '}':
        case ']':
            if (depth > 0) --depth;
            newline();
            out += c;
            break;
        case ',':
            out += c;
            newline();
            break;
        case ':':
            out += ": ";
            break;
        case ' ':
        case '\n':
        case '\t':
        case '\r':
            break;
        default:
            out += c;
        }
    }
    return out;
}

} // namespace airlock
