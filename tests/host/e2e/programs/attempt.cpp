// The "attempt" plugin: performs ONE forbidden action named by its first argument and says
// how it went, as one machine-readable line on stdout:
//
//     attempt NAME: blocked errno=EACCES       (the forbidden thing failed)
//     attempt NAME: SUCCEEDED [detail]         (it worked: a containment gap)
//
// then exits 0 either way (unless the sandbox kills it, in which case there is no line).
// Extra facts the tests check are printed as `note ...` lines. Plain C-style code: it runs
// confined (seccomp, Landlock, rlimits) and must not depend on anything the sandbox refuses
// for unrelated reasons. stdout is unbuffered so that a line printed before a fatal call
// is not lost when the plugin is killed.
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/ioprio.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/xattr.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

const char* error_name(int error) {
    const char* name = strerrorname_np(error);
    return name != nullptr ? name : "?";
}

const char* g_action = "?";

int blocked(int error, const char* detail = "") {
    std::printf("attempt %s: blocked errno=%s%s%s\n", g_action, error_name(error), *detail ? " " : "", detail);
    return 0;
}

int succeeded(const char* detail = "") {
    std::printf("attempt %s: SUCCEEDED%s%s\n", g_action, *detail ? " " : "", detail);
    return 0;
}

/// `result < 0` → blocked with errno, else SUCCEEDED.
int outcome(long result, const char* detail = "") {
    if (result < 0) return blocked(errno, detail);
    return succeeded(detail);
}

int usage() {
    std::printf("attempt %s: usage error\n", g_action);
    return 2;
}

int to_int(const char* text) { return static_cast<int>(std::strtol(text, nullptr, 10)); }

// ---- file system ----------------------------------------------------------------------

int open_path(const char* path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return blocked(errno);
    char buffer[64] = {};
    ssize_t got = ::read(fd, buffer, sizeof buffer - 1);
    std::printf("note read %zd bytes\n", got);
    return succeeded();
}

/// Metadata: Landlock does not cover stat, so only a private root hides a host path.
int stat_path(const char* path) {
    struct stat status {};
    return outcome(::stat(path, &status));
}

int openat_relative(int dir_fd, const char* relative) {
    int fd = ::openat(dir_fd, relative, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return blocked(errno);
    return succeeded();
}

int write_fd(int fd) {
    static const char data[] = "OVERWRITTEN";
    return outcome(::write(fd, data, sizeof data - 1));
}

int reopen_proc_write(int fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int reopened = ::open(path, O_WRONLY | O_CLOEXEC);
    if (reopened < 0) return blocked(errno);
    static const char data[] = "OVERWRITTEN";
    ssize_t wrote = ::write(reopened, data, sizeof data - 1);
    std::printf("note wrote %zd bytes through the re-opened descriptor\n", wrote);
    return succeeded();
}

int pwrite_at_zero(int fd, const char* data) {
    // Succeeds on an O_APPEND descriptor, but the kernel appends: the test checks where it lands.
    ssize_t wrote = ::pwrite(fd, data, std::strlen(data), 0);
    if (wrote < 0) return blocked(errno);
    std::printf("note pwrite returned %zd\n", wrote);
    return succeeded("(offset ignored by O_APPEND?)");
}

int clear_append(int fd, const char* data) {
    int flags = ::fcntl(fd, F_GETFL);
    int result = ::fcntl(fd, F_SETFL, flags & ~O_APPEND);
    int saved = errno;
    std::printf("note flags-after %s\n", (::fcntl(fd, F_GETFL) & O_APPEND) ? "append" : "no-append");
    // Whatever happened, try the overwrite at 0.
    ssize_t wrote = ::pwrite(fd, data, std::strlen(data), 0);
    std::printf("note pwrite-after %zd\n", wrote);
    if (result < 0) return blocked(saved);
    return succeeded();
}

int pwritev2_noappend(int fd, const char* data) {
    iovec vector{const_cast<char*>(data), std::strlen(data)};
    return outcome(::pwritev2(fd, &vector, 1, 0, RWF_NOAPPEND));
}

int truncate_fd(int fd) { return outcome(::ftruncate(fd, 0)); }

// ---- network --------------------------------------------------------------------------

int tcp_socket() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return blocked(errno);
    return succeeded();
}

