#pragma once
// What one instance leaves behind (docs/sandbox.md, "Round 9: what one instance leaves
// behind"): without a PID namespace or a cgroup to end them, processes a plugin forked
// (a double fork, a session of its own, SIGTERM ignored) outlive it and would meet its next
// process, its standby child, or another plugin that later gets the same dynamic uid. Every
// process of a dynamic uid is one of its Spawner's, so once the last one the Spawner knows of
// has been reaped, whatever still runs as that uid is a leftover and is killed.

#include <airlock/host/spawner.hpp>

#include <sys/types.h>

#include <memory>
#include <mutex>

namespace airlock::host::detail {

/// Kills every process whose real or saved uid is `uid`: while /proc shows one (zombies
/// aside), a helper that takes that uid sends SIGKILL to -1, so the kernel's own permission
/// check picks exactly them; every 10 ms, for about 0.5 s at most. True when none is left
/// (at once, without a helper, when there was none). Only a root host may call it, and only
/// for a uid no one else's process runs as.
bool kill_processes_of(uid_t uid) noexcept;

/// A Spawner's count of its processes that run as its dynamic uid.
struct UidProcesses {
    explicit UidProcesses(uid_t id) : uid(id) {}
    const uid_t uid;
    std::mutex mutex;  ///< held through a sweep, so no launch of the uid starts meanwhile
    int live = 0;
};

/// One process's place in the count, taken before its clone (so no sweep can end it while it
/// starts) and given back after its reap or, if it never became a process, when destroyed;
/// the last one given back sweeps. Wraps the process's other resources (its cgroups), which
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
