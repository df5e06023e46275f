// checksum: SHA-256 of a sealed shared-memory buffer of any size (the bulk-data path).
// The caller fills an airlock::SealedBuffer, seals it and sends its descriptor; the plugin
// refuses any buffer that is not sealed, so the bytes it hashes are the bytes the caller meant.
#include "checksum_api.hpp"
#include "sha256.hpp"

#include <airlock/connection/shared_memory.hpp>
#include <airlock/plugin/plugin.hpp>

#include <algorithm>
#include <cstddef>
#include <string>

namespace {
// Big buffers take seconds (about 150 MB/s): tell the host how far we are every 64 MiB.
constexpr std::size_t kProgressStep = std::size_t{64} << 20;
} // namespace

int main() {
    airlock::plugin::Plugin plugin;
    plugin.on<checksum::ChecksumRequest, checksum::ChecksumReply>(
        "sha256", [&plugin](checksum::ChecksumRequest& request) -> airlock::Result<checksum::ChecksumReply> {
            auto buffer = airlock::SealedBuffer::adopt_verified(std::move(request.data));
            if (!buffer) return buffer.status();
            checksum::Sha256 hash;
            const auto bytes = buffer->bytes();
            for (std::size_t offset = 0; offset < bytes.size(); offset += kProgressStep) {
                const std::size_t length = std::min(kProgressStep, bytes.size() - offset);
                hash.update(bytes.subspan(offset, length));
                if (bytes.size() > kProgressStep) {
                    // Progress is advice: a host that does not record it must not fail the hash.
                    (void)plugin.progress("sha256", (offset + length) >> 20, bytes.size() >> 20, "MiB hashed");
                }
            }
            return checksum::ChecksumReply{checksum::Sha256::hex(hash.finish()), buffer->size()};
        });
    return plugin.run();
}
