#pragma once
// An io_context run by a thread of its own, for tests that drive host objects living on it (a
// Supervisor, a ControlServer) from the test thread.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <optional>
#include <thread>

namespace airlock::test_support {

/// `io` runs on its own thread from start_io_thread() until stop_io_thread() (or destruction).
/// Derive from it (or declare it first) so that `io` outlives the objects built on it, and stop
/// the thread before they go.
class IoThread {
public:
    IoThread() = default;
    IoThread(const IoThread&) = delete;
    IoThread& operator=(const IoThread&) = delete;
    ~IoThread() { stop_io_thread(); }

    void start_io_thread() {
        thread_ = std::thread([this] { io.run(); });
    }
    /// Runs `f` on the io thread, waits for it and returns what it returned.
    template <class F>
    auto on_io(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        boost::asio::post(io, [&task] { task(); });
        return result.get();
    }
    /// Lets `io` run out of work and joins its thread.
    void stop_io_thread() {
        if (!thread_.joinable()) return;
        work_.reset();
        io.stop();
        thread_.join();
    }

    boost::asio::io_context io;

private:
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{io.get_executor()};
    std::thread thread_;
};

} // namespace airlock::test_support