int tcp_connect(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return blocked(errno, "at=socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) return blocked(errno, "at=connect");
    return succeeded();
}

/// The network interfaces the plugin's network namespace has: SIOCGIFCONF lists those
/// with an IPv4 address, SIOCGIFFLAGS says whether loopback is up. Asked on a socketpair
/// end, which belongs to the namespace it was made in (socket() itself is refused).
int interfaces() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) return blocked(errno, "at=socketpair");
    ifreq entries[16] = {};
    ifconf list{};
    list.ifc_len = sizeof entries;
    list.ifc_req = entries;
    if (::ioctl(pair[0], SIOCGIFCONF, &list) < 0) return blocked(errno, "at=SIOCGIFCONF");
    std::printf("note addressed-interfaces %d\n", static_cast<int>(list.ifc_len / sizeof(ifreq)));
    ifreq loopback{};
    std::strcpy(loopback.ifr_name, "lo");
    if (::ioctl(pair[0], SIOCGIFFLAGS, &loopback) < 0) {
        std::printf("note lo errno=%s\n", error_name(errno));
    } else {
        std::printf("note lo %s\n", (loopback.ifr_flags & IFF_UP) ? "up" : "down");
    }
    return succeeded();
}

/// The host name the plugin sees, as a note.
int host_name() {
    utsname names{};
    if (::uname(&names) != 0) return blocked(errno);
    std::printf("note hostname %s\n", names.nodename);
    return succeeded();
}

/// `name` starting with '@' is abstract (the '@' becomes the leading NUL).
int unix_connect(const char* name) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::size_t length = std::strlen(name);
    if (length >= sizeof address.sun_path) return usage();
    std::memcpy(address.sun_path, name, length);
    if (name[0] == '@') address.sun_path[0] = '\0';
    socklen_t size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length + (name[0] == '@' ? 0 : 1));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        // No socket(): try re-pointing a socketpair end instead.
        std::printf("note socket errno=%s\n", error_name(errno));
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) return blocked(errno, "at=socketpair");
        fd = pair[0];
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), size) < 0) return blocked(errno, "at=connect-socketpair");
        return succeeded("via=socketpair");
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), size) < 0) return blocked(errno, "at=connect");
    return succeeded();
}

/// A datagram socketpair end could `sendto` any pathname socket (Landlock ABI 7 does not cover it).
int unix_dgram_sendto(const char* path) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) return blocked(errno, "at=socketpair");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    static const char data[] = "hello";
    if (::sendto(pair[0], data, sizeof data, 0, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
        return blocked(errno, "at=sendto");
    return succeeded();
}

// ---- processes ------------------------------------------------------------------------

int exec_shell() {
    char sh[] = "/bin/sh";
    char dash_c[] = "-c";
    char script[] = "echo attempt exec-sh: SUCCEEDED";
    char* argv[] = {sh, dash_c, script, nullptr};
    ::execve("/bin/sh", argv, environ);
    return blocked(errno);
}

int execveat_shell() {
    char sh[] = "/bin/sh";
    char dash_c[] = "-c";
    char script[] = "echo attempt execveat-sh: SUCCEEDED";
    char* argv[] = {sh, dash_c, script, nullptr};
    ::syscall(SYS_execveat, AT_FDCWD, "/bin/sh", argv, environ, 0);
    return blocked(errno);
}

int fork_child() {
    pid_t child = ::fork();
    if (child == 0) _exit(0);
    if (child < 0) return blocked(errno);
    ::waitpid(child, nullptr, 0);
    return succeeded();
}

int vfork_child() {
    pid_t child = static_cast<pid_t>(::syscall(SYS_vfork));
    if (child == 0) ::syscall(SYS_exit, 0);
    if (child < 0) return blocked(errno);
    ::waitpid(child, nullptr, 0);
    return succeeded();
}

void* thread_body(void*) { return nullptr; }

int start_thread() {
    pthread_t thread;
    int error = ::pthread_create(&thread, nullptr, thread_body, nullptr);
    if (error != 0) return blocked(error);
    ::pthread_join(thread, nullptr);
    return succeeded();
}

// A new thread asks for its own attributes (glibc: sched_getaffinity(its tid)), as ASan's
// thread start and the Rust and Go runtimes do.
void* own_attributes(void*) {
    pthread_attr_t attributes;
    const int error = ::pthread_getattr_np(::pthread_self(), &attributes);
    if (error == 0) ::pthread_attr_destroy(&attributes);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(error));
}

