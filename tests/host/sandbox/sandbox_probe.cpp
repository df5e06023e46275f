// A tiny program the sandbox tests launch inside the confinement (via exec_tagged) to
// attempt something from a freshly exec'd, confined process.
// Usage: airlock_sandbox_probe ACTION [ARG]. Exit status: 0 if the action succeeded,
// otherwise the errno it failed with (always < 126), 125 for a usage error.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

int outcome(long rc) { return rc < 0 ? (errno > 0 && errno < 125 ? errno : 124) : 0; }

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 125;
    const char* action = argv[1];
    const char* arg = argc > 2 ? argv[2] : "";
    char* const child_argv[] = {const_cast<char*>(arg), nullptr};
    char* const child_envp[] = {nullptr};
    if (std::strcmp(action, "ok") == 0) return 0;
    if (std::strcmp(action, "execve") == 0) return outcome(execve(arg, child_argv, child_envp));
    if (std::strcmp(action, "execveat") == 0) {
        // The launch's own form (fd + AT_EMPTY_PATH) without the secret tag.
        int fd = open(arg, O_PATH | O_CLOEXEC);
        if (fd < 0) return outcome(-1);
        return outcome(syscall(SYS_execveat, fd, "", child_argv, child_envp, AT_EMPTY_PATH, 0));
    }
    if (std::strcmp(action, "fd") == 0) return outcome(fcntl(std::atoi(arg), F_GETFD));
    if (std::strcmp(action, "open") == 0) return outcome(open(arg, O_RDONLY | O_CLOEXEC));
    if (std::strcmp(action, "thread") == 0) {
        int value = 0;
        std::thread worker([&] { value = 42; });
        worker.join();
        return value == 42 ? 0 : 124;
    }
    return 125;
}
