// Raw system calls only: see child_inherited_state.hpp.
#include "child_inherited_state.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {

int child_drop_capabilities() noexcept {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[2]{};
    return ::syscall(SYS_capset, &header, none) == 0 ? 0 : errno;
}

int child_reset_scheduling() noexcept {
    const long policy = ::syscall(SYS_sched_getscheduler, 0);
    if (policy < 0) return errno;
    const long base_policy = policy & ~static_cast<long>(SCHED_RESET_ON_FORK);
    if (base_policy == SCHED_FIFO || base_policy == SCHED_RR || base_policy == 6 /* SCHED_DEADLINE */) {
        const sched_param normal{};
        if (::syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &normal) != 0) return errno;
    }
    // The raw call answers 20 - nice (1..40): above 20 is a negative nice value.
    const long niceness = ::syscall(SYS_getpriority, PRIO_PROCESS, 0);
    if (niceness < 0) return errno;
    if (niceness > 20 && ::syscall(SYS_setpriority, PRIO_PROCESS, 0, 0) != 0) return errno;
    const long io_priority = ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
    if (io_priority < 0) return errno;
    // IOPRIO_CLASS_NONE: the I/O priority follows the nice value, as for a fresh process.
    if (IOPRIO_PRIO_CLASS(io_priority) == IOPRIO_CLASS_RT &&
        ::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_NONE, 0)) != 0) {
        return errno;
    }
    return 0;
}

int child_reset_oom_score() noexcept {
    const long fd = ::syscall(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno;
    char value[16];
    const long length = ::syscall(SYS_read, fd, value, sizeof value);
    int error = length < 0 ? errno : 0;
    // Raising needs no privilege; the file takes the new value whatever the offset.
    if (length > 0 && value[0] == '-' && ::syscall(SYS_write, fd, "0", 1) != 1) error = errno;
    ::syscall(SYS_close, fd);
    return error;
}

} // namespace airlock::host::detail