int thread_attributes() {
    pthread_t thread;
    int error = ::pthread_create(&thread, nullptr, own_attributes, nullptr);
    if (error != 0) return blocked(error, "(pthread_create)");
    void* result = nullptr;
    ::pthread_join(thread, &result);
    error = static_cast<int>(reinterpret_cast<std::intptr_t>(result));
    return error == 0 ? succeeded() : blocked(error, "(pthread_getattr_np)");
}

// `hoard-fds SECONDS`: keeps descriptors in flight (sent on a socketpair of its own, never
// received) until the kernel refuses more (ETOOMANYREFS: in-flight descriptors count per uid
// against the sender's RLIMIT_NOFILE), reports how many, then sleeps, holding them.
int hoard_descriptors(unsigned seconds) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return blocked(errno, "(socketpair)");
    constexpr int kPerMessage = 253;  // the most one message can carry
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kPerMessage)] = {};
    char byte = 'x';
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * kPerMessage);
    for (int i = 0; i < kPerMessage; ++i) std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &pair[0], sizeof(int));
    long in_flight = 0;
    int error = 0;
    while (in_flight < 1000000) {
        if (::sendmsg(pair[1], &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            error = errno;
            break;
        }
        in_flight += kPerMessage;
    }
    std::printf("note hoarding %ld descriptors in flight (then errno=%s)\n", in_flight, error_name(error));
    ::sleep(seconds);
    return succeeded();
}

int io_uring() {
    io_uring_params params{};
    long fd = ::syscall(SYS_io_uring_setup, 4, &params);
    return outcome(fd);
}

// A 32-bit system call through the legacy int 0x80 gate (i386 getpid is 20).
int int80_call() {
    long result = 20;
    asm volatile("int $0x80" : "+a"(result) : : "memory");
    return outcome(result < 0 && result > -4096 ? (errno = static_cast<int>(-result), -1) : result);
}

// An x32-ABI system call: the native number with bit 30 set (x32 getpid).
int x32_call() { return outcome(::syscall(0x40000000 | SYS_getpid)); }

// A child in a new user namespace, by raw clone (fork-like: the child exits at once).
int clone_new_user() {
    long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) ::_exit(0);
    if (pid > 0) ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return outcome(pid);
}

// What a fresh user namespace would offer a plugin: new namespaces, and mounting in them.
int unshare_new_user() { return outcome(::syscall(SYS_unshare, CLONE_NEWUSER)); }
int mount_tmpfs(const char* target) { return outcome(::syscall(SYS_mount, "none", target, "tmpfs", 0, nullptr)); }

// The capability sets it runs with (capget on itself), and its ids.
int capabilities() {
    struct {
        std::uint32_t version;
        int pid;
    } header{0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct {
        std::uint32_t effective, permitted, inheritable;
    } data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return blocked(errno);
    std::printf("note capabilities effective=%x%08x permitted=%x%08x\n", data[1].effective, data[0].effective,
                data[1].permitted, data[0].permitted);
    std::printf("note ids uid=%u gid=%u\n", static_cast<unsigned>(::getuid()), static_cast<unsigned>(::getgid()));
    return succeeded();
}

// Any native system call by number, all arguments zero.
int raw_call(long number) { return outcome(::syscall(number, 0, 0, 0, 0, 0, 0)); }

// Punches a hole in an (append-only) descriptor's file: rewrites existing data.
int punch_hole(int fd) { return outcome(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1)); }

int ptrace_pid(pid_t pid) {
    long result = ::ptrace(PTRACE_ATTACH, pid, nullptr, nullptr);
    if (result == 0) {
        ::waitpid(pid, nullptr, __WALL);
        ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    }
    return outcome(result);
}

int kill_pid(pid_t pid, int signal) { return outcome(::kill(pid, signal)); }

