#pragma once
// One launch's checks ask the same lstat questions several times: the executable's trust walk,
// each system path's walk for the Landlock ruleset (all from "/"), and the namespace root's
// PlanInputs ask about the same directories again. While a LaunchLstatAnswers is alive on a
// thread, each absolute path's lstat is asked of the kernel once there and its answer (or
// errno) shared; the launch's checks all run before its clone, so sharing an answer within
// that moment checks the same thing. Nothing is kept beyond the scope: the next launch asks
// again.
#include <sys/stat.h>

#include <string>
#include <unordered_map>

namespace airlock::host {

class LaunchLstatAnswers {
public:
    /// Starts sharing answers on this thread (a nested one shares its outer one's).
    LaunchLstatAnswers();
    ~LaunchLstatAnswers();
    LaunchLstatAnswers(const LaunchLstatAnswers&) = delete;
    LaunchLstatAnswers& operator=(const LaunchLstatAnswers&) = delete;

private:
    struct Answer {
        int error = 0;
        struct stat status {};
    };
    friend int launch_lstat(const std::string& path, struct stat* status);
    std::unordered_map<std::string, Answer> answers_;
    LaunchLstatAnswers* outer_ = nullptr;
};

/// `fstatat(AT_FDCWD, path, status, AT_SYMLINK_NOFOLLOW)` (lstat: 0, or -1 with errno), asked once
/// per path while a LaunchLstatAnswers is alive on this thread; relative paths are always asked.
int launch_lstat(const std::string& path, struct stat* status);

} // namespace airlock::host
