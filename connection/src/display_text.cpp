// display_safe_text: see display_text.hpp.
#include <airlock/connection/display_text.hpp>

#include <cstdint>

namespace airlock {

namespace {

// The length of the valid UTF-8 sequence at the start of `text` and its code point, or 0
// when the first byte does not start one (overlong, surrogate, beyond U+10FFFF, cut short).
std::size_t utf8_sequence(std::string_view text, std::uint32_t& code_point) {
    const auto lead = static_cast<unsigned char>(text[0]);
    const std::size_t length = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3
                             : lead >= 0xC2 && lead <= 0xDF ? 2 : 0;
    if (length == 0 || length > text.size()) return 0;
    code_point = length == 2 ? (lead & 0x1Fu) : length == 3 ? (lead & 0x0Fu) : (lead & 0x07u);
    for (std::size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[k]);
        if ((next & 0xC0) != 0x80) return 0;
        code_point = (code_point << 6) | (next & 0x3Fu);
    }
    if (length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) return 0;
    if (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) return 0;
    return length;
}

} // namespace

std::string display_safe_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            out += (byte < 0x20 && byte != '\t') || byte == 0x7f ? '?' : static_cast<char>(byte);
            ++i;
            continue;
        }
        std::uint32_t code_point = 0;
        const std::size_t length = utf8_sequence(text.substr(i), code_point);
        if (length == 0 || (code_point >= 0x80 && code_point <= 0x9f)) {
            out += '?';
            i += length == 0 ? 1 : length;
            continue;
        }
        out.append(text.substr(i, length));
        i += length;
    }
    return out;
}

} // namespace airlock
