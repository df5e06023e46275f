// checksum_bench: the `checksum` example end to end. A host process launches the confined
// checksum plugin (Spawner + PluginClient, the plugin's real limits and default syscall
// profile) and has it hash 1 GiB sent as sealed shared-memory buffers of 256 MiB each.
//
//   checksum_1GiB_GBps   bytes hashed / wall time, median of 3 runs (+1 warm-up). Each run:
//                        for every slice, create a fresh SealedBuffer, fill it, seal it, send
//                        its descriptor in a "sha256" call and wait for the reply — what a
//                        host pays to have untrusted code checksum data it cannot alter.
//
// $AIRLOCK_BENCH_CHECKSUM_ROUNDS overrides the 3 runs. No assertions: the replies are checked
// only for their size (a wrong size means the run measured nothing and is an error).
#include "plugin_support.hpp"

#include "checksum/checksum_api.hpp"

#include <airlock/connection/shared_memory.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawner.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kTotal = std::size_t(1) << 30;
constexpr std::size_t kSlice = std::size_t(256) << 20;

/// One run: 1 GiB in sealed slices, each created, filled, sealed and hashed. Returns seconds.
double run_once(airlock::host::PluginClient& client, std::uint8_t seed) {
    Clock::time_point start = Clock::now();
    for (std::size_t done = 0; done < kTotal; done += kSlice) {
        auto buffer = airlock::SealedBuffer::create(kSlice, "checksum-bench");
        if (!buffer) throw std::runtime_error("SealedBuffer::create: " + buffer.status().to_string());
        auto bytes = buffer->writable();
        std::memset(bytes.data(), static_cast<int>(seed + done / kSlice), bytes.size());
        if (auto status = buffer->seal(); !status.ok()) throw std::runtime_error("seal: " + status.to_string());
        auto fd = buffer->share();
        if (!fd) throw std::runtime_error("share: " + fd.status().to_string());
        checksum::ChecksumRequest request;
        request.data = std::move(*fd);
        auto reply = client.call<checksum::ChecksumRequest, checksum::ChecksumReply>("sha256", request, 60s);
        if (!reply) throw std::runtime_error("sha256: " + reply.status().to_string());
        if (reply->size != kSlice) throw std::runtime_error("sha256: the plugin hashed " + std::to_string(reply->size) + " bytes");
    }
    return seconds_since(start);
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int rounds = env_int("AIRLOCK_BENCH_CHECKSUM_ROUNDS", 3);
        TempDir dir("checksum-bench");
        // examples/checksum/checksum.toml; the memory limit fits one mapped 256 MiB slice
        // plus the plugin itself.
        airlock::host::Spawner spawner(example_plugin_config(dir, "checksum", AIRLOCK_CHECKSUM_EXE, "512MiB"));
        ReadyPlugin plugin = connect(spawner);
        note("checksum: 1 GiB as sealed 256 MiB buffers (each created, filled, sealed, sent, hashed with SHA-256 "
             "by the confined checksum plugin); " + std::to_string(rounds) + " runs (+1 warm-up), median");
        run_once(*plugin.client, 0);
        std::vector<double> gbps;
        for (int round = 0; round < rounds; ++round) {
            double seconds = run_once(*plugin.client, static_cast<std::uint8_t>(round + 1));
            gbps.push_back(static_cast<double>(kTotal) / seconds / 1e9);
        }
        print_result("checksum_1GiB_GBps", median(gbps), "GB/s");
        stop(plugin);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "checksum_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
