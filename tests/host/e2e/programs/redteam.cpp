// The "redteam" plugin: a hostile plugin for the redteam_*_test.cpp cases. Like the
// "attempt" plugin it performs ONE action named by its first argument and reports it as one
// line on stdout (`redteam ACTION: blocked errno=E...` or `redteam ACTION: SUCCEEDED ...`),
// but its actions go after what the host shares with the plugin rather than what the sandbox
// forbids outright: the caller's inherited descriptions, the host's log, sibling plugins.
// stdout is unbuffered so a line printed before a fatal call is not lost.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <linux/ioprio.h>
#include <net/if.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

const char* g_action = "?";

int report(long result) {
    if (result < 0) {
        const char* name = strerrorname_np(errno);
        std::printf("redteam %s: blocked errno=%s\n", g_action, name != nullptr ? name : "?");
    } else {
        std::printf("redteam %s: SUCCEEDED\n", g_action);
    }
    return 0;
}

int to_int(const char* text) { return static_cast<int>(std::strtol(text, nullptr, 10)); }

// Sets (or clears) `flag` in the status flags of the open file description behind `fd`.
long change_status_flag(int fd, int flag, bool on) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return ::fcntl(fd, F_SETFL, on ? (flags | flag) : (flags & ~flag));
}

// Announces that a hog holds its resource ("note filled ..."), then keeps it until killed.
[[noreturn]] void hold(const char* what, long count) {
    const char* error = errno != 0 ? strerrorname_np(errno) : nullptr;
    std::printf("note filled %s=%ld errno=%s\n", what, count, error != nullptr ? error : "0");
    for (;;) ::pause();
}

void* sleeping_thread(void*) {
    for (;;) ::pause();
}

