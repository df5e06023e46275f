#pragma once
// The thread that starts standby children (child_launch.hpp, launch_standby_child).
//
// A standby child's launch child is cloned without CLONE_VFORK, so the cloning thread runs
// on while the child waits in the host's memory. Two things tie the child to that thread:
// its parent-death signal fires when that thread (not the process) ends, and it shares that
// thread's TLS (glibc's syscall() writes errno there when a call fails). So one thread per
// process does the clones: it lives until the process ends, never exits while any plugin
// may run, and does nothing else.

#include <functional>

namespace airlock::host::detail {

/// Runs `work` on the process's standby thread (started on first use, with every signal
/// blocked; after a fork() the child process starts its own) and returns when it has run.
/// An exception `work` throws is rethrown here.
void run_on_standby_thread(const std::function<void()>& work);

} // namespace airlock::host::detail
