#pragma once
// The `#!` line of a script, split as the kernel's binfmt_script does. One pure parser for
// the two places that need it: executable_interpreter() (which interpreter the Landlock rules
// and the private root must hold) and the spawner's script launch (which interpreter it
// runs), so they cannot disagree. The bytes come from the plugin's executable, a file whose
// author the host does not trust; fuzz/targets/fuzz_executable_header.cpp fuzzes it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::host {

/// The kernel reads at most this much of a file to find a #! line (BINPRM_BUF_SIZE).
inline constexpr std::size_t kShebangBytes = 256;

/// What the first bytes of a file say about it as a script.
struct ShebangLine {
    enum class Kind { NotScript, Script, Malformed };
    Kind kind = Kind::NotScript;
    std::string interpreter;              ///< Script: the interpreter's path, as written
    std::optional<std::string> argument;  ///< Script: the one optional argument after it
    std::string problem;                  ///< Malformed: why, printable (no control bytes)
};

/// Splits `head`, the first (up to kShebangBytes) bytes of a file: not a script unless it
/// starts with "#!"; else, as the kernel does, the interpreter runs from the first non-blank
/// (space, tab) to the next blank, NUL or the line's end, and the rest of the line, trimmed
/// of blanks and cut at a NUL, is one optional argument (none when a NUL ended the name).
/// Malformed: no newline within `head` (the kernel could cut the name), no interpreter, an
/// interpreter that is not an absolute path, or one holding bytes printable_text() would mask
/// (control characters, invalid UTF-8).
ShebangLine parse_shebang_line(std::string_view head);

} // namespace airlock::host
