#pragma once
// A uid of its own for each plugin (`dynamic_user = true`, docs/sandbox.md "Per-user kernel
// limits"): the kernel counts several resources per *user* — processes and threads
// (RLIMIT_NPROC), queued signals (RLIMIT_SIGPENDING), descriptors in flight over UNIX sockets,
// pipe buffer pages, inotify instances, epoll watches, message queue bytes — so plugins that
// share a uid (`nobody`) can exhaust them for each other. A root host instead takes a uid
// from a documented range that no account and no other running host uses, and holds it for
// the life of the plugin's Spawner (every restart of the plugin gets the same uid).

#include <airlock/connection/unique_fd.hpp>

#include <sys/types.h>

#include <string>

namespace airlock::host::detail {

/// The range the host allocates from: above systemd's documented ranges (DynamicUser
/// 61184-65519, containers 524288-1879048191), below 2^31.
inline constexpr uid_t kDynamicUidFirst = 1879048192;  // 0x70000000
inline constexpr uid_t kDynamicUidCount = 65536;

/// Where the locks live: one file per uid in use, flock()ed by the host that uses it.
inline constexpr const char* kDynamicUidLockDirectory = "/run/airlock/dynamic-uid";

/// One uid (used as the gid too) held by this process until destroyed.
class DynamicUser {
public:
    /// Takes a free uid for `plugin`: first tried is a slot derived from the plugin's name
    /// (so a plugin tends to get the same uid each run), then the next ones. A uid is free
    /// when no passwd or group entry names it and no other host holds its lock. Throws
    /// SpawnError (naming the plugin and why) when the lock directory is unusable or the
    /// range is exhausted. With `sweep` (not for `airlock-host check`, which changes
    /// nothing), what a host that held the uid and died left of it is swept first
    /// (leftover_sweep.hpp) if its lock file says something may be left; when it cannot be,
    /// the start is refused.
    static DynamicUser allocate(const std::string& plugin, bool sweep);

    uid_t uid() const noexcept { return uid_; }

    /// The uid's lock file (not to be closed: that frees the uid). Its size is the
    /// "something may be left" mark: 1 while a process that could leave processes or IPC
    /// objects behind runs or was not swept after (UidHold), 0 otherwise. Kept in the file
    /// so the next host to take the uid knows whether one that died left something: a scan
    /// of /proc costs about 1 ms per 100 processes, too much for every start.
    int lock_fd() const noexcept { return lock_.get(); }

private:
    DynamicUser(uid_t uid, UniqueFd lock) : uid_(uid), lock_(std::move(lock)) {}
    uid_t uid_;
    UniqueFd lock_;  ///< flock()ed; closing it frees the uid
};

} // namespace airlock::host::detail
