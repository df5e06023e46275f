#pragma once
// The typed methods of the supervised test plugin (programs/supervised_plugin.cpp), shared with
// the tests that call them through Supervisor::call.
#include <airlock/connection/types.hpp>
#include <airlock/connection/unique_fd.hpp>

#include <cstdint>

namespace supervised {

/// `inspect` (tag 101): the plugin fstat()s the descriptor it received and closes it.
struct InspectRequest {
    airlock::UniqueFd file;
};
AIRLOCK_STRUCT(InspectRequest, file)

struct InspectReply {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
};
AIRLOCK_STRUCT(InspectReply, device, inode)

/// `work` (tag 102): sleeps `steps` x `step_ms`, calling the host's `progress` after each step.
struct WorkRequest {
    std::uint32_t steps = 0;
    std::uint32_t step_ms = 0;
};
AIRLOCK_STRUCT(WorkRequest, steps, step_ms)

struct WorkReply {
    std::uint32_t acknowledged = 0;  ///< progress reports of this call the host acknowledged
    std::uint64_t host_count = 0;    ///< the host's count of reports from this process, at the last ack
};
AIRLOCK_STRUCT(WorkReply, acknowledged, host_count)

} // namespace supervised