int tkill_pid(pid_t pid, int signal) { return outcome(::syscall(SYS_tkill, pid, signal)); }

int sigqueue_pid(pid_t pid, int signal) {
    siginfo_t info{};
    info.si_code = SI_QUEUE;
    info.si_pid = ::getpid();
    info.si_uid = ::getuid();
    return outcome(::syscall(SYS_rt_sigqueueinfo, pid, signal, &info));
}

/// Makes `pid` the owner of a pipe with O_ASYNC and writes to it: the kernel would then
/// signal `pid` on the plugin's behalf. Whether a signal arrives only the target can tell.
int sigio_owner(pid_t pid, int signal) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) return blocked(errno, "at=pipe2");
    if (::fcntl(pipe_fds[0], F_SETOWN, pid) < 0) return blocked(errno, "at=F_SETOWN");
    if (::fcntl(pipe_fds[0], F_SETSIG, signal) < 0) return blocked(errno, "at=F_SETSIG");
    if (::fcntl(pipe_fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0) return blocked(errno, "at=F_SETFL");
    if (::write(pipe_fds[1], "x", 1) != 1) return blocked(errno, "at=write");
    return succeeded("armed");
}

/// Reads another process's RLIMIT_CORE and sets it to the same value (harmless if it works).
int prlimit_pid(pid_t pid) {
    rlimit current{};
    if (::prlimit(pid, RLIMIT_CORE, nullptr, &current) < 0) return blocked(errno, "at=read");
    if (::prlimit(pid, RLIMIT_CORE, &current, nullptr) < 0) return blocked(errno, "at=write");
    return succeeded();
}

/// prctl(PR_SET_PDEATHSIG, 0): detach from the host's lifetime. Prints the death signal after.
int clear_death_signal() {
    int result = ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    int saved = errno;
    int signal = -1;
    ::prctl(PR_GET_PDEATHSIG, &signal, 0, 0, 0);
    std::printf("note pdeathsig %d\n", signal);
    if (result < 0) return blocked(saved);
    return succeeded();
}

/// Tries to clear the death signal, says so, then waits to outlive its host.
int outlive_host(unsigned seconds) {
    int result = ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    std::printf("note clear-pdeathsig %s\n", result < 0 ? error_name(errno) : "ok");
    std::printf("note waiting pid %d\n", static_cast<int>(::getpid()));
    ::sleep(seconds);
    return succeeded("outlived");
}

/// One call that takes a pid, on `pid`: SUCCEEDED or blocked with errno.
long pid_call(const std::string& name, pid_t pid) {
    cpu_set_t cpus;
    sched_param param{};
    timespec interval{};
    void* head = nullptr;
    size_t length = 0;
    if (name == "getsid") return ::getsid(pid);
    if (name == "getpgid") return ::getpgid(pid);
    if (name == "sched_getaffinity") return ::sched_getaffinity(pid, sizeof cpus, &cpus);
    if (name == "sched_getparam") return ::sched_getparam(pid, &param);
    if (name == "sched_getscheduler") return ::sched_getscheduler(pid);
    if (name == "sched_rr_get_interval") return ::sched_rr_get_interval(pid, &interval);
    if (name == "getpriority") {
        errno = 0;
        long value = ::syscall(SYS_getpriority, PRIO_PROCESS, pid);
        return value < 0 && errno != 0 ? -1 : 0;
    }
    if (name == "getpriority-user") {  // which = PRIO_USER: every process of a uid
        errno = 0;
        long value = ::syscall(SYS_getpriority, PRIO_USER, pid);
        return value < 0 && errno != 0 ? -1 : 0;
    }
    if (name == "setpriority") return ::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 0);
    if (name == "sched_setaffinity") {
        if (::sched_getaffinity(0, sizeof cpus, &cpus) < 0) return -1;
        return ::sched_setaffinity(pid, sizeof cpus, &cpus);
    }
    if (name == "sched_getattr") {
        unsigned char attributes[128] = {};
        return ::syscall(SYS_sched_getattr, pid, attributes, sizeof attributes, 0);
    }
    if (name == "pidfd_open") return ::syscall(SYS_pidfd_open, pid, 0);
    if (name == "ioprio_set") {
        long current = ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
        if (current < 0) return -1;
        return ::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, pid, current);
    }
    if (name == "ioprio_get") return ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, pid);
    if (name == "get_robust_list") return ::syscall(SYS_get_robust_list, pid, &head, &length);
    if (name == "prlimit64") {
        rlimit current{};
        return ::prlimit(pid, RLIMIT_CORE, nullptr, &current);
    }
    errno = EINVAL;
    return -2;
}

