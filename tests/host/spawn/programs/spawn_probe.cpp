// A test plugin that reports what it sees and tries what it is told, one command after
// another: `spawn_probe report exit 3`. Each result is one line on stdout, parsed by the
// spawner tests. Plain C-style code: it runs confined (seccomp, Landlock, rlimits).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <string>

extern char** environ;

namespace {

const char* error_name(int error) {
    const char* name = strerrorname_np(error);
    return name != nullptr ? name : "?";
}

const char* fd_type(int fd) {
    struct stat status {};
    if (fstat(fd, &status) != 0) return "unknown";
    if (S_ISREG(status.st_mode)) return "file";
    if (S_ISDIR(status.st_mode)) return "dir";
    if (S_ISSOCK(status.st_mode)) return "socket";
    if (S_ISFIFO(status.st_mode)) return "pipe";
    if (S_ISCHR(status.st_mode)) return "chr";
    return "other";
}

void print_limit(const char* name, int resource) {
    rlimit value{};
    getrlimit(resource, &value);
    auto show = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("inf") : std::to_string(v); };
    std::printf("rlimit %s %s %s\n", name, show(value.rlim_cur).c_str(), show(value.rlim_max).c_str());
}

void report() {
    std::printf("ids %d %d %d %d\n", static_cast<int>(getuid()), static_cast<int>(geteuid()),
                static_cast<int>(getgid()), static_cast<int>(getegid()));
    gid_t groups[64];
    int group_count = getgroups(64, groups);
    std::printf("groups %d", group_count);
    for (int i = 0; i < group_count; ++i) std::printf(" %d", static_cast<int>(groups[i]));
    std::printf("\n");
    std::printf("pid %d sid %d\n", static_cast<int>(getpid()), static_cast<int>(getsid(0)));
    // Not /proc/self/fd: Landlock hides /proc from a confined plugin.
    for (int fd = 0; fd < 1024; ++fd) {
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0) continue;
        int status_flags = fcntl(fd, F_GETFL);
        std::printf("fd %d %s %s %d\n", fd, fd_type(fd), (flags & FD_CLOEXEC) ? "cloexec" : "inherit",
                    status_flags & (O_ACCMODE | O_APPEND));
    }
    for (char** entry = environ; *entry != nullptr; ++entry) std::printf("env %s\n", *entry);
    print_limit("AS", RLIMIT_AS);
    print_limit("CPU", RLIMIT_CPU);
    print_limit("NOFILE", RLIMIT_NOFILE);
    print_limit("NPROC", RLIMIT_NPROC);
    print_limit("FSIZE", RLIMIT_FSIZE);
    print_limit("CORE", RLIMIT_CORE);
    std::printf("nnp %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    sigset_t blocked;
    sigprocmask(SIG_BLOCK, nullptr, &blocked);
    int blocked_count = 0;
    for (int s = 1; s < NSIG; ++s) blocked_count += sigismember(&blocked, s) == 1;
    std::printf("blocked-signals %d\n", blocked_count);
    char cwd[4096];
    std::printf("cwd %s\n", getcwd(cwd, sizeof cwd) != nullptr ? cwd : error_name(errno));
}

void* thread_body(void*) { return nullptr; }

void write_lines(unsigned long long bytes) {
    std::string line(99, 'x');
    line += '\n';
    for (unsigned long long written = 0; written < bytes; written += line.size()) {
        if (fwrite(line.data(), 1, line.size(), stdout) != line.size()) break;
    }
}

} // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    for (int i = 1; i < argc; ++i) {
        std::string command = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
        if (command == "report") {
            report();
        } else if (command == "exit") {
            std::fflush(stdout);
            _exit(std::atoi(next()));
        } else if (command == "signal") {
            std::fflush(stdout);
            int signal_number = std::atoi(next());
            signal(signal_number, SIG_DFL);
            raise(signal_number);
        } else if (command == "alloc") {
            unsigned long long bytes = std::strtoull(next(), nullptr, 10);
            void* memory = std::malloc(bytes);
            if (memory != nullptr) std::memset(memory, 1, bytes);
            std::printf("alloc %s\n", memory != nullptr ? "ok" : "failed");
            std::free(memory);
        } else if (command == "flood") {
            write_lines(std::strtoull(next(), nullptr, 10));
        } else if (command == "longline") {
            std::string line(std::strtoull(next(), nullptr, 10), 'y');
            std::printf("%s\n", line.c_str());
        } else if (command == "echo") {
            std::printf("%s\n", next());
        } else if (command == "echo-err") {
            std::fprintf(stderr, "%s\n", next());
        } else if (command == "fork") {
            pid_t child = fork();
            if (child == 0) _exit(0);
            if (child > 0) waitpid(child, nullptr, 0);
            std::printf("fork %s\n", child > 0 ? "ok" : error_name(errno));
        } else if (command == "thread") {
            pthread_t thread;
            int error = pthread_create(&thread, nullptr, thread_body, nullptr);
            if (error == 0) pthread_join(thread, nullptr);
            std::printf("thread %s\n", error == 0 ? "ok" : error_name(error));
        } else if (command == "open") {
            const char* path = next();
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            std::printf("open %s %s\n", path, fd >= 0 ? "ok" : error_name(errno));
            if (fd >= 0) close(fd);
        } else if (command == "reopen-write") {
            std::string path = std::string("/proc/self/fd/") + next();
            int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
            std::printf("reopen-write %s\n", fd >= 0 ? "ok" : error_name(errno));
        } else if (command == "read-fd") {
            int fd = std::atoi(next());
            char buffer[256] = {};
            ssize_t size = read(fd, buffer, sizeof buffer - 1);
            if (size >= 0) {
                buffer[size] = '\0';
                if (size > 0 && buffer[size - 1] == '\n') buffer[size - 1] = '\0';
                std::printf("read %s\n", buffer);
            } else {
                std::printf("read failed %s\n", error_name(errno));
            }
        } else if (command == "write-fd") {
            int fd = std::atoi(next());
            const char* text = next();
            ssize_t size = write(fd, text, std::strlen(text));
            std::printf("write %s\n", size >= 0 ? "ok" : error_name(errno));
        } else if (command == "exec") {
            const char* path = next();
            execl(path, path, "-c", "true", static_cast<char*>(nullptr));
            std::printf("exec %s\n", error_name(errno));
        } else if (command == "sleep") {
            std::fflush(stdout);
            sleep(static_cast<unsigned>(std::atoi(next())));
        } else {
            std::fprintf(stderr, "spawn_probe: unknown command %s\n", command.c_str());
            return 2;
        }
    }
    return 0;
}
