// Spawn benchmarks: a fully confined `hello` plugin started through the real host libraries
// (Spawner::launch + PluginClient::connect: handshake, grant table, ReadyNotice) against a raw
// posix_spawn of a minimal program that writes one byte to a socketpair, in the same run.
//
//   spawn_to_ready_ms        launch() until PluginClient is ready (the plugin is then stopped
//                            gracefully, outside the timing). The Spawner is prepared once,
//                            as a supervisor does; its preparation is not timed. Like a
//                            supervisor's restart, each launch after the first takes the
//                            standby child the Spawner prepared at the previous plugin's reap,
//                            inside the untimed stop (docs/spawning.md, "Standby child"); the
//                            launch still runs every per-start check.
//   spawn_raw_ms             posix_spawn of the minimal program until its byte is read (the
//                            child is reaped outside the timing).
//   spawn_ratio_vs_raw       median of the per-round ratios spawn_to_ready / raw.
//   spawn_ratio_vs_raw_1GiB  the same while this process holds 1 GiB of touched memory.
//   spawn_to_ready_cold_ms, spawn_raw_cold_ms, spawn_ratio_cold_vs_raw
//                            the same with a Spawner that keeps no standby child
//                            (SpawnerUse::LaunchesWithoutStandby): every launch cold, as a
//                            plugin's first start.
//   spawn_cpu_ms, spawn_cpu_no_namespaces_ms, namespaces_cpu_ms
//                            CPU time (user + system, getrusage of this process and its reaped
//                            descendants: host, airlock-pid-init and the plugin) of one
//                            launch-to-ready-and-stop cycle with the namespaces layer as
//                            configured and with it off, interleaved; and the median of the
//                            per-round differences. Wall-clock medians swing with the machine's
//                            load, CPU time much less. Work the kernel defers to its own threads
//                            (freeing a namespace after an RCU grace period) is not counted.
//   spawn_to_ready_no_namespaces_ms
//                            spawn_to_ready with the layer off, from the same rounds.
//   plugins_for_rss, host_rss_per_plugin_kib, all_ready_s
//                            N idle hello plugins launched and connected one after the other
//                            under this process; VmRSS before and after, and the time until
//                            the last one is ready. They are then killed.
//
// Everything runs pinned to one CPU (the plugins inherit the affinity), so parent and child
// share it as in the other round-trip benchmarks. Rounds alternate A B, B A, ... (interleave).
//
// Environment: AIRLOCK_BENCH_SPAWN_ROUNDS (default 15), AIRLOCK_BENCH_PLUGINS (default 1000, as
// in the issue; about 10 s; 0 skips that part), AIRLOCK_BENCH_CPU (default: the highest allowed CPU),
// AIRLOCK_BENCH_SPAWN_PROFILE=N (only N launch-to-ready-and-stop cycles and their median CPU
// time, nothing else: for `perf record`, see docs/spawning.md "Per phase").
//
// The same source built with AIRLOCK_SPAWN_RAW_CHILD is the minimal program: it writes one
// byte to the descriptor named by argv[1] and exits.

#ifdef AIRLOCK_SPAWN_RAW_CHILD

#include <cstdlib>

#include <unistd.h>

int main(int argc, char** argv) {
    int fd = argc > 1 ? std::atoi(argv[1]) : 3;
    char byte = 1;
    return ::write(fd, &byte, 1) == 1 ? 0 : 1;
}

#else

#include "plugin_support.hpp"

#include <airlock/host/landlock_ruleset.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace bench {
namespace {

/// How a program is linked. Its own start-up (dynamic loader, relocations) is part of what
/// both sides measure, so the notes say what is being compared.
std::string linkage(const char* path) {
    auto interpreter = airlock::host::executable_interpreter(path);
    if (!interpreter) return "unknown (" + interpreter.status().message() + ")";
    return *interpreter ? "dynamically (ELF interpreter " + **interpreter + ")" : "statically";
}

/// "on" or "unavailable (why)" for the namespaces layer of `spawner`.
std::string layer_state(const airlock::host::Spawner& spawner) {
    for (const auto& layer : spawner.layers()) {
        if (layer.layer == airlock::host::IsolationLayer::Namespaces) {
            return layer.applied ? "on" : "unavailable (" + layer.reason + ")";
        }
    }
    return "unknown";
}

/// One confined hello from launch() to ready, in ms; stops it afterwards (untimed).
double spawn_to_ready_once(const airlock::host::Spawner& spawner) {
    Clock::time_point start = Clock::now();
    ReadyPlugin plugin = connect(spawner);
    double ms = seconds_since(start) * 1e3;
    stop(plugin);
    return ms;
}

/// CPU time (user + system) of this process and of its reaped descendants so far, in ms.
double cpu_ms_so_far() {
    double total = 0;
    for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
        rusage usage{};
        if (::getrusage(who, &usage) != 0) throw_errno("getrusage");
        for (const timeval& t : {usage.ru_utime, usage.ru_stime}) total += t.tv_sec * 1e3 + t.tv_usec / 1e3;
    }
    return total;
}