/// `pid-call NAME PID`: the call on PID.
int pid_probe(const char* name, pid_t pid) {
    long result = pid_call(name, pid);
    if (result == -2) return usage();
    return outcome(result);
}

/// getxattr(path, "user.secret"): reads a file's metadata by path.
int read_xattr(const char* path) {
    char value[64] = {};
    ssize_t size = ::getxattr(path, "user.secret", value, sizeof value - 1);
    if (size < 0) return blocked(errno);
    return succeeded(value);
}

int list_xattr(const char* path) {
    char names[256] = {};
    return outcome(::listxattr(path, names, sizeof names));
}

int inotify_init_call() { return outcome(::inotify_init1(IN_CLOEXEC)); }

/// sendto with a destination address on the socket `fd` (a granted or inherited socket).
int sendto_address(int fd, const char* path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    static const char data[] = "hello";
    return outcome(::sendto(fd, data, sizeof data, 0, reinterpret_cast<sockaddr*>(&address), sizeof address));
}

// ---- what the plugin can see ------------------------------------------------------------

/// Every open descriptor; SUCCEEDED when one at or above `expected` is open.
int descriptors(int expected) {
    std::string list;
    int extra = -1;
    for (int fd = 0; fd < 4096; ++fd) {
        if (::fcntl(fd, F_GETFD) < 0) continue;
        list += (list.empty() ? "" : ",") + std::to_string(fd);
        if (fd >= expected && extra < 0) extra = fd;
    }
    std::printf("note fds %s\n", list.c_str());
    if (extra >= 0) return succeeded(("fd=" + std::to_string(extra)).c_str());
    std::printf("attempt %s: blocked fds=%s\n", g_action, list.c_str());
    return 0;
}

int environment(const char* name) {
    for (char** entry = environ; *entry != nullptr; ++entry) std::printf("note env %s\n", *entry);
    const char* value = std::getenv(name);
    if (value == nullptr) {
        std::printf("attempt %s: blocked unset\n", g_action);
        return 0;
    }
    return succeeded(value);
}

/// Allocates and touches `megabytes` MiB, 1 MiB at a time.
int memory(long megabytes) {
    long got = 0;
    for (; got < megabytes; ++got) {
        void* block = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED) {
            std::string detail = "allocated_mib=" + std::to_string(got);
            return blocked(errno, detail.c_str());
        }
        std::memset(block, 0x5a, 1 << 20);
    }
    return succeeded(("allocated_mib=" + std::to_string(got)).c_str());
}

/// Fills an anonymous memfd with `megabytes` MiB by write(): shared memory that is never
/// mapped, so RLIMIT_AS does not count it.
int memfd_memory(long megabytes) {
    int fd = ::memfd_create("attempt-hog", MFD_CLOEXEC);
    if (fd < 0) return blocked(errno, "at=memfd_create");
    static char chunk[1 << 20];
    std::memset(chunk, 0x5a, sizeof chunk);
    long got = 0;
    for (; got < megabytes; ++got) {
        if (::write(fd, chunk, sizeof chunk) != static_cast<ssize_t>(sizeof chunk)) {
            return blocked(errno, ("allocated_mib=" + std::to_string(got)).c_str());
        }
    }
    return succeeded(("allocated_mib=" + std::to_string(got)).c_str());
}

