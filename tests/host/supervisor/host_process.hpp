#pragma once
// `airlock-host run CONFIG` as a child process of the test, its output in files of a TempDir.
#include "supervisor_test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace airlock::supervisor_test {

inline const std::string kHost = AIRLOCK_HOST_EXE;

class HostProcess {
public:
    /// `nofile`: the RLIMIT_NOFILE the host is started with (default: this process's).
    /// `cgroup_procs`: the cgroup.procs file of a cgroup the host is started in (default: this
    /// process's cgroups).
    HostProcess(const TempDir& dir, const std::string& config_path, std::optional<rlimit> nofile = std::nullopt,
                const std::string& cgroup_procs = {})
        : dir_(dir) {
        const std::string out = dir.path() + "/host.out";
        const std::string err = dir.path() + "/host.err";
        pid_ = ::fork();
        if (pid_ == 0) {
            int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(out_fd, 1);
            ::dup2(err_fd, 2);
            if (nofile && ::setrlimit(RLIMIT_NOFILE, &*nofile) != 0) ::_exit(126);
            if (!cgroup_procs.empty()) {
                const int procs = ::open(cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
                if (procs < 0 || ::write(procs, "0", 1) != 1) ::_exit(125);
                ::close(procs);
            }
            ::execl(kHost.c_str(), kHost.c_str(), "run", config_path.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~HostProcess() {
        if (status_ < 0) {
            ::kill(pid_, SIGKILL);
            (void)wait();
        }
    }
    pid_t pid() const { return pid_; }
    std::string out() const { return dir_.read("host.out"); }
    std::string err() const { return dir_.read("host.err"); }
    int wait() {
        if (status_ < 0) ::waitpid(pid_, &status_, 0);
        return status_;
    }
    /// Waits until `text` appears in the output file named `file`.
    bool wait_for(const std::string& file, const std::string& text, std::chrono::seconds limit = std::chrono::seconds(20)) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (dir_.read(file).find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

    /// Waits until `text` appears `count` times in the output file named `file`.
    bool wait_for_count(const std::string& file, const std::string& text, int count,
                        std::chrono::seconds limit = std::chrono::seconds(20)) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            const std::string content = dir_.read(file);
            int found = 0;
            for (auto at = content.find(text); at != std::string::npos; at = content.find(text, at + text.size())) ++found;
            if (found >= count) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

private:
    const TempDir& dir_;
    pid_t pid_ = -1;
    int status_ = -1;
};

} // namespace airlock::supervisor_test
