// JSON text for people and tools: string literals and re-indentation.
#include "airlock/connection/json.hpp"
#include "utf8_sequence.hpp"

#include <algorithm>
#include <cstdint>

namespace airlock {

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
        std::uint32_t cp = 0;
        const std::size_t length = detail::utf8_sequence(text, i, cp);
        if (length != 0 && detail::is_c1_control(cp)) {
            // A C1 control (U+0080..U+009F, e.g. CSI): escaped like C0, since terminals obey
            // them and JSON text here ends up on one (airlockctl output).
            out += "\\u00";
            out += kHex[cp >> 4];
            out += kHex[cp & 15];
            i += length;
        } else if (length != 0 && detail::is_hidden_format_control(cp)) {
            // A bidirectional control or line separator: escaped, so the JSON shows it.
            out += "\\u";
            for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
            i += length;
        } else if (length != 0) {
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
