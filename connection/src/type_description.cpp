// Type descriptions (the text `describe()` produces) parsed back into TypeSpec trees.
#include "airlock/connection/type_description.hpp"

#include "airlock/connection/printable_text.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <unordered_set>

namespace airlock {

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
    // The description around the error, at most kExcerpt bytes, made printable: the text comes
    // from a peer, and a refusal reaches the host's log and airlockctl on every restart (raw,
    // its escapes drove the terminal and a newline forged a host line).
    std::string excerpt() const {
        constexpr std::size_t kExcerpt = 160;
        if (text_.size() <= kExcerpt) return printable_text(text_);
        const std::size_t start = std::min(error_at_ > kExcerpt / 2 ? error_at_ - kExcerpt / 2 : 0, text_.size() - kExcerpt);
        return (start > 0 ? "..." : "") + printable_text(text_.substr(start, kExcerpt)) +
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
            // Names seen so far, hashed: comparing each with all before it made a description
            // of 256-name enums and structs cost 70 ns a byte to parse instead of 20.
            std::unordered_set<std::string> seen;
            do {
                if (node.enumerators.size() == kMaxTypeMembers)
                    return fail("enum " + node.name + " has more than " + std::to_string(kMaxTypeMembers) + " enumerators");
                std::string name;
                std::int64_t value = 0;
                const std::size_t name_at = pos_;
                if (!identifier(name) || !expect("=") || !signed_number(value)) return false;
                if (!seen.insert(name).second) {
                    pos_ = name_at;
                    return fail("enumerator \"" + name + "\" appears twice");
                }
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
            std::unordered_set<std::string> seen;  // hashed, as for enumerators
            do {
                if (node.members.size() == kMaxTypeMembers)
                    return fail("struct " + node.name + " has more than " + std::to_string(kMaxTypeMembers) + " members");
                MemberSpec member;
                const std::size_t name_at = pos_;
                if (!identifier(member.name) || !expect(":")) return false;
                if (!seen.insert(member.name).second) {
                    pos_ = name_at;
                    return fail("member \"" + member.name + "\" appears twice");
                }
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

} // namespace airlock
