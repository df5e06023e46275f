#pragma once
// What one instance leaves behind (docs/sandbox.md, "Round 9: what one instance leaves
// behind"): without a PID namespace or a cgroup to end them, processes a plugin forked
// (a double fork, a session of its own, SIGTERM ignored) outlive it and would meet its next
// process, its standby child, or another plugin that later gets the same dynamic uid; so do
// System V IPC objects made in the host's IPC namespace (`namespaces = "off"`). Everything of
// a dynamic uid is its Spawner's, so once the last process the Spawner knows of has been
// reaped, whatever still runs as that uid is a leftover and is killed, and its IPC objects go.

#include <airlock/connection/unique_fd.hpp>
#include <airlock/host/spawner.hpp>

#include <sys/types.h>

#include <memory>
#include <mutex>

namespace airlock::host::detail {

/// Kills every process whose real or saved uid is `uid` (zombies aside), found in /proc and
/// killed by the host through a pidfd; again every 10 ms while any is found, for about 0.5 s
/// at most. True when none is left. Only a root host may call it, and only for a uid no one
/// else's process runs as.
bool kill_processes_of(uid_t uid) noexcept;

/// Removes every System V message queue, shared memory segment and semaphore set of this
/// process's IPC namespace whose owner or creator is `uid` (/proc/sysvipc). With
/// `namespaces = "off"` a plugin that may use them makes them in the host's IPC namespace,
/// where they outlive it and would be the next holder of the uid's. True when every one found
/// was removed. Root only.
bool remove_ipc_objects_of(uid_t uid) noexcept;

/// A Spawner's count of its processes that run as its dynamic uid, and what is swept when the
/// last one has been reaped.
struct UidProcesses {
    UidProcesses(uid_t id, UniqueFd lock, bool fork, bool host_ipc)
        : uid(id), lock_file(std::move(lock)), may_fork(fork), shares_host_ipc(host_ipc) {}
    const uid_t uid;
    /// A descriptor of the uid's lock file (its open file description, so the uid stays
    /// taken while a process of it may live), whose size marks that something may be left.
    const UniqueFd lock_file;

    const bool may_fork;         ///< without a PID namespace: leftover processes (kill_processes_of)
    const bool shares_host_ipc;  ///< IPC calls allowed in the host's IPC namespace (remove_ipc_objects_of)
    std::mutex mutex;  ///< held through a sweep, so no launch of the uid starts meanwhile
    int live = 0;
};

/// One process's place in the count, taken before its clone (so no sweep can end it while it
/// starts) and given back after its reap or, if it never became a process, when destroyed;
/// the last one given back sweeps. The first one taken marks the uid's lock file, and a
/// sweep that ended everything clears it, so a host that dies in between leaves the mark
/// for the next host that takes the uid (DynamicUser::allocate). Wraps the process's other resources (its cgroups), which
/// go first: their removal kills what is left in them.
class UidHold : public ProcessResources {
public:
    explicit UidHold(std::shared_ptr<UidProcesses> processes);
    UidHold(const UidHold&) = delete;
    UidHold& operator=(const UidHold&) = delete;
    ~UidHold() override;
    void wrap(std::unique_ptr<ProcessResources> inner) noexcept { inner_ = std::move(inner); }
    void on_reaped(PluginExit& exit) noexcept override;

private:
    void give_back() noexcept;
    std::shared_ptr<UidProcesses> processes_;
    std::unique_ptr<ProcessResources> inner_;
};

} // namespace airlock::host::detail