/// One launch-to-ready cycle, stop and reap included: its wall time to ready and its CPU time.
struct Cycle {
    double ready_ms = 0;
    double cpu_ms = 0;
};

Cycle spawn_cycle(const airlock::host::Spawner& spawner) {
    const double cpu_before = cpu_ms_so_far();
    Cycle cycle;
    cycle.ready_ms = spawn_to_ready_once(spawner);  // stops and reaps the plugin
    cycle.cpu_ms = cpu_ms_so_far() - cpu_before;
    return cycle;
}

/// posix_spawn of the minimal program until its byte is read, in ms; reaps it afterwards.
double raw_spawn_once() {
    int fds[2];
    // The child's end is inherited (no CLOEXEC); ours is not.
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) != 0) throw_errno("socketpair");
    if (::fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0) throw_errno("fcntl");
    std::string fd_arg = std::to_string(fds[1]);
    char program[] = AIRLOCK_RAW_CHILD_EXE;
    char* argv[] = {program, fd_arg.data(), nullptr};

    Clock::time_point start = Clock::now();
    pid_t pid = -1;
    int error = ::posix_spawn(&pid, program, nullptr, nullptr, argv, environ);
    if (error != 0) {
        errno = error;
        throw_errno("posix_spawn " + std::string(program));
    }
    char byte = 0;
    ssize_t got = ::read(fds[0], &byte, 1);
    double ms = seconds_since(start) * 1e3;

    ::close(fds[0]);
    ::close(fds[1]);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) throw_errno("waitpid");
    if (got != 1) throw std::runtime_error("raw child: no byte arrived");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("raw child failed");
    return ms;
}

enum Side { kPlugin = 0, kRaw = 1 };

struct Comparison {
    double plugin_ms = 0;
    double raw_ms = 0;
    double ratio = 0;
};

Comparison compare(const airlock::host::Spawner& spawner, int rounds) {
    PairedRounds rounds_ms;  // side kPlugin, then kRaw
    interleave(rounds, 2, [&](int round, int side) {
        rounds_ms.record(round, side, side == kRaw ? raw_spawn_once() : spawn_to_ready_once(spawner));
    });
    return {median(rounds_ms.subject), median(rounds_ms.raw), median(rounds_ms.ratios)};
}

/// The namespaces layer's cost: the same plugin with the layer as configured (side 0) and off
/// (side 1), interleaved.
void namespaces_cost(const airlock::host::Spawner& with_layer, const airlock::host::Spawner& without, int rounds) {
    PairedRounds cpu_ms, ready_ms;
    interleave(rounds, 2, [&](int round, int side) {
        Cycle cycle = spawn_cycle(side == 0 ? with_layer : without);
        cpu_ms.record(round, side, cycle.cpu_ms);
        ready_ms.record(round, side, cycle.ready_ms);
    });
    std::vector<double> differences;
    for (std::size_t i = 0; i < cpu_ms.subject.size(); ++i) differences.push_back(cpu_ms.subject[i] - cpu_ms.raw[i]);
    print_result("spawn_cpu_ms", median(cpu_ms.subject), "ms");
    print_result("spawn_cpu_no_namespaces_ms", median(cpu_ms.raw), "ms");
    print_result("namespaces_cpu_ms", median(differences), "ms");
    print_result("spawn_to_ready_no_namespaces_ms", median(ready_ms.raw), "ms");
}

/// VmRSS of this process in KiB.
long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    throw std::runtime_error("no VmRSS in /proc/self/status");
}

/// 1 GiB of anonymous memory, touched, released at scope exit.
class TouchedMemory {
public:
    explicit TouchedMemory(std::size_t size) : size_(size) {
        data_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (data_ == MAP_FAILED) throw_errno("mmap");
        std::memset(data_, 0x5a, size_);
    }
    TouchedMemory(const TouchedMemory&) = delete;
    TouchedMemory& operator=(const TouchedMemory&) = delete;
    ~TouchedMemory() { ::munmap(data_, size_); }

private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

void raise_open_files_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) throw_errno("getrlimit");
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) throw_errno("setrlimit");
}

