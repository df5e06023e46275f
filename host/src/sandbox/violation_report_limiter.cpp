// ViolationReportLimiter: per (syscall, action) windows of `burst` report lines, then a count;
// a bounded number of kinds, the rest sharing one window.
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

std::string ViolationReportLimiter::summary(const Window& window, Clock::time_point end, bool other_kinds) const {
    // The span the count covers: the interval, or less when the plugin exited before its end.
    const double seconds =
        std::chrono::duration<double>(std::min(end - window.start, Clock::duration(options_.interval))).count();
    char span[32];
    if (seconds >= 1 && std::abs(seconds - std::round(seconds)) < 0.05)
        std::snprintf(span, sizeof span, "%.0f s", std::round(seconds));
    else
        std::snprintf(span, sizeof span, "%.0f ms", seconds * 1000);
    const Violation& last = window.last;
    std::string what = "forbidden system call " + last.syscall_name + " (" + std::to_string(last.syscall_nr);
    if (other_kinds && !last.architecture.empty()) what += ", " + last.architecture;
    what += "): " + std::string(violation_action_outcome(last.action));
    return "plugin " + plugin_name_ + " (pid " + std::to_string(last.pid) + "): " + grouped_count(window.suppressed) +
           (other_kinds ? " more of other kinds (the last: " : " more like this (") + what + ") in the last " + span;
}

void ViolationReportLimiter::count(Window& window, bool fresh, const Violation& violation, Clock::time_point now,
                                   bool other_kinds, std::vector<std::string>& lines) const {
    if (fresh || now - window.start >= options_.interval) {
        if (!fresh && window.suppressed > 0) lines.push_back(summary(window, now, other_kinds));
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
}

void ViolationReportLimiter::remove_ended(Clock::time_point now, std::vector<std::string>& lines) {
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (now - it->second.start < options_.interval) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0) lines.push_back(summary(it->second, now));
        it = windows_.erase(it);  // the next report of this kind opens a new window
    }
    if (other_ && now - other_->start >= options_.interval) {
        if (other_->suppressed > 0) lines.push_back(summary(*other_, now, true));
        other_.reset();
    }
}

std::vector<std::string> ViolationReportLimiter::record(const Violation& violation, Clock::time_point now) {
    ++total_;
    std::vector<std::string> lines;
    const std::pair<int, ViolationAction> kind{violation.syscall_nr, violation.action};
    auto found = windows_.find(kind);
    // A new kind when every window is taken: the ended ones make room; if none has ended,
    // it joins the other kinds' window (bounded whatever numbers the plugin makes up).
    if (found == windows_.end() && windows_.size() >= options_.kinds) remove_ended(now, lines);
    if (found == windows_.end() && windows_.size() >= options_.kinds) {
        const bool fresh = !other_;
        if (fresh) other_.emplace();
        count(*other_, fresh, violation, now, true, lines);
        return lines;
    }
    const bool fresh = found == windows_.end();
    if (fresh) found = windows_.emplace(kind, Window{}).first;
    count(found->second, fresh, violation, now, false, lines);
    return lines;
}

std::vector<std::string> ViolationReportLimiter::take_due(Clock::time_point now) {
    std::vector<std::string> lines;
    remove_ended(now, lines);
    return lines;
}

std::vector<std::string> ViolationReportLimiter::take_all() {
    std::vector<std::string> lines;
    const auto now = Clock::now();
    for (const auto& [key, window] : windows_) {
        if (window.suppressed > 0) lines.push_back(summary(window, now));
    }
    if (other_ && other_->suppressed > 0) lines.push_back(summary(*other_, now, true));
    windows_.clear();
    other_.reset();
    return lines;
}

std::optional<ViolationReportLimiter::Clock::time_point> ViolationReportLimiter::next_due() const {
    std::optional<Clock::time_point> due;
    auto consider = [&](const Window& window) {
        if (window.suppressed == 0) return;
        const auto end = window.start + options_.interval;
        if (!due || end < *due) due = end;
    };
    for (const auto& [key, window] : windows_) consider(window);
    if (other_) consider(*other_);
    return due;
}

} // namespace airlock::host
