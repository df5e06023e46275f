// Text from a peer made safe for logs and terminals.
#include "airlock/connection/printable_text.hpp"
#include "utf8_sequence.hpp"

#include <algorithm>

namespace airlock {

std::string printable_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            // A run of printable ASCII goes in one append.
            const std::size_t start = i;
            while (i < text.size() && detail::is_printable_ascii(static_cast<unsigned char>(text[i]))) ++i;
            if (i > start) {
                out.append(text, start, i - start);
                continue;
            }
            out += '?';  // a C0 control or DEL
            ++i;
            continue;
        }
        std::uint32_t code_point = 0;
        const std::size_t length = detail::utf8_sequence(text, i, code_point);
        if (length == 0 || detail::is_c1_control(code_point) || detail::is_hidden_format_control(code_point)) {
            out += '?';
            i += length == 0 ? 1 : length;
            continue;
        }
        out.append(text, i, length);
        i += length;
    }
    return out;
}

void make_printable(std::string& text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](unsigned char c) { return detail::is_printable_ascii(c); });
    if (!plain) text = printable_text(text);
}

} // namespace airlock
