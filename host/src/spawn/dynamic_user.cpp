// A uid of its own per plugin: allocation from the documented range, guarded by lock files.
#include "dynamic_user.hpp"

#include "leftover_sweep.hpp"

#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace airlock::host::detail {
namespace {

[[noreturn]] void refuse(const std::string& plugin, const std::string& why) {
    throw SpawnError("plugin '" + plugin + "': cannot allocate a uid of its own (dynamic_user): " + why);
}

// mkdir (if missing) and open `name` beneath `parent`, never through a link, and insist that
// only root can write it: anyone else could plant lock files and hold uids, or links.
UniqueFd open_private_directory(const std::string& plugin, int parent, const char* name, const std::string& path,
                                mode_t mode) {
    if (::mkdirat(parent, name, mode) != 0 && errno != EEXIST) refuse(plugin, "mkdir " + path + ": " + std::strerror(errno));
    UniqueFd dir(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) refuse(plugin, "cannot open " + path + ": " + std::strerror(errno));
    struct stat status {};
    if (::fstat(dir.get(), &status) != 0 || status.st_uid != 0 || (status.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        refuse(plugin, path + " must be a directory owned by root and writable by root only");
    }
    return dir;
}

// An account or group with this id exists: files and processes of it are someone's.
bool id_is_named(uid_t id) {
    std::vector<char> buffer(16384);
    passwd user{};
    passwd* found_user = nullptr;
    if (::getpwuid_r(id, &user, buffer.data(), buffer.size(), &found_user) != 0 || found_user != nullptr) return true;
    group entry{};
    group* found_group = nullptr;
    return ::getgrgid_r(id, &entry, buffer.data(), buffer.size(), &found_group) != 0 || found_group != nullptr;
}

// FNV-1a: a stable first slot per plugin name.
std::uint32_t name_hash(const std::string& text) {
    std::uint32_t hash = 2166136261u;
    for (unsigned char c : text) hash = (hash ^ c) * 16777619u;
    return hash;
}

} // namespace

DynamicUser DynamicUser::allocate(const std::string& plugin, bool sweep) {
    UniqueFd run(::open("/run", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!run) refuse(plugin, std::string("cannot open /run: ") + std::strerror(errno));
    const UniqueFd airlock = open_private_directory(plugin, run.get(), "airlock", "/run/airlock", 0755);
    const UniqueFd locks = open_private_directory(plugin, airlock.get(), "dynamic-uid", kDynamicUidLockDirectory, 0700);

    const std::uint32_t first_slot = name_hash(plugin) % kDynamicUidCount;
    for (std::uint32_t i = 0; i < kDynamicUidCount; ++i) {
        const uid_t uid = kDynamicUidFirst + (first_slot + i) % kDynamicUidCount;
        if (id_is_named(uid)) continue;
        const std::string name = std::to_string(uid);
        UniqueFd lock(::openat(locks.get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!lock) refuse(plugin, "cannot open " + std::string(kDynamicUidLockDirectory) + "/" + name + ": " + std::strerror(errno));
        // flock belongs to this open file description: another Spawner of this very host
        // (another plugin) conflicts with it as another host does.
        if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
            struct stat status{};
            if (::fstat(lock.get(), &status) != 0) refuse(plugin, "fstat " + name + ": " + std::strerror(errno));
            // A marked lock (DynamicUser::lock_fd): a host that held the uid died while a process
            // of it could leave processes or IPC objects behind, or could not sweep them.
            if (!sweep || status.st_size == 0) return DynamicUser(uid, std::move(lock));
            if (!kill_processes_of(uid)) refuse(plugin, "processes left running as uid " + name + " cannot be ended");
            if (!remove_ipc_objects_of(uid)) refuse(plugin, "IPC objects left by uid " + name + " cannot be removed");
            if (::ftruncate(lock.get(), 0) != 0) refuse(plugin, "ftruncate " + name + ": " + std::strerror(errno));
            return DynamicUser(uid, std::move(lock));
        }
        if (errno != EWOULDBLOCK) refuse(plugin, "flock " + name + ": " + std::strerror(errno));
    }
    refuse(plugin, "every uid of " + std::to_string(kDynamicUidFirst) + "-" +
                       std::to_string(kDynamicUidFirst + kDynamicUidCount - 1) + " is in use");
}

} // namespace airlock::host::detail
