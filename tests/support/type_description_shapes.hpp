#pragma once
// Type descriptions of a chosen shape, for measuring what a description's shape (not its
// length) costs the code that reads it (round 9, amplification: docs/supervisor.md).

#include <cstddef>
#include <string>

namespace airlock::test {

/// Two-letter names, all distinct for i < 676: "aa", "ba", ...
inline std::string two_letter_name(int i) { return std::string{char('a' + i % 26), char('a' + (i / 26) % 26)}; }

/// A struct of structs of `width` fd members each, as many as fit under `bytes` characters.
inline std::string nested_structs(int width, std::size_t bytes) {
    std::string inner;
    for (int i = 0; i < width; ++i) inner += (i ? "," : "") + two_letter_name(i) + ":fd";
    std::string text = "struct T{";
    for (int s = 0;; ++s) {
        std::string member =
            (s ? "," : "") + two_letter_name(s) + ":struct S" + std::to_string(s) + "{" + inner + "}";
        if (text.size() + member.size() + 1 > bytes) break;
        text += member;
    }
    return text + "}";
}

} // namespace airlock::test
