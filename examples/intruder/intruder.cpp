// intruder: a hostile plugin. It tries things a confined plugin must not be able to do and
// prints, for each, "blocked <what>: <error>" or "ALLOWED <what>". Run it with
// on_violation = "errno" so that every refused system call fails with EPERM instead of killing
// it, and it can report them all:
//   airlock-host exec intruder.toml intruder
// Exit status: 0 when every attempt was stopped, 1 otherwise.
//
// It is deliberately not an SDK plugin (protocol = "none"): a real attacker would not play
// along. Its one grant, a read-only directory, arrives as descriptor 3 (LISTEN_FDS).
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sched.h>
#include <string>

namespace {

int blocked = 0;
int allowed = 0;

/// Runs `attempt`, which returns 0 when the forbidden thing worked, else an errno.
void attempt(const char* what, const std::function<int()>& body) {
    errno = 0;
    int error = body();
    if (error == 0) {
        ++allowed;
        std::printf("ALLOWED %s\n", what);
    } else {
        ++blocked;
        std::printf("blocked %s: %s\n", what, std::strerror(error));
    }
    std::fflush(stdout);
}

/// 0 if `fd` is a descriptor (closing it), else errno.
int opened(int fd) {
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

int result(long value) { return value < 0 ? errno : 0; }

} // namespace

int main() {
    const int grant = (std::getenv("LISTEN_FDS") != nullptr && std::atoi(std::getenv("LISTEN_FDS")) >= 1) ? 3 : -1;
    const pid_t parent = ::getppid();

    attempt("open /etc/shadow", [] { return opened(::open("/etc/shadow", O_RDONLY | O_CLOEXEC)); });
    attempt("open /etc/passwd", [] { return opened(::open("/etc/passwd", O_RDONLY | O_CLOEXEC)); });
    attempt("list /home (another directory)", [] { return opened(::open("/home", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); });
    attempt("create a file in /tmp", [] {
        return opened(::open("/tmp/airlock-intruder-was-here", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    });
    attempt("write a file through the read-only grant", [grant] {
        if (grant < 0) return EBADF;
        return opened(::openat(grant, "planted-by-intruder", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    });
    attempt("escape the read-only grant with ..", [grant] {
        if (grant < 0) return EBADF;
        const int above = ::openat(grant, "../..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (above < 0) return errno;  // Landlock: the host's directory above the grant
        // In a private root the grant has nothing above it: ".." is the grant itself.
        struct stat outside {}, inside {};
        const bool itself = ::fstat(above, &outside) == 0 && ::fstat(grant, &inside) == 0 &&
                            outside.st_dev == inside.st_dev && outside.st_ino == inside.st_ino;
        ::close(above);
        return itself ? ENOENT : 0;
    });
    attempt("create a socket (AF_UNIX)", [] { return opened(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
    attempt("connect to the network (TCP 127.0.0.1:22)", [] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return errno;
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(22);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int error = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 ? 0 : errno;
        ::close(fd);
        return error == ECONNREFUSED ? 0 : error;  // refused by the peer means the network was reachable
    });
    attempt("exec a shell", [] {
        char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>("exit 0"), nullptr};
        ::execve("/bin/sh", argv, environ);
        return errno;  // only reached when execve failed
    });
    attempt("fork", [] {
        pid_t child = ::fork();
        if (child < 0) return errno;
        if (child == 0) ::_exit(0);
        ::waitpid(child, nullptr, 0);
        return 0;
    });
    attempt("ptrace the host", [parent] { return result(::ptrace(PTRACE_ATTACH, parent, nullptr, nullptr)); });
    attempt("io_uring_setup (bypasses seccomp)", [] {
        unsigned char params[120] = {};
        long fd = ::syscall(425 /* __NR_io_uring_setup */, 1, params);
        if (fd >= 0) ::close(static_cast<int>(fd));
        return result(fd);
    });
    attempt("kill the host (SIGTERM)", [parent] {
        if (parent <= 1) return ESRCH;  // the host is not even visible
        return result(::kill(parent, SIGTERM));
    });
    attempt("new user namespace (unshare)", [] { return result(::unshare(CLONE_NEWUSER)); });
    attempt("mount a tmpfs", [] { return result(::mount("none", "/tmp", "tmpfs", 0, nullptr)); });
    attempt("become root (setuid 0)", [] { return ::getuid() == 0 ? EPERM : result(::setuid(0)); });

    std::printf("intruder: %d of %d attempts blocked\n", blocked, blocked + allowed);
    return allowed == 0 ? 0 : 1;
}
