// The checksum example under the real host confinement: the SHA-256 of a sealed buffer matches
// sha256sum on a file of the same bytes; an unsealed buffer is refused.
#include "sdk_support.hpp"

#include "checksum/checksum_api.hpp"

#include <airlock/connection/shared_memory.hpp>

#include <fcntl.h>

#include <cstdio>

using namespace airlock;
using namespace airlock::sdk_test;

namespace {

std::string sha256sum_of(const std::string& path) {
    std::string text;
    FILE* pipe = ::popen(("sha256sum '" + path + "'").c_str(), "r");
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) text += buffer;
    ::pclose(pipe);
    return text.substr(0, 64);
}

} // namespace

TEST_CASE("checksum: SHA-256 of sealed buffers matches sha256sum, unsealed ones are refused", "[example][checksum]") {
    TempDir scratch;
    RunningPlugin checksum(host::load_config(AIRLOCK_CHECKSUM_TOML).plugins.at("checksum"));

    // The last size is over the plugin's 64 MiB progress step: its progress calls reach a host
    // (this test's PluginClient) that does not serve progress, get an error reply, and the hash
    // must still be right.
    for (std::size_t size : {std::size_t(0), std::size_t(3), std::size_t(64), std::size_t(100000), (std::size_t(40) << 20) + 7,
                             (std::size_t(80) << 20) + 1}) {
        auto buffer = SealedBuffer::create(size);
        REQUIRE(buffer.ok());
        auto bytes = buffer->writable();
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
        const std::string file = scratch.path() + "/data";
        {
            FILE* out = std::fopen(file.c_str(), "wb");
            if (size) std::fwrite(bytes.data(), 1, size, out);
            std::fclose(out);
        }
        REQUIRE(buffer->seal().ok());
        ::checksum::ChecksumRequest request;
        request.data = std::move(*buffer->share());
        auto reply = checksum.client().call<::checksum::ChecksumRequest, ::checksum::ChecksumReply>("sha256", request,
                                                                                                     std::chrono::seconds(30));
        INFO("size " << size << ": " << reply.status().to_string());
        REQUIRE(reply.ok());
        CHECK(reply->size == size);
        CHECK(std::string(reply->sha256) == sha256sum_of(file));
    }

    auto unsealed = SealedBuffer::create(4096);
    REQUIRE(unsealed.ok());
    ::checksum::ChecksumRequest request;
    request.data = UniqueFd(::fcntl(unsealed->fd(), F_DUPFD_CLOEXEC, 3));
    auto refused = checksum.client().call<::checksum::ChecksumRequest, ::checksum::ChecksumReply>("sha256", request,
                                                                                                    std::chrono::seconds(10));
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.status().message(), Catch::Contains("not sealed"));

    CHECK(checksum.stop().exit_code == 0);
}
