#pragma once
// Taking a launch's seccomp listener on a thread kept per launching thread.
//
// The launching thread sleeps in the vfork while its child waits for the host to take the
// listener (receive_seccomp_listener(), violation_monitor.hpp), so another thread has to do it.
// ListenerReceiver starts and joins a thread per launch; this keeps one receiving thread per
// launching thread instead (as child_launch.cpp keeps one child stack per thread), so a
// launch pays two wake-ups, not a thread's start and exit (docs/spawning.md, "Where the time goes").

#include <airlock/connection/status.hpp>
#include <airlock/connection/unique_fd.hpp>

namespace airlock::host::detail {

/// One launch's hand-off, given to the calling thread's receiving thread (started on the
/// calling thread's first launch, with every signal blocked; joined when the calling thread
/// exits; after a fork() the child process starts its own). Construct it before the clone.
class PendingListener {
public:
    /// Starts receiving on `socket_fd` (not owned; it must outlive this object). The receiving
    /// thread sleeps until the child has written to it; after `timeout_ms` waiting in take()
    /// the socket is shut down (only a stray copy of the child's end could keep it open).
    PendingListener(int socket_fd, int timeout_ms);
    /// Not taken (the launch failed): shuts the socket down, which ends the wait, and waits
    /// until the receiving thread has let go of it.
    ~PendingListener();
    PendingListener(const PendingListener&) = delete;
    PendingListener& operator=(const PendingListener&) = delete;

    /// Waits for what the receiving thread got. Call once.
    Result<UniqueFd> take();

private:
    int socket_fd_;
    int timeout_ms_;
    bool taken_ = false;
};

} // namespace airlock::host::detail
