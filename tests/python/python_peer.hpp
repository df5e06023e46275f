#pragma once
// Starting a Python program of the tests as a real process: Debian's python3 (AIRLOCK_PYTHON3,
// found by CMake) with `-B` (no bytecode written into the source tree), the SDK on PYTHONPATH,
// its end of a SOCK_SEQPACKET socketpair at descriptor 3 and its stderr on a pipe.
#include <airlock/connection/unique_fd.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace airlock::python_test {

/// A running Python process and the test's end of its connection.
class PythonPeer {
public:
    /// Runs `python3 -B SCRIPT ARGS...`.
    explicit PythonPeer(const std::string& script, const std::vector<std::string>& args = {}) {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) throw std::runtime_error("socketpair");
        UniqueFd ours(pair[0]);
        // Above 3, so that dup2 onto 3 in the child always clears close-on-exec.
        UniqueFd theirs(::fcntl(pair[1], F_DUPFD_CLOEXEC, 10));
        ::close(pair[1]);
        int errors[2];
        if (::pipe2(errors, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        UniqueFd error_read(errors[0]), error_write(::fcntl(errors[1], F_DUPFD_CLOEXEC, 10));
        ::close(errors[1]);

        std::vector<std::string> words{AIRLOCK_PYTHON3, "-B", script};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& word : words) argv.push_back(word.data());
        argv.push_back(nullptr);
        std::string path = std::string("PYTHONPATH=") + AIRLOCK_PYTHON_SDK_DIR;
        std::string no_bytecode = "PYTHONDONTWRITEBYTECODE=1";
        char* envp[] = {path.data(), no_bytecode.data(), nullptr};

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, theirs.get(), 3);
        posix_spawn_file_actions_adddup2(&actions, error_write.get(), 2);
        const int failed = ::posix_spawn(&pid_, AIRLOCK_PYTHON3, &actions, nullptr, argv.data(), envp);
        posix_spawn_file_actions_destroy(&actions);
        if (failed != 0) throw std::runtime_error(std::string("posix_spawn python3: ") + std::strerror(failed));
        connection_ = std::move(ours);
        stderr_ = std::move(error_read);
    }
    PythonPeer(const PythonPeer&) = delete;
    PythonPeer& operator=(const PythonPeer&) = delete;
    ~PythonPeer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            (void)wait();
        }
    }

    /// The test's end of the connection (moved out by the caller, e.g. into a Connection).
    UniqueFd take_connection() { return std::move(connection_); }

    /// Waits for the process; its exit status, or 128 + signal.
    int wait() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    /// Everything it wrote to stderr (call after wait(): reads until end of file).
    std::string stderr_text() {
        std::string text;
        char buffer[4096];
        ssize_t got;
        while ((got = ::read(stderr_.get(), buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
        return text;
    }

private:
    pid_t pid_ = -1;
    UniqueFd connection_;
    UniqueFd stderr_;
};

} // namespace airlock::python_test