void many_plugins(const airlock::host::Spawner& spawner, int count) {
    std::vector<ReadyPlugin> plugins;
    plugins.reserve(static_cast<std::size_t>(count));
    long before = rss_kib();
    Clock::time_point start = Clock::now();
    for (int i = 0; i < count; ++i) plugins.push_back(connect(spawner));
    double all_ready = seconds_since(start);
    long after = rss_kib();
    note("rss: " + std::to_string(before) + " KiB before, " + std::to_string(after) + " KiB with " +
         std::to_string(count) + " ready plugins");
    print_result("plugins_for_rss", count, "count");
    print_result("host_rss_per_plugin_kib", static_cast<double>(after - before) / count, "KiB");
    print_result("all_ready_s", all_ready, "s");
    plugins.clear();  // PluginProcess kills and reaps each one
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        int cpu = choose_cpu();
        int rounds = env_int("AIRLOCK_BENCH_SPAWN_ROUNDS", 15);
        int plugins = env_int("AIRLOCK_BENCH_PLUGINS", 1000);
        pin_to_cpu(cpu);
        raise_open_files_limit();

        TempDir dir("spawn-bench");
        // examples/hello/hello.toml with an absolute exec path.
        airlock::host::Spawner spawner(example_plugin_config(dir, "hello", AIRLOCK_HELLO_EXE, "256MiB"));
        note("spawn: pinned to CPU " + std::to_string(cpu) + " (plugins inherit it); " + std::to_string(rounds) +
             " rounds (+1 warm-up) of one confined hello launch-to-ready and one raw posix_spawn, interleaved; "
             "medians of per-round values");
        note("spawn: hello is linked " + linkage(AIRLOCK_HELLO_EXE) + ", the raw program " +
             linkage(AIRLOCK_RAW_CHILD_EXE));

        if (int cycles = env_int("AIRLOCK_BENCH_SPAWN_PROFILE", 0); cycles > 0) {
            // Only launch-to-ready-and-stop cycles, for a profiler (perf record) to attribute.
            std::vector<double> cpu;
            for (int i = 0; i < cycles; ++i) cpu.push_back(spawn_cycle(spawner).cpu_ms);
            print_result("spawn_cpu_ms", median(cpu), "ms");
            return 0;
        }
        Comparison plain = compare(spawner, rounds);
        print_result("spawn_to_ready_ms", plain.plugin_ms, "ms");
        print_result("spawn_raw_ms", plain.raw_ms, "ms");
        print_result("spawn_ratio_vs_raw", plain.ratio, "ratio");

        {
            // A plugin's first start, and any start without a standby child (protocol "none",
            // scripts, restart = "no", a check that found a change): the whole launch on the path.
            airlock::host::Spawner cold_spawner(example_plugin_config(dir, "hello", AIRLOCK_HELLO_EXE, "256MiB"),
                                                airlock::host::SpawnerUse::LaunchesWithoutStandby);
            Comparison cold = compare(cold_spawner, rounds);
            print_result("spawn_to_ready_cold_ms", cold.plugin_ms, "ms");
            print_result("spawn_raw_cold_ms", cold.raw_ms, "ms");
            print_result("spawn_ratio_cold_vs_raw", cold.ratio, "ratio");
        }

        {
            note("spawn: holding 1 GiB of touched memory");
            TouchedMemory memory(std::size_t(1) << 30);
            Comparison held = compare(spawner, rounds);
            print_result("spawn_to_ready_1GiB_ms", held.plugin_ms, "ms");
            print_result("spawn_raw_1GiB_ms", held.raw_ms, "ms");
            print_result("spawn_ratio_vs_raw_1GiB", held.ratio, "ratio");
        }

        {
            airlock::host::PluginConfig config = example_plugin_config(dir, "hello", AIRLOCK_HELLO_EXE, "256MiB");
            config.namespaces = airlock::host::NamespacesMode::Off;
            airlock::host::Spawner without_namespaces(config);
            note("spawn: namespaces layer " + layer_state(spawner) + " against off: " + std::to_string(rounds) +
                 " interleaved rounds of launch-to-ready-and-stop, CPU time of host and descendants");
            namespaces_cost(spawner, without_namespaces, rounds);
        }

        if (plugins > 0) {
            note("spawn: " + std::to_string(plugins) + " idle hello plugins launched and connected one after another");
            many_plugins(spawner, plugins);
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "spawn_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}

#endif
