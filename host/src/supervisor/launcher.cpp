// Launcher: one thread that runs the supervisor's launches, in order (see launcher.hpp).
#include "launcher.hpp"

namespace airlock::host::detail {

Launcher::Launcher() : thread_([this]() { work(); }) {}

Launcher::~Launcher() {
    std::deque<std::function<void()>> dropped;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        dropped.swap(jobs_);
    }
    wake_.notify_all();
    thread_.join();
    // `dropped` is destroyed here, on the caller's thread, after the worker is gone.
}

void Launcher::run(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void Launcher::work() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this]() { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();  // launch jobs catch their own errors and post them back
    }
}

} // namespace airlock::host::detail
