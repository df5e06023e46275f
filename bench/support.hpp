#pragma once
// Shared helpers for the benchmarks: CPU pinning, a forked peer process, the interleaved
// round schedule, medians and result lines, a temporary directory for generated files.
// No timing assertions: benchmarks only report. (Starting a confined example plugin needs
// the host libraries: plugin_support.hpp.)

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace bench {

using Clock = std::chrono::steady_clock;

/// Seconds elapsed since `start`.
double seconds_since(Clock::time_point start);

/// The CPU both processes of a benchmark share: $AIRLOCK_BENCH_CPU if set, else the highest
/// CPU this process may run on. Same-CPU pinning matters: on these VMs a cross-CPU wake-up
/// costs 50-70 us per hop and would hide the library's own overhead.
int choose_cpu();

/// The positive integer in environment variable `name`, or `fallback` when it is unset.
int env_int(const char* name, int fallback);

/// Pins the calling process to `cpu` with sched_setaffinity; throws on failure.
void pin_to_cpu(int cpu);

/// Median of `values` (mean of the two middle ones for an even count); 0 for none.
double median(std::vector<double> values);

/// Prints one result line, `name value unit`, to stdout (flushed, so lines interleave sanely
/// with the notes on stderr).
void print_result(std::string_view name, double value, std::string_view unit);

/// Prints a note (configuration, what was measured) to stderr as `# text`.
void note(const std::string& text);

/// Throws std::runtime_error with `what` and strerror(errno).
[[noreturn]] void throw_errno(const std::string& what);

/// What `fd` gives now: read until end of file, or until a non-blocking descriptor (a
/// plugin's stderr pipe) has nothing more. For error messages.
std::string drain(int fd);

/// A temporary directory for generated files (a benchmark's TOML), removed with them at scope
/// exit.
class TempDir {
public:
    /// Makes /tmp/airlock-`name`-XXXXXX, mode 0755; throws on failure.
    explicit TempDir(const std::string& name);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    /// Writes `content` to the file `name` in the directory and returns its path; throws when
    /// it cannot.
    std::string write(const std::string& name, const std::string& content);

private:
    std::string path_;
    std::vector<std::string> files_;
};

/// A forked child running `body`, pinned to `cpu` before `body` starts. The child exits 0 when
/// `body` returns, 1 (with the message on stderr) when it throws. The child does not exec: it
/// runs ordinary code (allocating, formatting), which is only safe when the parent has no
/// other thread whose locks it could inherit — so the constructor refuses (throws) to fork
/// from a multi-threaded process.
class Child {
public:
    Child(int cpu, std::function<void()> body);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    /// Waits for the child; throws if it did not exit with 0.
    void join();

private:
    pid_t pid_ = -1;
};

/// The interleaved schedule both processes follow, so they agree on which side runs when
/// without any extra messages: round 0 is a warm-up (its values are discarded), then `rounds`
/// rounds in which every side runs once, the starting side rotating from round to round
/// (A B, B A, A B ... for two sides) so neither side always runs first.
/// Calls `segment(round, side)` for each segment in order.
void interleave(int rounds, int sides, const std::function<void(int round, int side)>& segment);

/// The per-round values of a two-sided `interleave(rounds, 2, ...)` comparison: side 0 is the
/// subject, side 1 the raw baseline. A round's pair (and its ratio subject / raw) is kept once
/// both sides have run; the warm-up round 0 is discarded.
struct PairedRounds {
    std::vector<double> subject, raw, ratios;

    /// Records what `side` (0 or 1) measured in `round`.
    void record(int round, int side, double value);

private:
    double pending_[2] = {0, 0};
};

} // namespace bench
