#pragma once
// The messages of the checksum plugin, shared by the plugin and the programs that call it.
#include <airlock/connection/types.hpp>
#include <airlock/connection/unique_fd.hpp>

#include <cstdint>

namespace checksum {

/// The data travels as a sealed shared-memory buffer (airlock::SealedBuffer): any size, no copy
/// through the socket, and the plugin can trust it will not change while it hashes.
struct ChecksumRequest {
    airlock::UniqueFd data;
};
AIRLOCK_STRUCT(ChecksumRequest, data)

struct ChecksumReply {
    airlock::String<64> sha256;  ///< lowercase hex
    std::uint64_t size = 0;      ///< bytes hashed
};
AIRLOCK_STRUCT(ChecksumReply, sha256, size)

} // namespace checksum
