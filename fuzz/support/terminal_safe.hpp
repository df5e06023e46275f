// Text a peer caused that reaches a terminal (airlockctl's output, the host's log): the
// property that no byte of it can start a terminal escape sequence.
#pragma once

#include "fuzz_input.hpp"

#include <string>
#include <string_view>

namespace airlock::fuzz {

/// True when `text` is valid UTF-8 without C0 controls (tab aside: it cannot drive a terminal), DEL or C1 controls (U+0080-U+009F).
inline bool terminal_safe(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
            ++i;
            continue;
        }
        const std::size_t length = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (length == 0 || i + length > text.size()) return false;
        std::uint32_t cp = c & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (next & 0x3F);
        }
        if (cp < 0xA0 || (length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += length;
    }
    return true;
}

/// Fails the run when `text` is not terminal-safe.
inline void check_terminal_safe(const char* what, std::string_view text) {
    if (!terminal_safe(text)) property_failed(what, std::string(text));
}

} // namespace airlock::fuzz
