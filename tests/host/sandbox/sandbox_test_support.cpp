#include "sandbox_test_support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace airlock::host::test {

ChildProcess::ChildProcess(const std::function<int()>& body) {
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) _exit(body());
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

ChildOutcome ChildProcess::wait() {
    ChildOutcome outcome;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        pid_t done = waitpid(pid_, &status, WNOHANG);
        if (done == pid_) break;
        if (done < 0) throw std::runtime_error("waitpid failed");
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
    if (WIFEXITED(status)) {
        outcome.exited = true;
        outcome.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        outcome.signal = WTERMSIG(status);
    }
    return outcome;
}

ChildOutcome run_in_child(const std::function<int()>& body) {
    ChildProcess child(body);
    return child.wait();
}

int exit_code_of(long rc) {
    if (rc >= 0) return 0;
    return errno > 0 && errno < 125 ? errno : 124;
}

TempDir::TempDir() {
    char pattern[] = "/tmp/airlock-sandbox-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write_file(const std::string& name, const std::string& content) const {
    auto file = path_ / name;
    std::ofstream(file) << content;
    return file.string();
}

std::set<std::string> baseline_allowlist() {
    return {
        // process lifetime, memory, threads
        "exit", "exit_group", "brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
        "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "futex", "clone",
        "sched_yield", "sched_getaffinity", "getpid", "gettid", "getppid", "getuid", "geteuid",
        "getgid", "getegid", "prlimit64", "getrandom", "rt_sigaction", "rt_sigprocmask",
        "rt_sigreturn", "sigaltstack", "nanosleep", "clock_nanosleep", "clock_gettime", "uname",
        "kill", "tgkill", "wait4",
        // files
        "read", "write", "pread64", "pwrite64", "readv", "writev", "pwritev2", "lseek", "close",
        "openat", "newfstatat", "fstat", "access", "faccessat", "readlink", "getdents64",
        "fcntl", "dup", "dup2", "dup3", "pipe2", "ioctl", "ftruncate", "fallocate", "statx",
        "mkdirat", "unlinkat",
        // sockets the host hands over
        "socketpair", "sendmsg", "recvmsg", "sendto", "recvfrom", "poll", "ppoll",
    };
}

SyscallPolicy policy_with(ViolationAction on_violation, const std::set<std::string>& extra,
                          const std::set<std::string>& removed) {
    SyscallPolicy policy;
    policy.profile = "test";
    policy.allowed = baseline_allowlist();
    for (const auto& name : extra) policy.allowed.insert(name);
    for (const auto& name : removed) {
        policy.allowed.erase(name);
        policy.denied.insert(name);
    }
    policy.on_violation = on_violation;
    return policy;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace airlock::host::test
