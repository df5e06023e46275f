// See listener_receiver_thread.hpp.
#include "listener_receiver_thread.hpp"

#include <airlock/host/violation_monitor.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace airlock::host::detail {
namespace {

// One thread that runs receive_seccomp_listener() for each launch of its owner, one at a time
// (a thread launches one process at a time).
class ReceivingThread {
public:
    ReceivingThread() {
        // Started with every signal blocked: it never runs a host signal handler, and a signal
        // meant for the host is delivered to one of the host's own threads.
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        thread_ = std::thread([this] { serve(); });
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    ReceivingThread(const ReceivingThread&) = delete;
    ReceivingThread& operator=(const ReceivingThread&) = delete;
    ~ReceivingThread() {
        {
            std::lock_guard lock(mutex_);
            quit_ = true;
        }
        job_ready_.notify_one();
        thread_.join();
    }

    void start(int socket_fd, int timeout_ms) {
        std::lock_guard lock(mutex_);
        socket_fd_ = socket_fd;
        timeout_ms_ = timeout_ms;
        result_.reset();
        job_ = true;
        job_ready_.notify_one();
    }

    Result<UniqueFd> wait() {
        std::unique_lock lock(mutex_);
        finished_.wait(lock, [this] { return result_.has_value(); });
        Result<UniqueFd> result = std::move(*result_);
        result_.reset();
        return result;
    }

private:
    void serve() {
        std::unique_lock lock(mutex_);
        for (;;) {
            job_ready_.wait(lock, [this] { return job_ || quit_; });
            if (quit_) return;
            job_ = false;
            const int socket_fd = socket_fd_;
            const int timeout_ms = timeout_ms_;
            lock.unlock();
            Result<UniqueFd> received = receive_seccomp_listener(socket_fd, timeout_ms);
            lock.lock();
            result_.emplace(std::move(received));
            finished_.notify_one();
        }
    }

    std::mutex mutex_;
    std::condition_variable job_ready_;
    std::condition_variable finished_;
    int socket_fd_ = -1;
    int timeout_ms_ = 0;
    bool job_ = false;
    bool quit_ = false;
    std::optional<Result<UniqueFd>> result_;
    std::thread thread_;
};

// The calling thread's receiving thread. After a fork() the child process has only the forking
// thread: the inherited object names a thread that does not exist there, so it is left alone
// (never joined, never freed) and a new one is started.
class OwnReceivingThread {
public:
    ~OwnReceivingThread() {
        if (owner_ == ::getpid()) delete thread_;
    }
    ReceivingThread& get() {
        if (thread_ == nullptr || owner_ != ::getpid()) {
            thread_ = new ReceivingThread;
            owner_ = ::getpid();
        }
        return *thread_;
    }

private:
    ReceivingThread* thread_ = nullptr;
    pid_t owner_ = 0;
};

ReceivingThread& receiving_thread() {
    thread_local OwnReceivingThread own;
    return own.get();
}

} // namespace

PendingListener::PendingListener(int socket_fd, int timeout_ms) : socket_fd_(socket_fd) {
    receiving_thread().start(socket_fd, timeout_ms);
}

PendingListener::~PendingListener() {
    if (taken_) return;
    (void)::shutdown(socket_fd_, SHUT_RDWR);  // ends its poll: end of stream
    (void)receiving_thread().wait();
}

Result<UniqueFd> PendingListener::take() {
    taken_ = true;
    return receiving_thread().wait();
}

} // namespace airlock::host::detail
