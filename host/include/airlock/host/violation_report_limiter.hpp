#pragma once
/// @file violation_report_limiter.hpp
/// Bounds how many violation report lines one plugin can make the host write.
///
/// A plugin running with `on_violation = "errno"` or `"log"` survives its forbidden calls and
/// can repeat them tens of thousands of times a second; each one is a seccomp notification the
/// host answers. The limiter lets the first `burst` identical reports (same syscall, same
/// action) of each interval through as lines, counts the rest, and turns them into one summary
/// line when the interval ends:
///
///     plugin NAME (pid N): 19,980 more like this (forbidden system call mlock (149): refused with EPERM) in the last 1 s
///
/// The kind is the plugin's to choose (a 32-bit `int 0x80` call can carry any number), so
/// at most `kinds` kinds have windows of their own at once; a violation of yet another kind
/// shares one window with every other such kind, whose summary says so:
///
///     plugin NAME (pid N): 65,000 more of other kinds (the last: forbidden system call syscall_130536 (130536, i386 (int 0x80)): refused with EPERM) in the last 1 s
///
/// so the lines per interval (at most (`kinds` + 1) × `burst` and the summaries), the memory
/// and the work per violation stay bounded however many kinds a plugin makes up.
/// Every violation is counted (total()). Not thread-safe: one limiter per plugin, used on the
/// thread that handles that plugin's notifications. Used by `airlock-host run` (the
/// supervisor) and `airlock-host exec` (run_in_foreground).

#include "airlock/host/violation_monitor.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace airlock::host {

class ViolationReportLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Options {
        unsigned burst = 10;                            ///< lines per (syscall, action) per interval
        std::chrono::milliseconds interval{1000};       ///< the window the burst applies to
        unsigned kinds = 16;                            ///< kinds with a window of their own at once
    };

    explicit ViolationReportLimiter(std::string plugin_name);
    ViolationReportLimiter(std::string plugin_name, Options options);

    /// Counts `violation` and returns the lines to write now: its report line, or nothing
    /// while its (syscall, action) is over the burst. A summary of an earlier, finished
    /// interval of the same kind comes first.
    std::vector<std::string> record(const Violation& violation, Clock::time_point now = Clock::now());

    /// Summary lines of the intervals that have ended by `now` with suppressed reports.
    std::vector<std::string> take_due(Clock::time_point now = Clock::now());

    /// Summary lines of every interval with suppressed reports, ended or not (at the plugin's
    /// exit, so that no count is lost); starts over.
    std::vector<std::string> take_all();

    /// When the next interval with suppressed reports ends; empty when none has any.
    [[nodiscard]] std::optional<Clock::time_point> next_due() const;

    /// Every violation recorded, reported as a line or not.
    [[nodiscard]] std::uint64_t total() const noexcept { return total_; }

private:
    struct Window {
        Clock::time_point start;
        std::uint64_t seen = 0;        ///< reports of this kind in the window
        std::uint64_t suppressed = 0;  ///< of those, not written as lines
        Violation last;                ///< the latest suppressed one (for pid and names)
    };
    std::string summary(const Window& window, Clock::time_point end, bool other_kinds = false) const;
    // Counts `violation` in `window` (starting it over when its interval has ended).
    void count(Window& window, bool fresh, const Violation& violation, Clock::time_point now, bool other_kinds,
               std::vector<std::string>& lines) const;
    // Removes the windows whose interval has ended, adding their summaries to `lines`.
    void remove_ended(Clock::time_point now, std::vector<std::string>& lines);

    std::string plugin_name_;
    Options options_;
    std::map<std::pair<int, ViolationAction>, Window> windows_;  ///< at most options_.kinds
    std::optional<Window> other_;  ///< every kind beyond those, together
    std::uint64_t total_ = 0;
};

/// `n` with thousands separators: 19980 → "19,980".
std::string grouped_count(std::uint64_t n);

} // namespace airlock::host
