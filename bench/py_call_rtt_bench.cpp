// Python plugin call round trip: examples/hello-py (Debian's python3 running the Python SDK)
// confined by its own TOML, called from C++ through PluginClient, against the C++ hello under
// the same host libraries, in the same run.
//
//   py_call_rtt_us         median time of one `greet` call to hello-py: encode, send, the
//                          Python side's receive/decode/handler/encode/send, receive, decode.
//   cpp_call_rtt_us        the same call to the C++ hello, for scale.
//
// Both plugins and this process are pinned to one CPU (the plugins inherit the affinity), as
// in the other round-trip benchmarks. Rounds alternate (interleave): each round times a batch
// of calls to each plugin; the result is the median of the per-round medians.
//
// Environment: AIRLOCK_BENCH_PY_ROUNDS (default 20), AIRLOCK_BENCH_PY_CALLS (calls per round
// and plugin, default 200), AIRLOCK_BENCH_CPU (default: the highest allowed CPU).
#include "plugin_support.hpp"

#include <airlock/connection/types.hpp>
#include <airlock/host/config_loader.hpp>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

struct GreetRequest {
    airlock::String<256> name;
};
AIRLOCK_STRUCT(GreetRequest, name)
struct GreetReply {
    airlock::String<512> text;
};
AIRLOCK_STRUCT(GreetReply, text)

// Median of `calls` greet round trips, in microseconds.
double batch_median_us(airlock::host::PluginClient& client, int calls) {
    std::vector<double> times;
    times.reserve(static_cast<std::size_t>(calls));
    for (int i = 0; i < calls; ++i) {
        const auto start = Clock::now();
        auto reply = client.call<GreetRequest, GreetReply>("greet", GreetRequest{"bench"}, std::chrono::seconds(10));
        times.push_back(seconds_since(start) * 1e6);
        if (!reply || reply->text != "hello, bench") {
            throw std::runtime_error("greet failed: " + (reply ? std::string(reply->text) : reply.status().to_string()));
        }
    }
    return median(std::move(times));
}

} // namespace
} // namespace bench

int main() {
    using namespace bench;
    try {
        const int cpu = choose_cpu();
        const int rounds = env_int("AIRLOCK_BENCH_PY_ROUNDS", 20);
        const int calls = env_int("AIRLOCK_BENCH_PY_CALLS", 200);
        pin_to_cpu(cpu);

        TempDir dir("py-call-bench");
        airlock::host::Spawner python_spawner(
            airlock::host::load_config(AIRLOCK_HELLO_PY_TOML).plugins.at("hello-py"));
        airlock::host::Spawner cpp_spawner(example_plugin_config(dir, "hello", AIRLOCK_HELLO_EXE, "256MiB"));
        ReadyPlugin python = connect(python_spawner);
        ReadyPlugin cpp = connect(cpp_spawner);
        note("py_call: pinned to CPU " + std::to_string(cpu) + " (plugins inherit it); " + std::to_string(rounds) +
             " rounds (+1 warm-up) of " + std::to_string(calls) +
             " greet calls to hello-py and to the C++ hello, interleaved; median of per-round medians");

        std::vector<double> python_us, cpp_us;
        interleave(rounds, 2, [&](int round, int side) {
            const double value = batch_median_us(side == 0 ? *python.client : *cpp.client, calls);
            if (round > 0) (side == 0 ? python_us : cpp_us).push_back(value);
        });
        stop(python);
        stop(cpp);
        print_result("py_call_rtt_us", median(python_us), "us");
        print_result("cpp_call_rtt_us", median(cpp_us), "us");
    } catch (const std::exception& error) {
        std::fprintf(stderr, "py_call_rtt_bench: %s\n", error.what());
        return 1;
    }
    return 0;
}
