// Text from a peer made safe for logs and terminals.
#include "airlock/connection/printable_text.hpp"

namespace airlock {

namespace {

// Length of the valid UTF-8 sequence (2-4 bytes, no overlong form, no surrogate, at most
// U+10FFFF) starting at text[at], or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
    if (length == 0 || at + length > text.size()) return 0;
    for (std::size_t i = 1; i < length; ++i)
        if ((byte(at + i) & 0xC0) != 0x80) return 0;
    const unsigned char second = byte(at + 1);
    if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0) || (lead == 0xF0 && second < 0x90) ||
        (lead == 0xF4 && second >= 0x90))
        return 0;
    return length;
}

} // namespace

std::string printable_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            // A run of printable ASCII goes in one append.
            const std::size_t start = i;
            while (i < text.size() && ((static_cast<unsigned char>(text[i]) >= 0x20 && static_cast<unsigned char>(text[i]) < 0x7F) ||
                                       text[i] == '\t'))
                ++i;
            if (i > start) {
                out.append(text, start, i - start);
                continue;
            }
            out += '?';  // a C0 control or DEL
            ++i;
            continue;
        }
        const std::size_t length = utf8_sequence_length(text, i);
        // U+0080-U+009F (C2 80-C2 9F) are the C1 controls: U+009B is CSI in some terminals.
        if (length == 0 || (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0)) {
            out += '?';
            i += length == 0 ? 1 : length;
            continue;
        }
        out.append(text, i, length);
        i += length;
    }
    return out;
}

} // namespace airlock
