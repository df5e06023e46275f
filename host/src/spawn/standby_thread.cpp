// See standby_thread.hpp.
#include "standby_thread.hpp"

#include <airlock/host/spawner.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

namespace airlock::host::detail {
namespace {

class StandbyThread {
public:
    // Never destroyed: the thread must outlive every standby child it starts.
    StandbyThread() {
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        pthread_t thread;
        const int error = ::pthread_create(&thread, nullptr, &StandbyThread::main, this);
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        if (error != 0) throw SpawnError(std::string("cannot start the standby thread: ") + std::strerror(error));
        ::pthread_detach(thread);
    }

    void run(const std::function<void()>& work) {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [this] { return work_ == nullptr; });
        work_ = &work;
        failure_ = nullptr;
        done_ = false;
        wake_.notify_one();
        finished_.wait(lock, [this] { return done_; });
        std::exception_ptr failure = std::exchange(failure_, nullptr);
        work_ = nullptr;
        idle_.notify_one();
        if (failure) std::rethrow_exception(failure);
    }

private:
    static void* main(void* self) {
        static_cast<StandbyThread*>(self)->serve();
        return nullptr;
    }

    [[noreturn]] void serve() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return work_ != nullptr && !done_; });
            try {
                (*work_)();
            } catch (...) {
                failure_ = std::current_exception();
            }
            done_ = true;
            finished_.notify_one();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, finished_, idle_;
    const std::function<void()>* work_ = nullptr;
    std::exception_ptr failure_;
    bool done_ = false;
};

StandbyThread& standby_thread() {
    static std::mutex mutex;
    static pid_t owner = 0;
    static StandbyThread* thread = nullptr;
    std::lock_guard lock(mutex);
    if (thread == nullptr || owner != ::getpid()) {
        thread = new StandbyThread;  // a forked copy's is left alone: its thread is not here
        owner = ::getpid();
    }
    return *thread;
}

} // namespace

void run_on_standby_thread(const std::function<void()>& work) { standby_thread().run(work); }

} // namespace airlock::host::detail
