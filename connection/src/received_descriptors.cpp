// Off-thread closing of received descriptors (received_descriptors.hpp): a bit per descriptor
// number marks the received ones, and one background thread closes what is handed to it.
#include "airlock/connection/received_descriptors.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace airlock {
namespace {

// One bit per descriptor number below the hard RLIMIT_NOFILE (no descriptor can be above it),
// at most 2^20 (128 KiB of bits).
constexpr std::size_t kMaxDescriptors = std::size_t{1} << 20;

std::atomic<std::atomic<std::uint64_t>*> g_marks{nullptr};
std::size_t g_capacity = 0;  // written once, before g_marks is published

struct ClosingThread {
    std::mutex mutex;
    std::condition_variable wake;
    std::vector<int> queue;
    bool started = false;
    std::atomic<unsigned long> pending{0};

    void run() {
        std::vector<int> batch;
        for (;;) {
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return !queue.empty(); });
                batch.swap(queue);
            }
            for (int fd : batch) ::close(fd);  // may wait as long as the file's owner likes
            pending.fetch_sub(batch.size());
            batch.clear();
        }
    }

    // Queues `fd`; false when no thread could be started (the caller closes it).
    bool hand_over(int fd) {
        std::lock_guard lock(mutex);
        if (!started) {
            // Every signal blocked in the new thread: the host takes its signals through a
            // signalfd, which needs them blocked in every thread.
            sigset_t all, previous;
            ::sigfillset(&all);
            ::pthread_sigmask(SIG_SETMASK, &all, &previous);
            try {
                std::thread([this] { run(); }).detach();
                started = true;
            } catch (...) {
            }
            ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            if (!started) return false;
        }
        queue.push_back(fd);
        pending.fetch_add(1);
        wake.notify_one();
        return true;
    }

    // A forked child has no closing thread: it closes its copies of what was queued itself.
    void after_fork_in_child() {
        for (int fd : queue) ::close(fd);
        queue.clear();
        started = false;
        pending.store(0);
    }
};

ClosingThread& closing_thread() {
    static ClosingThread* thread = new ClosingThread;  // never destroyed: the thread may outlive statics
    return *thread;
}

void prepare_fork() { closing_thread().mutex.lock(); }
void after_fork_in_parent() { closing_thread().mutex.unlock(); }
void after_fork_in_child() {
    ClosingThread& thread = closing_thread();
    thread.after_fork_in_child();
    thread.mutex.unlock();
}

} // namespace

void close_received_descriptors_off_thread() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        rlimit limit{};
        std::size_t capacity = kMaxDescriptors;
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max != RLIM_INFINITY)
            capacity = std::min<std::size_t>(limit.rlim_max, kMaxDescriptors);
        const std::size_t words = (capacity + 63) / 64;
        auto* marks = new (std::nothrow) std::atomic<std::uint64_t>[words];
        if (marks == nullptr) return;
        for (std::size_t i = 0; i < words; ++i) marks[i].store(0, std::memory_order_relaxed);
        closing_thread();  // made before any fork handler can run
        ::pthread_atfork(prepare_fork, after_fork_in_parent, after_fork_in_child);
        g_capacity = words * 64;
        g_marks.store(marks, std::memory_order_release);
    });
}

bool received_descriptors_closed_off_thread() noexcept { return g_marks.load(std::memory_order_acquire) != nullptr; }

void mark_received_descriptor(int fd) noexcept {
    std::atomic<std::uint64_t>* marks = g_marks.load(std::memory_order_acquire);
    if (marks == nullptr || fd < 0 || static_cast<std::size_t>(fd) >= g_capacity) return;
    marks[fd / 64].fetch_or(std::uint64_t{1} << (fd % 64), std::memory_order_relaxed);
}

void close_descriptor(int fd) noexcept {
    std::atomic<std::uint64_t>* marks = g_marks.load(std::memory_order_acquire);
    if (marks != nullptr && fd >= 0 && static_cast<std::size_t>(fd) < g_capacity) {
        const std::uint64_t bit = std::uint64_t{1} << (fd % 64);
        // The number stays taken until the closing thread closes it, so no other descriptor
        // can get it (and its mark) in between.
        if ((marks[fd / 64].fetch_and(~bit, std::memory_order_relaxed) & bit) != 0) {
            bool handed = false;
            try {
                handed = closing_thread().hand_over(fd);
            } catch (...) {  // std::mutex::lock failing: close it here
            }
            if (handed) return;
        }
    }
    ::close(fd);
}

unsigned long received_descriptors_closing() noexcept { return closing_thread().pending.load(); }

} // namespace airlock
