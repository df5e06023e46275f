#pragma once
// Helpers shared by the sandbox tests: forking a child that confines itself, temporary
// directories, and an allowlist a small dynamically linked program can run with.
#include <airlock/host/plugin_config.hpp>

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

namespace airlock::host::test {

/// How a child ended.
struct ChildOutcome {
    bool exited = false;
    int exit_code = -1;
    int signal = 0;  ///< terminating signal when !exited
};

/// A forked child running `body` (which returns an exit code). Killed and reaped on
/// destruction if the test did not wait for it, so a failing test never leaks a process.
class ChildProcess {
public:
    explicit ChildProcess(const std::function<int()>& body);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Waits (up to ~10 s, then SIGKILL) and returns how the child ended.
    ChildOutcome wait();

private:
    pid_t pid_ = -1;
};

/// Forks, runs `body` in the child, waits: the common one-shot case.
ChildOutcome run_in_child(const std::function<int()>& body);

/// errno as a child exit code (1..124), or 0 when rc >= 0.
int exit_code_of(long rc);

/// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    /// Creates a file with `content` and returns its absolute path.
    std::string write_file(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path path_;
};

/// Syscalls a dynamically linked C++ test program (and the test children) need.
std::set<std::string> baseline_allowlist();

/// A SyscallPolicy over baseline_allowlist() plus `extra`, minus `removed`.
SyscallPolicy policy_with(ViolationAction on_violation, const std::set<std::string>& extra = {},
                          const std::set<std::string>& removed = {});

/// Reads a whole file.
std::string read_file(const std::string& path);

} // namespace airlock::host::test
