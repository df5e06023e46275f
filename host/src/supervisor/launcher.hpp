#pragma once
// Launcher: runs the supervisor's plugin launches on a thread of its own. A launch takes
// milliseconds (grants, cgroups, clone, exec; 18-28 ms each under load); run on the event
// loop, every restart of a crash-looping plugin stalled every other plugin's calls. The
// launcher thread only runs the job it is given (Spawner::launch is thread-safe) and posts
// the result back to the io_context: all supervisor state stays on the loop's thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace airlock::host::detail {

class Launcher {
public:
    /// Starts the launcher thread.
    Launcher();
    /// Drops the jobs not started yet, waits for the one running, stops the thread.
    ~Launcher();
    Launcher(const Launcher&) = delete;
    Launcher& operator=(const Launcher&) = delete;

    /// Queues `job` to run on the launcher thread, after the jobs queued before it. The job
    /// must not touch state owned by the loop: it posts what it produced back to the loop.
    void run(std::function<void()> job);

private:
    void work();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace airlock::host::detail
