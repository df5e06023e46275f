// ViolationReportLimiter: per (syscall, action) windows of `burst` report lines, then a count.
#include "airlock/host/violation_report_limiter.hpp"

#include <cmath>
#include <cstdio>

namespace airlock::host {

std::string grouped_count(std::uint64_t n) {
    std::string digits = std::to_string(n);
    std::string result;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) result += ',';
        result += digits[i];
    }
    return result;
}

ViolationReportLimiter::ViolationReportLimiter(std::string plugin_name)
    : ViolationReportLimiter(std::move(plugin_name), Options{}) {}

ViolationReportLimiter::ViolationReportLimiter(std::string plugin_name, Options options)
    : plugin_name_(std::move(plugin_name)), options_(options) {}

std::string ViolationReportLimiter::summary(const Window& window, Clock::time_point end) const {
    // The span the count covers: the interval, or less when the plugin exited before its end.
    const double seconds =
        std::chrono::duration<double>(std::min(end - window.start, Clock::duration(options_.interval))).count();
    char span[32];
    if (seconds >= 1 && std::abs(seconds - std::round(seconds)) < 0.05)
        std::snprintf(span, sizeof span, "%.0f s", std::round(seconds));
    else
        std::snprintf(span, sizeof span, "%.0f ms", seconds * 1000);
    std::string text = "plugin " + plugin_name_ + " (pid " + std::to_string(window.last.pid) +
                       "): " + grouped_count(window.suppressed) + " more like this (forbidden system call " +
                       window.last.syscall_name + " (" + std::to_string(window.last.syscall_nr) + "): " +
                       std::string(violation_action_outcome(window.last.action)) + ") in the last " + span;
    return text;
}

std::vector<std::string> ViolationReportLimiter::record(const Violation& violation, Clock::time_point now) {
    ++total_;
    std::vector<std::string> lines;
    auto [it, fresh] = windows_.try_emplace({violation.syscall_nr, violation.action});
    Window& window = it->second;
    if (fresh || now - window.start >= options_.interval) {
        if (!fresh && window.suppressed > 0) lines.push_back(summary(window, now));
        window = Window{};
        window.start = now;
    }
    ++window.seen;
    if (window.seen <= options_.burst) {
        lines.push_back(violation.describe(plugin_name_));
    } else {
        ++window.suppressed;
        window.last = violation;
    }
    return lines;
}

std::vector<std::string> ViolationReportLimiter::take_due(Clock::time_point now) {
    std::vector<std::string> lines;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (now - it->second.start < options_.interval) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0) lines.push_back(summary(it->second, now));
        it = windows_.erase(it);  // the next report of this kind opens a new window
    }
    return lines;
}

std::vector<std::string> ViolationReportLimiter::take_all() {
    std::vector<std::string> lines;
    const auto now = Clock::now();
    for (const auto& [key, window] : windows_) {
        if (window.suppressed > 0) lines.push_back(summary(window, now));
    }
    windows_.clear();
    return lines;
}

std::optional<ViolationReportLimiter::Clock::time_point> ViolationReportLimiter::next_due() const {
    std::optional<Clock::time_point> due;
    for (const auto& [key, window] : windows_) {
        if (window.suppressed == 0) continue;
        const auto end = window.start + options_.interval;
        if (!due || end < *due) due = end;
    }
    return due;
}

} // namespace airlock::host