/// Writes `megabytes` MiB into a new file `name` beneath directory descriptor `dir_fd` (a
/// read-write grant): on tmpfs those pages are memory, which RLIMIT_AS does not count.
int file_memory(int dir_fd, const char* name, long megabytes) {
    int fd = ::openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return blocked(errno, "at=openat");
    static char chunk[1 << 20];
    std::memset(chunk, 0x5a, sizeof chunk);
    long got = 0;
    for (; got < megabytes; ++got) {
        if (::write(fd, chunk, sizeof chunk) != static_cast<ssize_t>(sizeof chunk)) {
            return blocked(errno, ("allocated_mib=" + std::to_string(got)).c_str());
        }
    }
    return succeeded(("allocated_mib=" + std::to_string(got)).c_str());
}

/// Holds `megabytes` MiB in pipe buffers: one 1 MiB pipe per MiB, filled and never read.
int pipe_memory(long megabytes) {
    static char chunk[1 << 20];
    std::memset(chunk, 0x5a, sizeof chunk);
    long got = 0;
    for (; got < megabytes; ++got) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return blocked(errno, ("at=pipe2 allocated_mib=" + std::to_string(got)).c_str());
        if (::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(sizeof chunk)) < 0) {
            return blocked(errno, ("at=F_SETPIPE_SZ allocated_mib=" + std::to_string(got)).c_str());
        }
        if (::write(fds[1], chunk, sizeof chunk) != static_cast<ssize_t>(sizeof chunk)) {
            return blocked(errno, ("allocated_mib=" + std::to_string(got)).c_str());
        }
    }
    return succeeded(("allocated_mib=" + std::to_string(got)).c_str());
}

/// Leaves a child process behind that sleeps `seconds`, and exits at once (needs fork).
int fork_linger(unsigned seconds) {
    pid_t child = ::fork();
    if (child == 0) {
        ::sleep(seconds);
        _exit(0);
    }
    if (child < 0) return blocked(errno);
    std::printf("note child %d\n", static_cast<int>(child));
    return succeeded();
}

/// Like fork_linger, but the child ignores SIGTERM (only SIGKILL can end it early).
int fork_linger_ignoring_term(unsigned seconds) {
    pid_t child = ::fork();
    if (child == 0) {
        ::signal(SIGTERM, SIG_IGN);
        ::sleep(seconds);
        _exit(0);
    }
    if (child < 0) return blocked(errno);
    std::printf("note child %d\n", static_cast<int>(child));
    return succeeded();
}

/// Its own pid and its parent's, as it sees them.
int print_pids() {
    std::printf("note pid %d\n", static_cast<int>(::getpid()));
    std::printf("note ppid %d\n", static_cast<int>(::getppid()));
    return succeeded();
}

volatile sig_atomic_t g_terminated = 0;
void on_term(int) { g_terminated = 1; }

/// Waits for SIGTERM with a handler, says so, and exits with `code`: a clean stop.
int wait_for_term(int code) {
    struct sigaction action {};
    action.sa_handler = on_term;
    ::sigaction(SIGTERM, &action, nullptr);
    std::printf("note waiting-for-term\n");
    while (!g_terminated) ::sleep(60);  // the handler interrupts it
    std::printf("note got-term\n");
    return code;
}

void* park(void*) {
    for (;;) ::pause();
}

// Starts threads that never end until pthread_create fails (or `limit` run), then says how
// many it started.
int thread_flood(int limit) {
    int started = 0;
    for (; started < limit; ++started) {
        pthread_t thread;
        int error = ::pthread_create(&thread, nullptr, park, nullptr);
        if (error != 0) {
            std::printf("note threads %d\n", started);
            return blocked(error);
        }
    }
    std::printf("note threads %d\n", started);
    return succeeded();
}

