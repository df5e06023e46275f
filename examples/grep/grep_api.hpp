#pragma once
// The messages of the grep plugin, shared by the plugin and the programs that call it.
#include <airlock/connection/types.hpp>

#include <cstdint>

namespace grep {

struct SearchRequest {
    airlock::String<1024> pattern;      ///< a fixed string (not a regular expression)
    airlock::String<4096> path;         ///< where to start, relative to the granted tree ("" = all of it)
    std::uint32_t max_matches = 1000;   ///< stop after this many (at most 10000)
};
AIRLOCK_STRUCT(SearchRequest, pattern, path, max_matches)

struct Match {
    airlock::String<4096> file;   ///< relative to the granted tree
    std::uint32_t line = 0;       ///< 1-based
    airlock::String<4096> text;   ///< the line, without its newline (cut at 4096 bytes)
};
AIRLOCK_STRUCT(Match, file, line, text)

struct SearchReply {
    airlock::Vector<Match, 10000> matches;
    std::uint32_t files_searched = 0;
    bool truncated = false;  ///< max_matches was reached
};
AIRLOCK_STRUCT(SearchReply, matches, files_searched, truncated)

} // namespace grep
