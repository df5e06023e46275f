// LaunchLstatAnswers: one launch's lstat questions asked once (see the header).
#include "airlock/host/launch_lstat_answers.hpp"

#include <fcntl.h>

#include <cerrno>

namespace airlock::host {
namespace {

thread_local LaunchLstatAnswers* active = nullptr;

} // namespace

LaunchLstatAnswers::LaunchLstatAnswers() : outer_(active) {
    if (outer_ == nullptr) active = this;
}

LaunchLstatAnswers::~LaunchLstatAnswers() {
    if (active == this) active = outer_;
}

int launch_lstat(const std::string& path, struct stat* status) {
    if (active == nullptr || path.empty() || path[0] != '/')
        return ::fstatat(AT_FDCWD, path.c_str(), status, AT_SYMLINK_NOFOLLOW);
    auto [entry, added] = active->answers_.try_emplace(path);
    LaunchLstatAnswers::Answer& answer = entry->second;
    if (added && ::fstatat(AT_FDCWD, path.c_str(), &answer.status, AT_SYMLINK_NOFOLLOW) != 0) answer.error = errno;
    if (answer.error != 0) {
        errno = answer.error;
        return -1;
    }
    *status = answer.status;
    return 0;
}

} // namespace airlock::host
