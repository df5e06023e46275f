// See listener_receiver_thread.hpp.
#include "listener_receiver_thread.hpp"

#include <airlock/host/violation_monitor.hpp>

#include <airlock/host/spawner.hpp>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

namespace airlock::host::detail {
namespace {

// One thread that runs receive_seccomp_listener() for each launch of its owner, one at a time
// (a thread launches one process at a time). It sleeps in epoll_wait until the child has
// written its message (or the socket was shut down), so handing it a launch wakes nobody.
class ReceivingThread {
public:
    ReceivingThread() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), quit_(::eventfd(0, EFD_CLOEXEC)) {
        epoll_event quit{};
        quit.events = EPOLLIN;
        quit.data.fd = quit_.get();
        if (!epoll_ || !quit_ || ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, quit_.get(), &quit) != 0)
            throw SpawnError(std::string("cannot prepare the seccomp listener's receiving thread: ") + std::strerror(errno));
        // Started with every signal blocked: it never runs a host signal handler, and a signal
        // meant for the host is delivered to one of the host's own threads.
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        try {
            thread_ = std::thread([this] { serve(); });
        } catch (...) {
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            throw;
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    ReceivingThread(const ReceivingThread&) = delete;
    ReceivingThread& operator=(const ReceivingThread&) = delete;
    ~ReceivingThread() {
        const std::uint64_t one = 1;
        (void)!::write(quit_.get(), &one, sizeof one);
        thread_.join();
    }

    void start(int socket_fd) {
        std::lock_guard lock(mutex_);
        socket_fd_ = socket_fd;
        result_.reset();
        epoll_event readable{};
        readable.events = EPOLLIN | EPOLLONESHOT;
        readable.data.fd = socket_fd;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socket_fd, &readable) != 0) {
            result_.emplace(errno_status("epoll_ctl (listener hand-off)", errno));
            (void)::shutdown(socket_fd, SHUT_RDWR);  // the child waits for an answer: it fails
        }
    }

    // The launch's result; after `timeout_ms` the socket is shut down, which ends the wait.
    Result<UniqueFd> wait(int timeout_ms) {
        std::unique_lock lock(mutex_);
        const auto received = [this] { return result_.has_value(); };
        bool timed_out = false;
        if (!finished_.wait_for(lock, std::chrono::milliseconds(timeout_ms), received)) {
            timed_out = true;
            (void)::shutdown(socket_fd_, SHUT_RDWR);
            finished_.wait(lock, received);
        }
        Result<UniqueFd> result = std::move(*result_);
        result_.reset();
        if (timed_out) return Status(StatusCode::Timeout, "the child did not hand over its seccomp listener in time");
        return result;
    }

private:
    void serve() {
        for (;;) {
            epoll_event event{};
            const int count = ::epoll_wait(epoll_.get(), &event, 1, -1);
            if (count <= 0) continue;  // EINTR cannot happen with every signal blocked
            if (event.data.fd == quit_.get()) return;
            const int socket_fd = event.data.fd;
            (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, socket_fd, nullptr);
            // Readable: the message is there (or the end of the stream), so this does not wait.
            Result<UniqueFd> received = receive_seccomp_listener(socket_fd, 0);
            std::lock_guard lock(mutex_);
            result_.emplace(std::move(received));
            finished_.notify_one();
        }
    }

    UniqueFd epoll_;
    UniqueFd quit_;
    std::mutex mutex_;
    std::condition_variable finished_;
    int socket_fd_ = -1;
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

PendingListener::PendingListener(int socket_fd, int timeout_ms) : socket_fd_(socket_fd), timeout_ms_(timeout_ms) {
    receiving_thread().start(socket_fd);
}

PendingListener::~PendingListener() {
    if (taken_) return;
    (void)::shutdown(socket_fd_, SHUT_RDWR);  // wakes the thread: end of stream
    (void)receiving_thread().wait(timeout_ms_);
}

Result<UniqueFd> PendingListener::take() {
    taken_ = true;
    return receiving_thread().wait(timeout_ms_);
}

} // namespace airlock::host::detail
