#pragma once
// The messages of the journal plugin, shared by the plugin and the programs that call it.
#include <airlock/connection/types.hpp>

#include <cstdint>

namespace journal {

struct AppendRequest {
    airlock::String<4000> record;  ///< one line; a newline is added
};
AIRLOCK_STRUCT(AppendRequest, record)

struct AppendReply {
    std::uint64_t records = 0;  ///< records this plugin has appended since it started
};
AIRLOCK_STRUCT(AppendReply, records)

struct RewriteRequest {
    airlock::String<256> forged;  ///< what the plugin tries to write over the first record
};
AIRLOCK_STRUCT(RewriteRequest, forged)

/// What each attempt to rewrite history returned: >= 0 on success, -errno on failure.
struct RewriteReply {
    std::int64_t pwrite_at_0 = 0;      ///< pwrite(fd, forged, 0): with O_APPEND it lands at the end
    std::int64_t seek_to_0 = 0;        ///< lseek(fd, 0, SEEK_SET) + write: also lands at the end
};
AIRLOCK_STRUCT(RewriteReply, pwrite_at_0, seek_to_0)

/// "truncate": ftruncate(journal, 0). The sandbox refuses it (by default by ending the plugin).
struct TruncateRequest {
    std::uint64_t length = 0;
};
AIRLOCK_STRUCT(TruncateRequest, length)

} // namespace journal
