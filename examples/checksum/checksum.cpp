// checksum: SHA-256 of a sealed shared-memory buffer of any size (the bulk-data path).
// The caller fills an airlock::SealedBuffer, seals it and sends its descriptor; the plugin
// refuses any buffer that is not sealed, so the bytes it hashes are the bytes the caller meant.
#include "checksum_api.hpp"
#include "sha256.hpp"

#include <airlock/connection/shared_memory.hpp>
#include <airlock/plugin/plugin.hpp>

int main() {
    airlock::plugin::Plugin plugin;
    plugin.on<checksum::ChecksumRequest, checksum::ChecksumReply>(
        "sha256", [](checksum::ChecksumRequest& request) -> airlock::Result<checksum::ChecksumReply> {
            auto buffer = airlock::SealedBuffer::adopt_verified(std::move(request.data));
            if (!buffer) return buffer.status();
            checksum::Sha256 hash;
            hash.update(buffer->bytes());
            return checksum::ChecksumReply{checksum::Sha256::hex(hash.finish()), buffer->size()};
        });
    return plugin.run();
}