// One SCM_RIGHTS message carrying `count` copies of `fd` on `socket`.
long send_fds(int socket, int fd, int count) {
    int fds[253];
    for (int i = 0; i < count; ++i) fds[i] = fd;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
    char byte = 'x';
    iovec data{&byte, 1};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<std::size_t>(count));
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<std::size_t>(count));
    std::memcpy(CMSG_DATA(header), fds, sizeof(int) * static_cast<std::size_t>(count));
    return ::sendmsg(socket, &message, MSG_DONTWAIT);
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    if (argc < 2) return 2;
    g_action = argv[1];
    const char* action = argv[1];
    const int fd = argc > 2 ? to_int(argv[2]) : 1;

    // --- the caller's open file descriptions (stdio = "inherit") --------------------------
    if (!std::strcmp(action, "set-nonblock")) return report(change_status_flag(fd, O_NONBLOCK, true));
    if (!std::strcmp(action, "fionbio")) {
        int on = 1;
        return report(::ioctl(fd, FIONBIO, &on));
    }
    if (!std::strcmp(action, "fioasync")) {
        int on = 1;
        return report(::ioctl(fd, FIOASYNC, &on));
    }
    if (!std::strcmp(action, "set-async")) return report(change_status_flag(fd, O_ASYNC, true));
    if (!std::strcmp(action, "clear-append")) return report(change_status_flag(fd, O_APPEND, false));
    if (!std::strcmp(action, "rewrite-start")) {
        // Clear O_APPEND, then overwrite the first byte of the file behind `fd`.
        if (change_status_flag(fd, O_APPEND, false) < 0) return report(-1);
        return report(::pwrite(fd, "X", 1, 0) == 1 ? 0 : -1);
    }
    if (!std::strcmp(action, "fill-then-violate")) {
        // Make the shared `fd` non-blocking, fill it until the kernel says EAGAIN, then break
        // a rule: the host's report of it meets a full, non-blocking description.
        if (change_status_flag(fd, O_NONBLOCK, true) < 0) return report(-1);
        static char block[4096];
        std::memset(block, '.', sizeof block);
        while (::write(fd, block, sizeof block) > 0) {
        }
        if (errno != EAGAIN) return report(-1);
        std::printf("note filled\n");
        return report(::syscall(SYS_mlock, nullptr, 0));  // outside the default profile
    }
    if (!std::strcmp(action, "sigio-parent")) {
        // Make the parent (the host, without a PID namespace) the SIGIO owner of the shared
        // `fd` and switch on O_ASYNC: the next time the caller's reader drains the pipe the
        // kernel would send SIGIO, whose default action ends the host.
        if (::fcntl(fd, F_SETOWN, ::getppid()) < 0 || change_status_flag(fd, O_ASYNC, true) < 0) return report(-1);
        std::printf("note owner=%d\n", ::fcntl(fd, F_GETOWN));
        for (int i = 0; i < 20; ++i) {
            (void)!::write(fd, "tick\n", 5);
            ::usleep(50 * 1000);
        }
        return report(0);
    }
    if (!std::strcmp(action, "setown-parent")) return report(::fcntl(fd, F_SETOWN, ::getppid()));
    if (!std::strcmp(action, "flock")) return report(::flock(fd, LOCK_EX | LOCK_NB));
    if (!std::strcmp(action, "terminal-echo-off")) {
        // Switches echo off on the terminal at `fd` (a granted descriptor): the setting stays
        // with the terminal after the plugin, for whoever types into it next.
        termios settings{};
        if (::tcgetattr(fd, &settings) != 0) return report(-1);
        settings.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        return report(::tcsetattr(fd, TCSANOW, &settings));
    }
    if (!std::strcmp(action, "granted-device")) {
        // Whether `fd` (a granted descriptor) is a device, whose every ioctl the plugin then has.
        struct stat status{};
        if (::fstat(fd, &status) != 0) return report(-1);
        if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode)) return report(0);
        errno = ENODEV;
        return report(-1);
    }
    if (!std::strcmp(action, "read-byte")) {
        char byte = 0;
        return report(::read(fd, &byte, 1));
    }
    if (!std::strcmp(action, "tiocsti")) {
        char byte = 'x';
        return report(::ioctl(fd, TIOCSTI, &byte));
    }

    // --- what the allowed calls reach (round 8) --------------------------------------------
    if (!std::strcmp(action, "inode-flags")) {
        // Inode flags (no dump, no atime, synchronous writes) through `fd`, which may be a
        // read-only grant: the kernel asks only that the caller own the file.
        int flags = 0;
        if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return report(-1);
        flags |= FS_NODUMP_FL | FS_NOATIME_FL | FS_SYNC_FL;
        return report(::ioctl(fd, FS_IOC_SETFLAGS, &flags));
    }
    if (!std::strcmp(action, "host-interfaces")) {
        // The network interfaces of the namespace the plugin's connection socket was made in
        // (the host's), whatever namespace the plugin runs in.
        const char* connection = std::getenv("AIRLOCK_CONNECTION_FD");
        ifreq entries[16] = {};
        ifconf list{};
        list.ifc_len = sizeof entries;
        list.ifc_req = entries;
        if (::ioctl(connection != nullptr ? to_int(connection) : fd, SIOCGIFCONF, &list) != 0) return report(-1);
        std::printf("note interfaces=%d\n", static_cast<int>(list.ifc_len / sizeof(ifreq)));
        return report(0);
    }
    if (!std::strcmp(action, "clone-parent")) {
        // A process whose parent is the plugin's parent (without a PID namespace, the host):
        // it exits at once, and the host, which waits only for its own plugins, never reaps it.
        const long child = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (child == 0) ::_exit(0);
        return report(child);
    }
    if (!std::strcmp(action, "clear-pdeathsig")) {
        // Survive the host: no more SIGKILL when the parent dies (refused with EPERM).
        const long result = ::prctl(PR_SET_PDEATHSIG, 0);
        int signal = -1;
        ::prctl(PR_GET_PDEATHSIG, &signal);
        std::printf("note pdeathsig=%d\n", signal);
        return report(result);
    }
    if (!std::strcmp(action, "map-locked")) {
        // Locks 1 MiB into RAM through mmap's MAP_LOCKED flag, which no @memlock call is
        // needed for: the kernel allows it up to RLIMIT_MEMLOCK, which a plugin inherited.
        rlimit limit{};
        ::getrlimit(RLIMIT_MEMLOCK, &limit);
        std::printf("note memlock-soft=%llu\n", static_cast<unsigned long long>(limit.rlim_cur));
        void* locked = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
        return report(locked == MAP_FAILED ? -1 : 0);
    }
    if (!std::strcmp(action, "parent-cpu-clock")) {
        // The CPU time of the parent (the host, without a PID namespace) by its pid.
        const auto clock = static_cast<clockid_t>((~static_cast<unsigned>(::getppid()) << 3) | 2);
        timespec used{};
        return report(::syscall(SYS_clock_gettime, clock, &used));
    }

    // --- text the host prints --------------------------------------------------------------
    if (!std::strcmp(action, "c1-output")) {
        // C1 controls as UTF-8 (CSI U+009B, OSC U+009D, NEL U+0085) and as raw bytes, on both
        // streams: a terminal that honours C1 would clear the screen or set its title. Then a
        // right-to-left override (U+202E: "gnp.exe" reads "exe.png") and a line separator.
        const char text[] = "A\xc2\x9b" "2J\xc2\x9d" "0;pwned\x07" "B\xc2\x85" "C\x9b" "2JD"
                            "\xe2\x80\xae" "gnp.exe\xe2\x80\xa8" "E\n";
        (void)!::write(2, text, sizeof text - 1);
        std::printf("%s", text);
        return report(0);
    }

    // --- process state ---------------------------------------------------------------------
    if (!std::strcmp(action, "dumpable")) {
        rlimit core{};
        ::getrlimit(RLIMIT_CORE, &core);
        std::printf("note dumpable=%d core-soft=%llu core-hard=%llu\n", ::prctl(PR_GET_DUMPABLE),
                    static_cast<unsigned long long>(core.rlim_cur), static_cast<unsigned long long>(core.rlim_max));
        return report(0);
    }
    if (!std::strcmp(action, "raise-core")) {
        rlimit core{RLIM_INFINITY, RLIM_INFINITY};
        return report(::setrlimit(RLIMIT_CORE, &core));
    }
    if (!std::strcmp(action, "crash")) {
        std::printf("note crashing\n");
        ::raise(SIGSEGV);
        return report(0);
    }
    if (!std::strcmp(action, "seccomp-listener")) {
        // A filter of the plugin's own whose user notifications it answers itself: were it
        // accepted, its USER_NOTIF would shadow the host's (the newest filter's wins among
        // equal actions) and a CONTINUE answer would run calls the host forbids.
        sock_filter notify_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF)};
        sock_fprog program{1, notify_all};
        return report(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program));
    }
    // --- violations whose kind the plugin picks ---------------------------------------------
    if (!std::strcmp(action, "distinct-violations")) {
        // COUNT violations, each of another kind: 32-bit (int 0x80) calls with numbers no
        // table names, which the kernel hands the host as they are. A report limiter or a
        // learn-mode record keyed by the number would write, or keep, one entry per call.
        const long count = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1000;
        long refused = 0;
        for (long i = 0; i < count; ++i) {
            long result = 0x10000 + i;
            asm volatile("int $0x80" : "+a"(result) : : "memory");
            if (result == -EPERM) ++refused;
        }
        std::printf("note refused=%ld\n", refused);
        return report(0);
    }
    // --- kernel resources counted per user (sibling plugins running as the same uid) -------
    // Each hog takes all it can of one per-user resource, prints "note filled ...", and holds
    // it until killed; its victim action then needs a little of the same resource.
    if (!std::strcmp(action, "hog-sigpending")) {
        // Queued signals count against RLIMIT_SIGPENDING of the receiver's *user*.
        sigset_t rt;
        sigemptyset(&rt);
        sigaddset(&rt, SIGRTMIN);
        ::sigprocmask(SIG_BLOCK, &rt, nullptr);
        long queued = 0;
        while (::sigqueue(::getpid(), SIGRTMIN, sigval{0}) == 0) ++queued;
        hold("signals", queued);
    }
    if (!std::strcmp(action, "timer-create")) {
        // A POSIX timer preallocates its queued signal: it fails with EAGAIN when the user's
        // pending signals are at RLIMIT_SIGPENDING.
        sigevent event{};
        event.sigev_notify = SIGEV_SIGNAL;
        event.sigev_signo = SIGRTMIN;
        timer_t timer{};
        return report(::timer_create(CLOCK_MONOTONIC, &event, &timer));
    }
    if (!std::strcmp(action, "hog-threads")) {
        // Threads count against RLIMIT_NPROC of the user (and the plugin's own tasks limit).
        const int wanted = argc > 2 ? to_int(argv[2]) : 60;
        long started = 0;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setstacksize(&attributes, 64 * 1024);
        for (pthread_t thread{}; started < wanted; ++started) {
            if (int error = pthread_create(&thread, &attributes, sleeping_thread, nullptr); error != 0) {
                errno = error;
                break;
            }
        }
        hold("threads", started);
    }
    if (!std::strcmp(action, "fork")) {
        const pid_t child = ::fork();
        if (child == 0) _exit(0);
        if (child > 0) ::waitpid(child, nullptr, 0);
        return report(child);
    }
    if (!std::strcmp(action, "hog-inflight")) {
        // Descriptors sent over a UNIX socket and never received count per user against the
        // sender's RLIMIT_NOFILE ("too many references": ETOOMANYREFS once it is exceeded).
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return report(-1);
        long sent = 0;
        while (send_fds(pair[0], pair[1], 253) >= 0) sent += 253;
        hold("in-flight", sent);
    }
    if (!std::strcmp(action, "send-fd")) {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return report(-1);
        return report(send_fds(pair[0], 0, 1));
    }
    if (!std::strcmp(action, "hog-pipe-pages")) {
        // Pipe buffer slots count per user against fs.pipe-user-pages-soft: past it, every
        // new pipe of that user gets 2 pages and cannot grow.
        long pages = 0;
        for (int ends[2]; ::pipe2(ends, O_CLOEXEC) == 0;) {
            const int size = ::fcntl(ends[1], F_SETPIPE_SZ, 1 << 20);
            if (size < 0) break;
            pages += size / 4096;
        }
        hold("pipe-pages", pages);
    }
    if (!std::strcmp(action, "pipe-size")) {
        // A new pipe's size, then growing it to 1 MiB (fs.pipe-max-size).
        int ends[2];
        if (::pipe2(ends, O_CLOEXEC) != 0) return report(-1);
        std::printf("note pipe-size=%d\n", ::fcntl(ends[0], F_GETPIPE_SZ));
        return report(::fcntl(ends[1], F_SETPIPE_SZ, 1 << 20));
    }
    if (!std::strcmp(action, "hog-inotify")) {
        // inotify instances count per user against fs.inotify.max_user_instances (128).
        long instances = 0;
        while (::inotify_init1(IN_CLOEXEC) >= 0) ++instances;
        hold("inotify", instances);
    }
    if (!std::strcmp(action, "inotify-init")) return report(::inotify_init1(IN_CLOEXEC));
    if (!std::strcmp(action, "hog-aio")) {
        // AIO contexts count machine-wide against fs.aio-max-nr.
        long events = 0;
        for (aio_context_t context = 0; ::syscall(SYS_io_setup, 4096, &context) == 0; context = 0) events += 4096;
        hold("aio-events", events);
    }
    if (!std::strcmp(action, "aio-setup")) {
        aio_context_t context = 0;
        return report(::syscall(SYS_io_setup, 1, &context));
    }
    if (!std::strcmp(action, "lease")) {
        // A write lease on a file it creates in its writable grant at fd `fd`: whoever opens
        // the file next waits for the lease to be broken (fs.lease-break-time, 45 s).
        ::signal(SIGIO, SIG_IGN);
        const int file = ::openat(fd, "leased", O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
        if (file < 0 || ::fcntl(file, F_SETLEASE, F_WRLCK) != 0) return report(-1);
        hold("lease", 1);
    }
    if (!std::strcmp(action, "open-in")) {
        // Opens NAME in the granted directory at fd `fd` (argv[3]).
        return report(::openat(fd, argc > 3 ? argv[3] : "leased", O_RDONLY | O_CLOEXEC));
    }
    // --- what a grant's descriptor says about the host beyond the grant (round 9) -------
    if (!std::strcmp(action, "stat-beside")) {
        // Metadata of NAME (argv[3]) beside the granted directory at fd `fd`, through "..":
        // fstatat, which Landlock does not check.
        const std::string path = std::string("../") + (argc > 3 ? argv[3] : "secret");
        struct stat status {};
        return report(::fstatat(fd, path.c_str(), &status, AT_SYMLINK_NOFOLLOW));
    }
    if (!std::strcmp(action, "readlink-beside")) {
        // The target of the link NAME (argv[3]) beside the granted directory.
        const std::string path = std::string("../") + (argc > 3 ? argv[3] : "link");
        char target[256];
        const ssize_t length = ::readlinkat(fd, path.c_str(), target, sizeof target - 1);
        if (length >= 0) std::printf("note target=%.*s\n", static_cast<int>(length), target);
        return report(length);
    }
    if (!std::strcmp(action, "parent-of-grant")) {
        // An O_PATH descriptor of ".." (Landlock checks no O_PATH open): is it the grant itself?
        const int parent = ::openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat above {}, grant {};
        if (parent < 0 || ::fstat(parent, &above) != 0 || ::fstat(fd, &grant) != 0) return report(-1);
        std::printf("note parent=%s\n", above.st_ino == grant.st_ino && above.st_dev == grant.st_dev ? "grant" : "other");
        return report(0);
    }
    if (!std::strcmp(action, "cwd-in-grant")) {
        // The working directory's name after fchdir into the grant: the kernel names a
        // directory outside the caller's root "(unreachable)" followed by its path from its
        // mount's namespace root (the raw call: glibc refuses such a name).
        char name[512];
        if (::fchdir(fd) != 0) return report(-1);
        const long length = ::syscall(SYS_getcwd, name, sizeof name);
        if (length > 0) std::printf("note cwd=%s\n", name);
        return report(length);
    }
    if (!std::strcmp(action, "bind-to-device")) {
        // SO_BINDTODEVICE with NAME (argv[2]) on the connection socket: the kernel looks the
        // name up in the namespace the socket was made in (the host's), answering ENODEV
        // for a name it does not know.
        const char* connection = std::getenv("AIRLOCK_CONNECTION_FD");
        const char* name = argc > 2 ? argv[2] : "lo";
        return report(::setsockopt(connection != nullptr ? to_int(connection) : 3, SOL_SOCKET, SO_BINDTODEVICE,
                                   name, static_cast<socklen_t>(std::strlen(name) + 1)));
    }
    if (!std::strcmp(action, "inherited")) {
        // What it runs with that the host may not have meant to give: ambient capabilities
        // (they stay effective across exec for a non-root uid), the scheduling policy, nice
        // value and I/O priority class.
        unsigned long long ambient = 0;
        for (int cap = 0; cap < 64; ++cap)
            if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) ambient |= 1ULL << cap;
        errno = 0;
        const int nice_value = ::getpriority(PRIO_PROCESS, 0);
        const long ioprio = ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
        std::printf("note ambient=%llx policy=%d nice=%d ioclass=%ld\n", ambient, ::sched_getscheduler(0), nice_value,
                    ioprio < 0 ? -1L : static_cast<long>(IOPRIO_PRIO_CLASS(ioprio)));
        return report(0);
    }
    if (!std::strcmp(action, "whoami-hold")) {
        errno = 0;
        std::printf("note uid=%d gid=%d\n", static_cast<int>(::getuid()), static_cast<int>(::getgid()));
        hold("nothing", 0);
    }
    if (!std::strcmp(action, "whoami")) {
        std::printf("note uid=%d gid=%d\n", static_cast<int>(::getuid()), static_cast<int>(::getgid()));
        return report(0);
    }
    if (!std::strcmp(action, "leave-child")) {
        // A process that outlives this one: a double fork, a session of its own, SIGTERM and
        // SIGHUP ignored. Prints its pid (and uid) as the host sees it when there is no PID
        // namespace, then the plugin exits 0 (or, with "hold", waits to be killed); the
        // leftover waits forever.
        int ends[2];
        if (::pipe2(ends, O_CLOEXEC) != 0) return report(-1);
        const pid_t first = ::fork();
        if (first < 0) return report(-1);
        if (first == 0) {
            ::setsid();
            if (::fork() != 0) _exit(0);
            ::signal(SIGTERM, SIG_IGN);
            ::signal(SIGHUP, SIG_IGN);
            const pid_t self = ::getpid();
            (void)!::write(ends[1], &self, sizeof self);
            for (;;) ::pause();
        }
        ::close(ends[1]);
        pid_t left = 0;
        const bool got = ::read(ends[0], &left, sizeof left) == static_cast<ssize_t>(sizeof left);
        ::waitpid(first, nullptr, 0);
        std::printf("note left pid=%d uid=%d\n", got ? static_cast<int>(left) : -1, static_cast<int>(::getuid()));
        if (argc > 2 && !std::strcmp(argv[2], "hold")) hold("left", got ? 1 : 0);
        return report(got ? 0 : -1);
    }
    if (!std::strcmp(action, "msgqueue-create")) {
        // A System V message queue with key argv[2], readable and writable by its uid only.
        return report(::msgget(static_cast<key_t>(argc > 2 ? to_int(argv[2]) : 0), IPC_CREAT | 0600));
    }
    if (!std::strcmp(action, "sleep")) {
        std::printf("note pid=%d\n", ::getpid());
        ::sleep(static_cast<unsigned>(argc > 2 ? to_int(argv[2]) : 30));
        return report(0);
    }
    return 2;
}
