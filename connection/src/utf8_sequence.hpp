// One UTF-8 sequence read strictly: the decoder json_quote and printable_text share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace airlock::detail {

/// The length (2-4) of the valid multi-byte UTF-8 sequence starting at text[at], with its code
/// point in `code_point`; 0 when there is none there (a stray continuation byte, an overlong
/// form, a surrogate, beyond U+10FFFF, or cut short by the end of `text`).
inline std::size_t utf8_sequence(std::string_view text, std::size_t at, std::uint32_t& code_point) {
    const auto lead = static_cast<unsigned char>(text[at]);
    const std::size_t length = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3
                             : lead >= 0xC2 && lead <= 0xDF ? 2 : 0;
    if (length == 0 || at + length > text.size()) return 0;
    std::uint32_t cp = length == 2 ? (lead & 0x1Fu) : length == 3 ? (lead & 0x0Fu) : (lead & 0x07u);
    for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[at + k]);
        if ((next & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (next & 0x3Fu);
    }
    if ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    code_point = cp;
    return length;
}

/// U+0080..U+009F: the C1 controls, which terminals obey (U+009B is CSI).
inline bool is_c1_control(std::uint32_t code_point) { return code_point >= 0x80 && code_point <= 0x9F; }

/// Invisible characters that change how the text around them is shown: the bidirectional
/// marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A..U+202E,
/// U+2066..U+2069; "Trojan Source": U+202E makes "exe.txt" show as "txt.exe") and the line
/// and paragraph separators (U+2028, U+2029), which some viewers break a log line at.
inline bool is_hidden_format_control(std::uint32_t code_point) {
    return code_point == 0x061C || code_point == 0x200E || code_point == 0x200F ||
           (code_point >= 0x2028 && code_point <= 0x202E) || (code_point >= 0x2066 && code_point <= 0x2069);
}

/// Printable ASCII or tab: what reaches a terminal or a log line unchanged.
inline bool is_printable_ascii(unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; }

} // namespace airlock::detail
