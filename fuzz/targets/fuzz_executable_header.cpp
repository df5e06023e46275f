// Fuzz target: what the host reads from a plugin's executable before it starts it, a file
// that may come from an untrusted place: its ELF program headers (PT_INTERP) and its #! line
// (interpreter_of_open_file(), host/src/sandbox/elf_interpreter.cpp, which decides the
// Landlock rules and the private root; parse_shebang_line(), shebang_line.cpp, which the
// spawner's script launch also uses to decide what it runs).
//
// Input: the whole file, written to a memfd (a real file read with pread, as the host does).
//
// Properties beyond "no crash, no sanitizer report, no descriptor leaked":
//  - a #! line the parser accepts names the same interpreter to interpreter_of_open_file()
//    (the Landlock rules and the private root then hold exactly what the launch executes);
//    one it calls malformed is refused by interpreter_of_open_file() too;
//  - an accepted interpreter is an absolute path with no blank, NUL or newline, and its
//    argument holds no NUL or newline (what the kernel would pass);
//  - every error message is terminal-safe (fuzz/support/terminal_safe.hpp): it may quote
//    bytes of the file, and the host prints and logs it;
//  - an accepted interpreter (#! or PT_INTERP) is printable (printable_text() leaves it as it
//    is) and absolute; a PT_INTERP one holds at most 4096 bytes.

#include "../support/fuzz_input.hpp"
#include "../support/terminal_safe.hpp"

#include <airlock/connection/printable_text.hpp>
#include <airlock/host/landlock_ruleset.hpp>
#include <airlock/host/shebang_line.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace fuzz = airlock::fuzz;
using airlock::host::ShebangLine;

namespace {

void check_shebang(std::string_view file, const airlock::Result<std::optional<std::string>>& read) {
    const ShebangLine line = airlock::host::parse_shebang_line(file.substr(0, airlock::host::kShebangBytes));
    switch (line.kind) {
    case ShebangLine::Kind::NotScript:
        if (file.size() >= 2 && file[0] == '#' && file[1] == '!') fuzz::property_failed("a #! file was not taken for a script");
        return;
    case ShebangLine::Kind::Malformed:
        fuzz::check_terminal_safe("parse_shebang_line problem", line.problem);
        if (read) fuzz::property_failed("interpreter_of_open_file accepted a #! line the launch refuses", line.problem);
        return;
    case ShebangLine::Kind::Script:
        break;
    }
    const std::string& path = line.interpreter;
    if (path.empty() || path[0] != '/') fuzz::property_failed("#! interpreter is not absolute", path);
    if (path.find_first_of(std::string_view(" \t\n\0", 4)) != std::string::npos)
        fuzz::property_failed("#! interpreter holds a blank, newline or NUL", path);
    if (line.argument && line.argument->find_first_of(std::string_view("\n\0", 2)) != std::string::npos)
        fuzz::property_failed("#! argument holds a newline or NUL", *line.argument);
    if (airlock::printable_text(path) != path) fuzz::property_failed("#! interpreter is not printable", path);
    if (!read) fuzz::property_failed("interpreter_of_open_file refused a #! line the launch accepts", read.status().message());
    if (!read.value() || *read.value() != path)
        fuzz::property_failed("interpreter_of_open_file and the launch disagree on the #! interpreter", path);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("fuzz-executable", MFD_CLOEXEC);
    if (fd < 0) return 0;
    std::size_t written = 0;
    while (written < size) {
        const ssize_t n = ::write(fd, data + written, size - written);
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    const std::string_view file(reinterpret_cast<const char*>(data), written);
    auto read = airlock::host::interpreter_of_open_file(fd, "/fuzz/plugin");
    ::close(fd);

    if (!read) fuzz::check_terminal_safe("interpreter_of_open_file error", read.status().message());
    if (file.size() >= 2 && file[0] == '#' && file[1] == '!') {
        check_shebang(file, read);
    } else if (read && *read) {
        const std::string& interpreter = **read;
        if (interpreter.empty() || interpreter[0] != '/') fuzz::property_failed("PT_INTERP is not absolute", interpreter);
        if (airlock::printable_text(interpreter) != interpreter) fuzz::property_failed("PT_INTERP is not printable", interpreter);
        if (interpreter.size() > 4096) fuzz::property_failed("PT_INTERP longer than 4096 bytes");
    }
    // The parser on its own, on every prefix length the kernel might have read.
    (void)airlock::host::parse_shebang_line(file);
    return 0;
}
