#pragma once
/// @file display_text.hpp
/// Text from a plugin made safe to show on a terminal or in a line-based log.

#include <string>
#include <string_view>

namespace airlock {

/// `text` with every character that could drive a terminal or split a log line replaced by
/// '?': C0 controls (all but tab, so also CR and LF), DEL, the C1 controls U+0080..U+009F
/// (which terminals honour as CSI, OSC, ST, NEL... both UTF-8 encoded, e.g. "\xC2\x9B", and
/// as raw bytes 0x80..0x9F) and every byte that is not part of valid UTF-8. Other valid UTF-8
/// is kept as it is. One '?' per replaced character (per byte for invalid bytes).
std::string display_safe_text(std::string_view text);

} // namespace airlock
