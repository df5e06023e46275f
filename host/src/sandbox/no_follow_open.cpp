// openat2-based opening that never follows a link, and the few path rules around it.
#include "airlock/host/no_follow_open.hpp"
#include "airlock/host/launch_lstat_answers.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <cstdio>

namespace airlock::host {
namespace {

const char* type_name(mode_t mode) noexcept {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "an unknown kind of file";
}

bool has_type(mode_t mode, ExpectedType expected) noexcept {
    switch (expected) {
    case ExpectedType::RegularFile: return S_ISREG(mode);
    case ExpectedType::Directory: return S_ISDIR(mode);
    case ExpectedType::Socket: return S_ISSOCK(mode);
    case ExpectedType::Any: return !S_ISLNK(mode);
    }
    return false;
}

const char* expected_name(ExpectedType expected) noexcept {
    switch (expected) {
    case ExpectedType::RegularFile: return "a regular file";
    case ExpectedType::Directory: return "a directory";
    case ExpectedType::Socket: return "a socket";
    case ExpectedType::Any: return "a file or directory";
    }
    return "?";
}

// After the open failed: which component is a link, for the message only; an empty
// Status when none is.
Status link_refusal(const std::string& path, const std::string& rule) {
    std::string prefix;
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        prefix = path.substr(0, end);
        struct stat st {};
        if (end > start && ::lstat(prefix.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
            if (end == path.size()) return Status(StatusCode::PermissionDenied, path + " is a symbolic link; " + rule);
            return Status(StatusCode::PermissionDenied,
                          path + " lies under a symbolic link (" + prefix + "); " + rule);
        }
        start = end + 1;
    }
    return {};
}

bool trusted_owner(uid_t owner) noexcept { return owner == 0 || owner == ::geteuid(); }
bool writable_by_others(const struct stat& status) noexcept { return (status.st_mode & (S_IWGRP | S_IWOTH)) != 0; }

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

constexpr const char* kOnlyHostRule =
    "; a path the host opens, executes or binds as root must be one only root (or the host's user) can change";

// Components of `path` to walk, last first (a stack).
void push_components(const std::string& path, std::vector<std::string>& pending) {
    std::vector<std::string> components;
    for (std::size_t start = 0; start <= path.size();) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (end > start) components.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    pending.insert(pending.end(), components.rbegin(), components.rend());
}

} // namespace

UniqueFd openat2_no_follow(int dirfd, const char* path, int flags, mode_t mode, std::uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = resolve;
    return UniqueFd(static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how)));
}

Result<NoFollowFile> open_no_follow(const std::string& path, int flags, mode_t mode, ExpectedType expected,
                                    const std::string& rule, int* system_error) {
    if (system_error != nullptr) *system_error = 0;
    NoFollowFile opened;
    opened.fd = openat2_no_follow(AT_FDCWD, path.c_str(), flags, mode, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!opened.fd) {
        const int error = errno;
        // A trailing link gives ELOOP, or ENOTDIR with O_DIRECTORY.
        if (error == ELOOP || error == ENOTDIR) {
            if (Status refusal = link_refusal(path, rule); !refusal.ok()) return refusal;
            if (error == ELOOP)
                return Status(StatusCode::PermissionDenied, path + " is or lies under a symbolic link; " + rule);
        }
        if (system_error != nullptr) *system_error = error;
        return errno_status(path, error);
    }
    if (::fstat(opened.fd.get(), &opened.status) != 0) {
        const int error = errno;
        if (system_error != nullptr) *system_error = error;
        return errno_status("fstat " + path, error);
    }
    // O_PATH | O_NOFOLLOW opens a trailing link itself instead of failing.
    if (S_ISLNK(opened.status.st_mode))
        return Status(StatusCode::PermissionDenied, path + " is a symbolic link; " + rule);
    if (!has_type(opened.status.st_mode, expected))
        return Status(StatusCode::InvalidParameter, path + " is " + type_name(opened.status.st_mode) + ", not " +
                                                         expected_name(expected));
    return opened;
}

bool path_is_within(const std::string& path, const std::string& directory) {
    if (directory == "/") return !path.empty() && path[0] == '/';
    if (path.compare(0, directory.size(), directory) != 0) return false;
    return path.size() == directory.size() || path[directory.size()] == '/';
}

const std::string* writable_directory_holding(const std::string& path, const std::vector<std::string>& directories) {
    for (const std::string& directory : directories)
        if (path_is_within(path, directory)) return &directory;
    return nullptr;
}

std::vector<std::string> writable_directories_of(const PluginConfig& plugin) {
    std::vector<std::string> directories = plugin.config_writable_directories;
    for (const GrantConfig& grant : plugin.grants)
        if (grant.kind == GrantKind::Directory && grant.access != GrantAccess::Read) directories.push_back(grant.path);
    return directories;
}

