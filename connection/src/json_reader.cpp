// A small JSON reader: text -> JsonValue tree, within the limits of json.hpp.
#include "json_reader.hpp"

#include <string>
#include <unordered_set>
#include <utility>

namespace airlock::detail {

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

namespace {

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

} // namespace

Result<JsonValue> read_json(std::string_view text) { return JsonReader(text).run(); }

} // namespace airlock::detail
