// See shebang_line.hpp.
#include "airlock/host/shebang_line.hpp"

#include <airlock/connection/printable_text.hpp>

namespace airlock::host {

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

ShebangLine malformed(std::string problem) {
    ShebangLine result;
    result.kind = ShebangLine::Kind::Malformed;
    result.problem = std::move(problem);
    return result;
}

} // namespace

ShebangLine parse_shebang_line(std::string_view head) {
    if (head.size() > kShebangBytes) head = head.substr(0, kShebangBytes);
    if (head.size() < 2 || head[0] != '#' || head[1] != '!') return {};
    std::string_view line = head.substr(2);
    const auto newline = line.find('\n');
    if (newline == std::string_view::npos) {
        return malformed("the #! line is longer than " + std::to_string(kShebangBytes - 1) + " bytes");
    }
    line = line.substr(0, newline);
    while (!line.empty() && blank(line.back())) line.remove_suffix(1);

    std::size_t begin = 0;
    while (begin < line.size() && blank(line[begin])) ++begin;
    std::size_t end = begin;
    while (end < line.size() && !blank(line[end]) && line[end] != '\0') ++end;
    if (end == begin) return malformed("the #! line names no interpreter");

    ShebangLine result;
    result.kind = ShebangLine::Kind::Script;
    result.interpreter = std::string(line.substr(begin, end - begin));
    // The kernel passes the rest as a C string: a NUL ends the name without an argument, and
    // cuts the argument short.
    if (end < line.size() && line[end] != '\0') {
        std::size_t first = end;
        while (first < line.size() && blank(line[first])) ++first;
        if (first < line.size()) {
            const std::string_view rest = line.substr(first);
            result.argument = std::string(rest.substr(0, rest.find('\0')));
        }
    }
    if (result.interpreter[0] != '/') {
        return malformed("the #! interpreter " + printable_text(result.interpreter) + " is not an absolute path");
    }
    // No real interpreter's path holds control characters; refused, they never reach a
    // message, a log or a terminal.
    if (printable_text(result.interpreter) != result.interpreter) {
        return malformed("the #! interpreter " + printable_text(result.interpreter) +
                         " holds control characters or bytes that are not UTF-8");
    }
    return result;
}

} // namespace airlock::host
