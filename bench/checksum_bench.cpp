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
#include "support.hpp"

#include "checksum/checksum_api.hpp"

#include <airlock/connection/shared_memory.hpp>
#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawner.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kTotal = std::size_t(1) << 30;
constexpr std::size_t kSlice = std::size_t(256) << 20;

/// A temporary directory holding the generated TOML, removed at scope exit.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/airlock-checksum-bench-XXXXXX";
        if (!::mkdtemp(pattern)) throw_errno("mkdtemp");
        path_ = pattern;
        ::chmod(path_.c_str(), 0755);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        for (const std::string& file : files_) ::unlink(file.c_str());
        ::rmdir(path_.c_str());
    }
    std::string write(const std::string& name, const std::string& content) {
        std::string full = path_ + "/" + name;
        std::ofstream out(full);
        out << content;
        if (!out.flush()) throw std::runtime_error("cannot write " + full);
        files_.push_back(full);
        return full;
    }

private:
    std::string path_;
    std::vector<std::string> files_;
};

/// examples/checksum/checksum.toml with an absolute exec path and a memory limit that fits
/// one mapped 256 MiB slice plus the plugin itself.
airlock::host::PluginConfig checksum_config(TempDir& dir) {
    const std::string toml = "[plugin.checksum]\n"
                             "exec = \"" AIRLOCK_CHECKSUM_EXE "\"\n"
                             "protocol = \"airlock\"\n"
                             "\n"
                             "[plugin.checksum.limits]\n"
                             "memory = \"512MiB\"\n"
                             "open_files = 32\n"
                             "processes = 1\n"
                             "\n"
                             "[plugin.checksum.syscalls]\n"
                             "profile = \"default\"\n";
    return airlock::host::load_config(dir.write("checksum.toml", toml)).plugins.at("checksum");
}

std::string drain(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
    return text;
}

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
        TempDir dir;
        airlock::host::Spawner spawner(checksum_config(dir));
        airlock::host::SpawnedPlugin spawned = spawner.launch();
        auto client = airlock::host::PluginClient::connect(spawned, 10s);
        if (!client)
            throw std::runtime_error("checksum did not get ready: " + client.status().to_string() + "\n" +
                                     drain(spawned.stderr_pipe.get()));
        note("checksum: 1 GiB as sealed 256 MiB buffers (each created, filled, sealed, sent, hashed with SHA-256 "
             "by the confined checksum plugin); " + std::to_string(rounds) + " runs (+1 warm-up), median");
        run_once(*client, 0);
        std::vector<double> gbps;
        for (int round = 0; round < rounds; ++round) {
            double seconds = run_once(*client, static_cast<std::uint8_t>(round + 1));
            gbps.push_back(static_cast<double>(kTotal) / seconds / 1e9);
        }
        print_result("checksum_1GiB_GBps", median(gbps), "GB/s");
        auto stopped = client->stop(5s);
        if (!stopped) throw std::runtime_error("checksum stop: " + stopped.status().to_string());
        airlock::host::PluginExit exit = spawned.process.wait();
        if (exit.signaled || exit.exit_code != 0) throw std::runtime_error("checksum " + exit.describe());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "checksum_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
