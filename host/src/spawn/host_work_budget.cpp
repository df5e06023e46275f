// A plugin's budget of host CPU time (see host_work_budget.hpp).
#include <airlock/host/host_work_budget.hpp>

#include <time.h>

#include <algorithm>

namespace airlock::host::detail {

std::chrono::nanoseconds thread_cpu_time() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

HostWorkBudget::HostWorkBudget(boost::asio::io_context& io, HostWorkAllowance allowance)
    : allowance_(allowance), timer_(io), tokens_(allowance.per_interval) {}

void HostWorkBudget::refill(Clock::time_point now) {
    if (now <= refilled_) return;
    // Capped at 100 intervals, so that the product below cannot overflow.
    const auto elapsed = std::min(std::chrono::duration_cast<std::chrono::nanoseconds>(now - refilled_),
                                  std::chrono::duration_cast<std::chrono::nanoseconds>(allowance_.interval * 100));
    refilled_ = now;
    const auto earned = elapsed * allowance_.per_interval.count() /
                        std::chrono::duration_cast<std::chrono::nanoseconds>(allowance_.interval).count();
    tokens_ = std::min(tokens_ + earned, allowance_.per_interval);
}

void HostWorkBudget::charge(std::chrono::nanoseconds spent, Clock::time_point now) {
    refill(now);
    tokens_ -= spent;
    spent_ += spent;
}

bool HostWorkBudget::over(Clock::time_point now) {
    refill(now);
    return tokens_.count() < 0;
}

std::chrono::nanoseconds HostWorkBudget::debt(Clock::time_point now) {
    refill(now);
    return std::max(-tokens_, std::chrono::nanoseconds(0));
}

void HostWorkBudget::owe(std::chrono::nanoseconds debt, Clock::time_point since) {
    tokens_ = -debt;
    refilled_ = since;
}

bool HostWorkBudget::in_debt_beyond(std::chrono::nanoseconds margin, Clock::time_point now) {
    refill(now);
    return tokens_ < -margin;
}

void HostWorkBudget::resume_later(std::function<void()> resume) {
    ++pauses_;
    paused_->push_back(std::move(resume));
    if (paused_->size() > 1) return;  // the timer is already set
    // The time the refill takes to pay the debt back.
    const auto debt = std::max(-tokens_, std::chrono::nanoseconds(0));
    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(allowance_.interval) * debt.count() /
                          allowance_.per_interval.count() + std::chrono::milliseconds(1);
    timer_.expires_after(wait);
    timer_.async_wait([weak_paused = std::weak_ptr(paused_)](const boost::system::error_code& error) {
        auto paused = weak_paused.lock();
        if (error || !paused) return;
        auto resumes = std::move(*paused);
        paused->clear();
        for (auto& resume : resumes) resume();
    });
}

} // namespace airlock::host::detail
