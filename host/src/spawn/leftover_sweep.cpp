// Killing what a plugin's processes left running as its dynamic uid (leftover_sweep.hpp).
#include "leftover_sweep.hpp"

#include <airlock/host/direct_clone.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace airlock::host::detail {
namespace {

// Some process (not a zombie, which can do nothing more) has `uid` as its real or saved uid:
// one that kill() by a process of that uid reaches. /proc/PID/status, not the owner of
// /proc/PID, which is root's for a process that is not dumpable. Plain open and read (no
// stream per process): this runs after every reap of such a plugin.
bool any_process_of(uid_t uid) {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return true;  // cannot tell: never claim none
    bool found = false;
    char text[4096];
    for (const dirent* entry; !found && (entry = ::readdir(proc)) != nullptr;) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        char path[sizeof entry->d_name + 8];  // "NAME/status"
        std::snprintf(path, sizeof path, "%s/status", entry->d_name);
        const int fd = ::openat(::dirfd(proc), path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;  // gone meanwhile
        const ssize_t got = ::read(fd, text, sizeof text - 1);
        ::close(fd);
        if (got <= 0) continue;
        text[got] = '\0';
        const char* state = std::strstr(text, "\nState:\t");
        const char* ids = std::strstr(text, "\nUid:\t");
        unsigned long real = 0, effective = 0, saved = 0;
        if (ids == nullptr || std::sscanf(ids, "\nUid: %lu %lu %lu", &real, &effective, &saved) != 3) continue;
        const bool zombie = state != nullptr && state[8] == 'Z';
        found = !zombie && (real == uid || saved == uid);
    }
    ::closedir(proc);
    return found;
}

// The helper shares the host's memory (CLONE_VM): raw system calls only. It makes that memory
// non-dumpable before it takes a uid other processes have, as a launch child does
// (docs/spawning.md, "Standby child"). kill(-1) then reaches every process but itself and
// pid 1 that the kernel lets a process of `uid` signal: those whose real or saved uid it is.
__attribute__((no_sanitize("address", "undefined", "thread"))) int kill_as_uid(void* argument) {
    const auto uid = *static_cast<const uid_t*>(argument);
    if (syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || syscall(SYS_setgroups, 0, nullptr) != 0 ||
        syscall(SYS_setresgid, uid, uid, uid) != 0 || syscall(SYS_setresuid, uid, uid, uid) != 0) {
        syscall(SYS_exit, 1);
    }
    syscall(SYS_kill, -1, SIGKILL);  // 0 whenever any process exists: /proc tells what is left
    syscall(SYS_exit, 0);
    return 0;
}

} // namespace

bool kill_processes_of(uid_t uid) noexcept {
    try {
        // Again while some are left: a leftover may have forked between the kill's visits.
        for (int round = 0; round < 50; ++round) {
            if (!any_process_of(uid)) return true;
            if (round > 0) ::usleep(10 * 1000);
            alignas(16) char stack[16 * 1024];  // this thread sleeps in the vfork meanwhile
            uid_t argument = uid;
            const pid_t pid =
                direct_clone()(kill_as_uid, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &argument);
            if (pid < 0) return false;
            int status = 0;
            while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
            }
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
        }
        return !any_process_of(uid);
    } catch (...) {  // std::string, ifstream: out of memory
        return false;
    }
}

namespace {

// One /proc/sysvipc table: the id of each object whose owner or creator is `uid`, by the
// columns its header line names.
std::vector<int> ipc_ids_of(const char* table, const char* id_column, uid_t uid) {
    std::ifstream in(table);
    std::string header;
    std::getline(in, header);
    std::istringstream names(header);
    std::vector<std::string> columns{std::istream_iterator<std::string>(names), {}};
    const auto column = [&](const std::string& name) {
        return static_cast<std::size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
    };
    const std::size_t id = column(id_column), owner = column("uid"), creator = column("cuid");
    std::vector<int> found;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::vector<std::string> values{std::istream_iterator<std::string>(fields), {}};
        if (std::max({id, owner, creator}) >= values.size()) continue;
        if (std::stoul(values[owner]) == uid || std::stoul(values[creator]) == uid) found.push_back(std::stoi(values[id]));
    }
    return found;
}

} // namespace

bool remove_ipc_objects_of(uid_t uid) noexcept {
    try {
        bool removed = true;
        for (int id : ipc_ids_of("/proc/sysvipc/msg", "msqid", uid)) removed = ::msgctl(id, IPC_RMID, nullptr) == 0 && removed;
        for (int id : ipc_ids_of("/proc/sysvipc/shm", "shmid", uid)) removed = ::shmctl(id, IPC_RMID, nullptr) == 0 && removed;
        for (int id : ipc_ids_of("/proc/sysvipc/sem", "semid", uid)) removed = ::semctl(id, 0, IPC_RMID) == 0 && removed;
        return removed;
    } catch (...) {  // out of memory, or a line that is not numbers
        return false;
    }
}

UidHold::UidHold(std::shared_ptr<UidProcesses> processes) : processes_(std::move(processes)) {
    std::lock_guard lock(processes_->mutex);
    // Marked before the process exists; a failed write leaves the mark as it was, which a
    // sweep that failed before also left set.
    if (processes_->live++ == 0) (void)!::pwrite(processes_->lock_file.get(), "1", 1, 0);
}

UidHold::~UidHold() { give_back(); }

void UidHold::on_reaped(PluginExit& exit) noexcept {
    if (inner_) inner_->on_reaped(exit);
    inner_.reset();
    give_back();
}

void UidHold::give_back() noexcept {
    if (!processes_) return;
    std::lock_guard lock(processes_->mutex);
    if (--processes_->live == 0) {
        bool swept = true;
        if (processes_->may_fork) swept = kill_processes_of(processes_->uid);
        if (processes_->shares_host_ipc) swept = remove_ipc_objects_of(processes_->uid) && swept;
        if (swept) (void)::ftruncate(processes_->lock_file.get(), 0);
    }
    processes_.reset();
}

} // namespace airlock::host::detail
