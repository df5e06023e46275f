// Killing what a plugin's processes left running as its dynamic uid (leftover_sweep.hpp).
#include "leftover_sweep.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace airlock::host::detail {
namespace {

// Whether /proc/PID (`name` in the open /proc `proc`) is a process, not a zombie (which can
// do nothing more), whose real or saved uid is `uid`: those kill() by a process of that uid
// would reach. /proc/PID/status, not the owner of /proc/PID, which is root's for a process
// that is not dumpable. Plain open and read (no stream per process): this runs after every
// reap of such a plugin.
bool runs_as(int proc, const char* name, uid_t uid) {
    char path[300];  // "NAME/status"
    std::snprintf(path, sizeof path, "%s/status", name);
    const int fd = ::openat(proc, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;  // gone meanwhile
    char text[4096];
    const ssize_t got = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (got <= 0) return false;
    text[got] = '\0';
    const char* state = std::strstr(text, "\nState:\t");
    const char* ids = std::strstr(text, "\nUid:\t");
    unsigned long real = 0, effective = 0, saved = 0;
    if (ids == nullptr || std::sscanf(ids, "\nUid: %lu %lu %lu", &real, &effective, &saved) != 3) return false;
    const bool zombie = state != nullptr && state[8] == 'Z';
    return !zombie && (real == uid || saved == uid);
}

// Sends SIGKILL to every process that runs as `uid` (runs_as). Returns how many were found,
// or -1 when /proc cannot be read. Each is killed through a pidfd opened before its status is
// read again and checked alive after, so a pid reused meanwhile is never the one killed. The host
// kills them itself: a helper taking the uid (kill(-1) as that uid) could be stopped by one
// of them (SIGSTOP) while the host waited for it, where Landlock does not scope signals.
int kill_round(uid_t uid) {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return -1;
    int found = 0;
    for (const dirent* entry; (entry = ::readdir(proc)) != nullptr;) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        if (!runs_as(::dirfd(proc), entry->d_name, uid)) continue;
        const pid_t pid = static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10));
        const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        if (pidfd < 0) continue;  // gone meanwhile
        if (runs_as(::dirfd(proc), entry->d_name, uid) &&
            ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0) {  // still that process
            ++found;
            (void)::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
        }
        ::close(pidfd);
    }
    ::closedir(proc);
    return found;
}

} // namespace

bool kill_processes_of(uid_t uid) noexcept {
    // Again while some are found: a leftover may fork between the visits, and a killed one
    // is not a zombie at once.
    for (int round = 0; round < 50; ++round) {
        const int found = kill_round(uid);
        if (found <= 0) return found == 0;
        ::usleep(10 * 1000);
    }
    return kill_round(uid) == 0;
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
