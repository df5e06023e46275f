// Text from an untrusted peer (an error reply's message, a progress report) on its way to a
// log or a terminal.
#pragma once

#include <string>
#include <string_view>

namespace airlock {

/// `text` made safe to print in a status message, a log or a terminal: control characters
/// (C0 but tab, so also CR and LF, which could forge a log line; DEL; the C1 range
/// U+0080-U+009F, whose ESC and CSI start terminal escape sequences), the invisible
/// characters that reorder or split what is shown (bidirectional marks, embeddings, overrides
/// and isolates; U+2028, U+2029) and bytes that are not valid UTF-8 each become '?'; other
/// UTF-8 stays.
std::string printable_text(std::string_view text);

/// The same in place; text of printable ASCII only (the common case) is left untouched, with
/// no copy.
void make_printable(std::string& text);

} // namespace airlock