long long milliseconds(clockid_t clock) {
    timespec now{};
    ::clock_gettime(clock, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1'000'000;
}

// Spins for `wall_ms` of wall-clock time, then says how much CPU time it got.
int busy_loop(int wall_ms) {
    const long long start = milliseconds(CLOCK_MONOTONIC);
    const long long cpu_start = milliseconds(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long spin = 0;
    while (milliseconds(CLOCK_MONOTONIC) - start < wall_ms) {
        for (int i = 0; i < 10000; ++i) spin = spin + 1;
    }
    std::printf("note cpu_ms %lld wall_ms %lld\n", milliseconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start,
                milliseconds(CLOCK_MONOTONIC) - start);
    return succeeded();
}

// Forks a child that tries to outlive the host: no parent-death signal, its own session,
// then sleeps; the plugin itself sleeps too (it dies with the host by its death signal).
int fork_escape(unsigned seconds) {
    pid_t child = ::fork();
    if (child == 0) {
        // fork cleared the parent-death signal (and prctl may not touch it: seccomp)
        ::setsid();
        ::sleep(seconds);
        _exit(0);
    }
    if (child < 0) return blocked(errno);
    std::printf("note child %d\n", static_cast<int>(child));
    ::sleep(seconds);
    return succeeded();
}

// ---- planting links (a plugin preparing its next start) ---------------------------------

// Uses the grant at fd 3 as USE says (read: print what it reads; append: write a marker;
// dir: read "secret" beneath it; connect: send a line; none), prints a `note`, then
// replaces PATH by a KIND (symlink|hardlink) to TARGET and exits 1 so that a supervisor with
// restart = "on-failure" starts it again: a host that followed the link would hand the
// next process a descriptor for TARGET, and that process would print what it read.
int plant(const char* kind, const char* path, const char* target, const char* use) {
    char buffer[128] = {};
    if (std::strcmp(use, "read") == 0) {
        ssize_t n = ::pread(3, buffer, sizeof buffer - 1, 0);
        std::printf("note used-grant read %s\n", n >= 0 ? buffer : "<error>");
    } else if (std::strcmp(use, "append") == 0) {
        ssize_t n = ::write(3, "appended-by-plugin\n", 19);
        std::printf("note used-grant append %zd\n", n);
    } else if (std::strcmp(use, "dir") == 0) {
        int fd = ::openat(3, "secret", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? ::read(fd, buffer, sizeof buffer - 1) : -1;
        std::printf("note used-grant dir %s\n", n >= 0 ? buffer : "<none>");
        if (fd >= 0) ::close(fd);
    } else if (std::strcmp(use, "connect") == 0) {
        ssize_t n = ::send(3, "hello-from-plugin\n", 18, MSG_NOSIGNAL);
        std::printf("note used-grant connect %zd\n", n);
    }
    // Whatever is at PATH moves aside to PATH.old; a socket cannot be (re)created by rename
    // under Landlock, so it is unlinked instead.
    const std::string aside = std::string(path) + ".old";
    if (::rename(path, aside.c_str()) != 0) ::unlink(path);
    int result = std::strcmp(kind, "hardlink") == 0 ? ::link(target, path) : ::symlink(target, path);
    if (result != 0) {
        std::printf("note plant %s failed errno=%s\n", kind, error_name(errno));
        return 2;
    }
    std::printf("note planted %s %s -> %s\n", kind, path, target);
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    if (argc < 2) return usage();
    g_action = argv[1];
    const std::string action = argv[1];
    auto arg = [&](int index) -> const char* { return index + 2 < argc ? argv[index + 2] : nullptr; };
    auto need = [&](int count) { return argc >= count + 2; };

    if (action == "noop") return succeeded();
    if (action == "sleep-ignoring-term" && need(1)) {
        ::signal(SIGTERM, SIG_IGN);
        ::sleep(static_cast<unsigned>(to_int(arg(0))));
        return succeeded();
    }
    if (action == "sleep" && need(1)) {
        ::sleep(static_cast<unsigned>(to_int(arg(0))));
        return succeeded();
    }
    if (action == "open" && need(1)) return open_path(arg(0));
    if (action == "stat" && need(1)) return stat_path(arg(0));
    if (action == "interfaces") return interfaces();
    if (action == "hostname") return host_name();
    if (action == "openat" && need(2)) return openat_relative(to_int(arg(0)), arg(1));
    if (action == "write-fd" && need(1)) return write_fd(to_int(arg(0)));
    if (action == "reopen-proc-write" && need(1)) return reopen_proc_write(to_int(arg(0)));
    if (action == "pwrite-at-0" && need(2)) return pwrite_at_zero(to_int(arg(0)), arg(1));
    if (action == "clear-append" && need(2)) return clear_append(to_int(arg(0)), arg(1));
    if (action == "pwritev2-noappend" && need(2)) return pwritev2_noappend(to_int(arg(0)), arg(1));
    if (action == "ftruncate" && need(1)) return truncate_fd(to_int(arg(0)));
    if (action == "tcp-socket") return tcp_socket();
    if (action == "tcp-connect" && need(1)) return tcp_connect(to_int(arg(0)));
    if (action == "unix-connect" && need(1)) return unix_connect(arg(0));
    if (action == "unix-dgram-sendto" && need(1)) return unix_dgram_sendto(arg(0));
    if (action == "exec-sh") return exec_shell();
    if (action == "execveat-sh") return execveat_shell();
    if (action == "fork") return fork_child();
    if (action == "vfork") return vfork_child();
    if (action == "thread") return start_thread();
    if (action == "thread-attributes") return thread_attributes();
    if (action == "hoard-fds" && need(1)) return hoard_descriptors(static_cast<unsigned>(to_int(arg(0))));
    if (action == "io-uring-setup") return io_uring();
    if (action == "clone-newuser") return clone_new_user();
    if (action == "unshare-newuser") return unshare_new_user();
    if (action == "mount-tmpfs" && need(1)) return mount_tmpfs(arg(0));
    if (action == "capabilities") return capabilities();
    if (action == "int80") return int80_call();
    if (action == "x32") return x32_call();
    if (action == "raw-syscall" && need(1)) return raw_call(std::strtol(arg(0), nullptr, 10));
    if (action == "punch-hole" && need(1)) return punch_hole(to_int(arg(0)));
    if (action == "ptrace") return ptrace_pid(need(1) ? to_int(arg(0)) : ::getppid());
    if (action == "kill") return kill_pid(need(1) ? to_int(arg(0)) : ::getppid(), need(2) ? to_int(arg(1)) : SIGUSR1);
    if (action == "tkill" && need(2)) return tkill_pid(to_int(arg(0)), to_int(arg(1)));
    if (action == "sigqueue" && need(2)) return sigqueue_pid(to_int(arg(0)), to_int(arg(1)));
    if (action == "sigio" && need(2)) return sigio_owner(to_int(arg(0)), to_int(arg(1)));
    if (action == "prlimit" && need(1)) return prlimit_pid(to_int(arg(0)));
    if (action == "clear-pdeathsig") return clear_death_signal();
    if (action == "outlive-host" && need(1)) return outlive_host(static_cast<unsigned>(to_int(arg(0))));
    if (action == "pid-call" && need(2)) return pid_probe(arg(0), to_int(arg(1)));
    if (action == "getxattr" && need(1)) return read_xattr(arg(0));
    if (action == "listxattr" && need(1)) return list_xattr(arg(0));
    if (action == "inotify-init") return inotify_init_call();
    if (action == "sendto-address" && need(2)) return sendto_address(to_int(arg(0)), arg(1));
    if (action == "memfd-memory" && need(1)) return memfd_memory(std::strtol(arg(0), nullptr, 10));
    if (action == "fds" && need(1)) return descriptors(to_int(arg(0)));
    if (action == "env" && need(1)) return environment(arg(0));
    if (action == "memory" && need(1)) return memory(std::strtol(arg(0), nullptr, 10));
    if (action == "file-memory" && need(3)) return file_memory(to_int(arg(0)), arg(1), std::strtol(arg(2), nullptr, 10));
    if (action == "pipe-memory" && need(1)) return pipe_memory(std::strtol(arg(0), nullptr, 10));
    if (action == "threads" && need(1)) return thread_flood(to_int(arg(0)));
    if (action == "busy-loop" && need(1)) return busy_loop(to_int(arg(0)));
    if (action == "fork-escape" && need(1)) return fork_escape(static_cast<unsigned>(to_int(arg(0))));
    if (action == "plant" && need(4)) return plant(arg(0), arg(1), arg(2), arg(3));
    if (action == "fork-linger-ignoring-term" && need(1)) return fork_linger_ignoring_term(static_cast<unsigned>(to_int(arg(0))));
    if (action == "pids") return print_pids();
    if (action == "wait-term" && need(1)) return wait_for_term(to_int(arg(0)));
    if (action == "fork-linger" && need(1)) return fork_linger(static_cast<unsigned>(to_int(arg(0))));
    return usage();
}
