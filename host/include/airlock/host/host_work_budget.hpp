#pragma once
// HostWorkBudget: what the event loop may spend on one plugin's unsolicited traffic.
//
// A PluginRunner given an allowance (the supervisor gives every plugin one: host_cpu_budget)
// charges its plugin the CPU time the loop thread spends on it (measured with
// CLOCK_THREAD_CPUTIME_ID around each handler: the connection, the output pipes, seccomp
// notifications). Over its budget, a plugin's violation notifications and output pipes are not
// read until it is back within it: the plugin then waits in its forbidden system call or on its
// full pipe, using no CPU, instead of the host working for it. A token bucket over CPU time: an
// allowance per interval, refilled continuously, at most one interval's worth saved up; a
// charge larger than what is left leaves a debt that the refill pays back first.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace airlock::host::detail {

/// CPU time the calling thread has used so far.
std::chrono::nanoseconds thread_cpu_time() noexcept;

/// How much host CPU time a plugin may cost per interval before its reading is paused.
struct HostWorkAllowance {
    std::chrono::nanoseconds per_interval{std::chrono::milliseconds(20)};  ///< 2% of one CPU
    std::chrono::milliseconds interval{1000};
};

/// How many bytes a plugin may make the host write to its log (the supervisor's output, the
/// journal) before its output pipes and unasked messages wait: the same token bucket as the
/// CPU time above, counting one byte per nanosecond. `bytes_per_second` (key
/// `host_log_budget`, 64 KiB by default), at most ten seconds' worth saved up; each line costs
/// its length plus kLogLineCost, so short lines are bounded too (about 250 a second by
/// default). Without it the CPU budget alone let one plugin's output make the host log 9.4 MB
/// a second (docs/supervisor.md, "What a plugin can make the host write").
struct HostLogAllowance {
    static constexpr std::size_t kDefaultBytesPerSecond = 64 * 1024;
    static constexpr std::size_t kLogLineCost = 256;  ///< a record's fields, the journal's index
    static HostWorkAllowance allowance(std::size_t bytes_per_second = kDefaultBytesPerSecond) {
        return {std::chrono::nanoseconds(bytes_per_second * 10), std::chrono::milliseconds(10'000)};
    }
};

/// One plugin process's budget of host work (see the file comment). Loop thread only.
class HostWorkBudget {
public:
    using Clock = std::chrono::steady_clock;

    explicit HostWorkBudget(boost::asio::io_context& io, HostWorkAllowance allowance = {});

    /// Runs `work`, charges the loop thread's CPU time it took, and returns its result.
    template <class Work>
    decltype(auto) charged(Work&& work) {
        struct Meter {
            HostWorkBudget& budget;
            std::chrono::nanoseconds began = thread_cpu_time();
            ~Meter() { budget.charge(thread_cpu_time() - began); }
        } meter{*this};
        return std::forward<Work>(work)();
    }

    /// Adds `spent` to the total and takes it from the bucket.
    void charge(std::chrono::nanoseconds spent, Clock::time_point now = Clock::now());
    /// Whether the bucket is in debt: reading should wait (`resume_later`).
    [[nodiscard]] bool over(Clock::time_point now = Clock::now());
    /// What it owes: the CPU time over its allowance not yet paid back (zero if none).
    [[nodiscard]] std::chrono::nanoseconds debt(Clock::time_point now = Clock::now());
    /// Starts it owing `debt` as of `since` (the time it was run up: the refill pays it back
    /// from then on). What a plugin's previous process left unpaid goes to the next one.
    void owe(std::chrono::nanoseconds debt, Clock::time_point since);
    /// Whether the debt is larger than `margin` (over() with a tolerance).
    [[nodiscard]] bool in_debt_beyond(std::chrono::nanoseconds margin, Clock::time_point now = Clock::now());
    /// Runs `resume` once the debt is paid back (on the io_context; dropped with the budget).
    /// Counts one pause per source paused.
    void resume_later(std::function<void()> resume);

    [[nodiscard]] const HostWorkAllowance& allowance() const noexcept { return allowance_; }
    /// Host CPU time charged so far.
    [[nodiscard]] std::chrono::nanoseconds spent() const noexcept { return spent_; }
    /// Times a source was paused because the plugin was over its budget.
    [[nodiscard]] std::uint64_t pauses() const noexcept { return pauses_; }

private:
    void refill(Clock::time_point now);

    HostWorkAllowance allowance_;
    boost::asio::steady_timer timer_;
    // Shared with the timer's handler, which may run after the budget is gone (a timer that
    // already fired is not cancelled by its destruction): it only holds it weakly.
    std::shared_ptr<std::vector<std::function<void()>>> paused_ = std::make_shared<std::vector<std::function<void()>>>();
    std::chrono::nanoseconds tokens_;  ///< negative: in debt
    Clock::time_point refilled_ = Clock::now();
    std::chrono::nanoseconds spent_{0};
    std::uint64_t pauses_ = 0;
};

} // namespace airlock::host::detail