namespace {

// check_only_host_can_change(), and where the walk ended: `path` with every link resolved
// (what realpath() gives for an absolute path) and its lstat answer.
Status walk_only_host_can_change(const std::string& path, std::string* resolved, struct stat* final_status = nullptr) {
    // Walked one component at a time from "/", links resolved by hand (at most 40, as the
    // kernel). Each step looks beneath directories already found to be changeable only by
    // root or the host, so the names walked so far keep meaning what was checked: asking by
    // path is as good as holding a descriptor of each directory, for one system call a
    // component instead of four (open, fstat, close besides the fstatat).
    auto refuse = [&](const std::string& why) { return Status(StatusCode::PermissionDenied, path + ": " + why + kOnlyHostRule); };
    struct stat directory_status {};
    std::string walked;  // the real path of the directory reached, "" for "/"
    auto open_walked = [&]() -> Status {
        if (launch_lstat(walked.empty() ? "/" : walked, &directory_status) != 0)
            return errno_status(path + ": " + (walked.empty() ? "/" : walked), errno);
        if (!S_ISDIR(directory_status.st_mode)) return errno_status(path + ": " + walked, ENOTDIR);
        return {};
    };
    if (Status opened = open_walked(); !opened.ok()) return opened;
    std::vector<std::string> pending;
    push_components(path, pending);
    int links = 0;
    while (!pending.empty()) {
        const std::string name = pending.back();
        pending.pop_back();
        if (name == ".") continue;
        if (name == "..") {
            walked = walked.substr(0, walked.rfind('/') == std::string::npos ? 0 : walked.rfind('/'));
            if (Status opened = open_walked(); !opened.ok()) return opened;
            continue;
        }
        const std::string here = walked.empty() ? "/" : walked;
        const std::string entry = walked + "/" + name;
        struct stat status {};
        if (launch_lstat(entry, &status) != 0)
            return errno_status(path + ": " + entry, errno);
        // Who may replace this entry: the directory's owner, and anyone who may write it
        // unless it is sticky and the entry is root's or the host's.
        if (!trusted_owner(directory_status.st_uid))
            return refuse(here + " belongs to uid " + std::to_string(directory_status.st_uid) + ", who could replace " + entry);
        if (writable_by_others(directory_status) &&
            ((directory_status.st_mode & S_ISVTX) == 0 || !trusted_owner(status.st_uid)))
            return refuse(here + " is writable by other users (mode " + octal_mode(directory_status.st_mode) +
                          "), who could replace " + entry);
        if (S_ISLNK(status.st_mode)) {
            if (++links > 40) return errno_status(path, ELOOP);
            char target[PATH_MAX];
            const ssize_t size = ::readlinkat(AT_FDCWD, entry.c_str(), target, sizeof target - 1);
            if (size <= 0) return errno_status(path + ": readlink " + entry, size < 0 ? errno : EINVAL);
            const std::string text(target, static_cast<std::size_t>(size));
            push_components(text, pending);
            if (text[0] == '/') {
                walked.clear();
                if (Status opened = open_walked(); !opened.ok()) return opened;
            }
            continue;
        }
        if (pending.empty()) {
            const bool content = S_ISREG(status.st_mode) || S_ISDIR(status.st_mode);
            if (content && !trusted_owner(status.st_uid))
                return refuse(entry + " belongs to uid " + std::to_string(status.st_uid) + ", who could change it");
            if (content && writable_by_others(status) && !(S_ISDIR(status.st_mode) && (status.st_mode & S_ISVTX) != 0))
                return refuse(entry + " is writable by other users (mode " + octal_mode(status.st_mode) +
                              "), who could change it");
            if (resolved != nullptr) *resolved = entry;
            if (final_status != nullptr) *final_status = status;
            return {};
        }
        if (!S_ISDIR(status.st_mode)) return errno_status(path + ": " + entry, ENOTDIR);
        walked = entry;
        directory_status = status;
    }
    if (resolved != nullptr) *resolved = walked.empty() ? "/" : walked;
    if (final_status != nullptr) *final_status = directory_status;
    return {};  // "/" itself, or a path ending in "." or ".."
}

} // namespace

Status check_only_host_can_change(const std::string& path) { return walk_only_host_can_change(path, nullptr); }

Result<std::string> resolve_trusted_path(const std::string& path, const std::vector<std::string>& writable_directories,
                                         struct stat* final_status) {
    auto refuse = [&](const std::string& named, const std::string& directory) {
        return Status(StatusCode::PermissionDenied,
                      named + " lies inside the plugin-writable directory " + directory +
                          "; a path a plugin can change is never resolved through links");
    };
    if (const std::string* directory = writable_directory_holding(path, writable_directories))
        return refuse(path, *directory);
    // Its links and directories must be root's (or the host's) alone, or another user could
    // point it elsewhere between this and the open that follows.
    // The walk resolves every link itself: for an absolute path its end is realpath()'s
    // answer, without realpath's readlink() per component.
    std::string result;
    const bool absolute = !path.empty() && path[0] == '/';
    if (Status trusted = walk_only_host_can_change(path, &result, absolute ? final_status : nullptr); !trusted.ok())
        return trusted;
    if (!absolute) {
        char resolved[PATH_MAX];
        if (::realpath(path.c_str(), resolved) == nullptr) return errno_status("realpath " + path, errno);
        result = resolved;
    }
    if (const std::string* directory = writable_directory_holding(result, writable_directories))
        return refuse(path + " (" + result + ")", *directory);
    return result;
}

} // namespace airlock::host
