#pragma once
// Small text helpers for tests: TOML strings and lists, output split into lines.

#include <sstream>
#include <string>
#include <vector>

namespace airlock::test_support {

/// `text` as a TOML basic string (the tests' paths and arguments need no escaping).
inline std::string quoted(const std::string& text) { return "\"" + text + "\""; }

/// `items` as a TOML array of strings: ["a", "b"].
inline std::string quoted_list(const std::vector<std::string>& items) {
    std::string list;
    for (const auto& item : items) list += (list.empty() ? "" : ", ") + quoted(item);
    return "[" + list + "]";
}

/// `text` split at newlines (a final newline ends the last line, it does not add one).
inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) lines.push_back(line);
    return lines;
}

} // namespace airlock::test_support
