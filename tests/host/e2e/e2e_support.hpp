#pragma once
// End-to-end containment tests: helpers to write a config for the "attempt" plugin into a
// temp dir, run it through the real `airlock-host exec` binary (or the real config loader +
// Spawner in this process, which then is the host), and read the results.

#include <airlock/host/config_loader.hpp>
#include <airlock/host/foreground_run.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace airlock::e2e {

inline const std::string kHostExe = AIRLOCK_HOST_EXE;
inline const std::string kAttempt = AIRLOCK_E2E_ATTEMPT;

inline std::string quoted(const std::string& text) { return "\"" + text + "\""; }

/// The start of a red-team config: a [sandbox] table running the plugin as nobody with
/// seccomp, Landlock and no-new-privs required and `sandbox_lines` added (e.g.
/// `namespaces = "off"`), then [plugin.redteam] running `exec` with protocol "none". Callers
/// append the plugin's own tables ([plugin.redteam.grants], ...).
inline std::string redteam_plugin_toml(const std::string& exec, const std::string& sandbox_lines) {
    return "[sandbox]\n"
           "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
           "user = \"nobody\"\n"
           "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n" +
           sandbox_lines + "\n[plugin.redteam]\nexec = " + quoted(exec) + "\nprotocol = \"none\"\n";
}

/// A temporary directory removed (recursively) at scope exit; world-accessible so a plugin
/// running as nobody is stopped by the sandbox, not by file permissions.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/airlock-e2e-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
        ::chmod(path_.c_str(), 0755);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }
    std::string at(const std::string& name) const { return path_ + "/" + name; }
    std::string file(const std::string& name, const std::string& content, mode_t mode = 0644) const {
        std::string full = at(name);
        std::ofstream(full) << content;
        ::chmod(full.c_str(), mode);
        return full;
    }
    std::string dir(const std::string& name) const {
        std::string full = at(name);
        ::mkdir(full.c_str(), 0755);
        ::chmod(full.c_str(), 0755);
        return full;
    }
    std::string read(const std::string& name) const {
        std::ifstream in(at(name));
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    std::string path_;
};

/// The parts of `[plugin.attempt]` a test varies.
struct AttemptConfig {
    std::string env = R"({ LANG = "C.UTF-8" })";
    std::string limits;    ///< lines of [plugin.attempt.limits]
    std::string syscalls;  ///< lines of [plugin.attempt.syscalls]
    std::string grants;    ///< lines of [plugin.attempt.grants]
    std::string sandbox;   ///< extra lines of [sandbox], e.g. namespaces = "off"
};

/// A grant line for AttemptConfig::grants that lifts the filter's ioctl list (a device grant
/// hands over every request): for tests that measure a namespace with SIOCGIFCONF and
/// SIOCGIFFLAGS, which the filter otherwise refuses (docs/sandbox.md, "ioctl by request").
inline const std::string kEveryIoctl = R"(null = { file = "/dev/null", access = "read", device = true })";

inline std::string attempt_toml(const AttemptConfig& config) {
    std::string text = "[sandbox]\n"
                       "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                       "user = \"nobody\"\n"
                       "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n" +
                       (config.sandbox.empty() ? "" : config.sandbox + "\n") +
                       "[plugin.attempt]\n"
                       "exec = " + quoted(kAttempt) + "\n"
                       "env = " + config.env + "\n"
                       "protocol = \"none\"\n";
    if (!config.limits.empty()) text += "[plugin.attempt.limits]\n" + config.limits + "\n";
    if (!config.syscalls.empty()) text += "[plugin.attempt.syscalls]\n" + config.syscalls + "\n";
    if (!config.grants.empty()) text += "[plugin.attempt.grants]\n" + config.grants + "\n";
    return text;
}

/// Writes `config` as `dir/NAME.toml` and returns its path.
inline std::string write_config(const TempDir& dir, const AttemptConfig& config, const std::string& name = "e2e") {
    return dir.file(name + ".toml", attempt_toml(config));
}

/// `config` with `lines` added to [sandbox], written as `dir/NAME.toml`; returns its path.
inline std::string write_config_with_sandbox(const TempDir& dir, AttemptConfig config, const std::string& lines,
                                             const std::string& name) {
    config.sandbox = lines;
    return write_config(dir, config, name);
}

/// When this test does not run as root: warns "NOT TESTED: WHY" and returns true (the test
/// then returns).
inline bool skipped_unless_root(const std::string& why) {
    if (::geteuid() == 0) return false;
    WARN("NOT TESTED: " << why);
    return true;
}

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) lines.push_back(line);
    return lines;
}

/// Some line of `text` matches `pattern` completely.
inline bool has_line(const std::string& text, const std::string& pattern) {
    std::regex regex(pattern);
    for (const auto& line : split_lines(text)) {
        if (std::regex_match(line, regex)) return true;
    }
    return false;
}

/// What one run printed and how it ended.
struct Run {
    pid_t host_pid = -1;       ///< the airlock-host process (-1 when this process was the host)
    bool host_exited = false;  ///< the host process (airlock-host) ended normally
    int status = -1;           ///< its exit status (the plugin's, or 128 + signal)
    std::string out;           ///< stdout as written ("[attempt] ..." lines)
    std::string err;           ///< stderr: plugin stderr and the host's reports

    /// The rest of the `attempt ACTION: ` result line, or "<missing>".
    std::string result(const std::string& action) const {
        const std::string key = "[attempt] attempt " + action + ": ";
        for (const auto& line : split_lines(out)) {
            if (line.rfind(key, 0) == 0) return line.substr(key.size());
        }
        return "<missing>";
    }
    /// `note ...` lines, without "[attempt] note ".
    std::vector<std::string> notes(const std::string& prefix = "") const {
        std::vector<std::string> found;
        const std::string key = "[attempt] note " + prefix;
        for (const auto& line : split_lines(out)) {
            if (line.rfind(key, 0) == 0) found.push_back(line.substr(std::string("[attempt] note ").size()));
        }
        return found;
    }
    std::vector<std::string> err_lines() const { return split_lines(err); }
};

/// Everything in a file or memfd from its start, e.g. what a host that may still be running has
/// written so far. pread: the offset, which a host writing to the same memfd shares, stays
/// where it is (lseek + read could move the host's next write back over earlier output).
inline std::string read_all(int fd) {
    std::string text;
    char buffer[4096];
    off_t offset = 0;
    for (ssize_t got; (got = ::pread(fd, buffer, sizeof buffer, offset)) > 0; offset += got) {
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

/// Runs `action` as nobody (uid and gid 65534, no other groups) in a forked child: the local
/// user of the red-team tests who is neither root nor the host. True when it returned true.
inline bool as_nobody(const std::function<bool()>& action) {
    constexpr uid_t kNobodyId = 65534;
    const pid_t child = ::fork();
    if (child == 0) {
        const gid_t groups[1] = {kNobodyId};
        if (::setgroups(1, groups) != 0 || ::setresgid(kNobodyId, kNobodyId, kNobodyId) != 0 ||
            ::setresuid(kNobodyId, kNobodyId, kNobodyId) != 0)
            _exit(1);
        _exit(action() ? 0 : 2);
    }
    int raw = 0;
    ::waitpid(child, &raw, 0);
    return WIFEXITED(raw) && WEXITSTATUS(raw) == 0;
}

/// Who the host runs as in `start_host` (the test must be root to switch).
struct HostUser {
    uid_t uid = 0;
    gid_t gid = 0;
};

/// A host started with `start_host`; `finish_host` waits for it and collects its output.
struct StartedHost {
    pid_t pid = -1;
    int out = -1;
    int err = -1;
};

/// `airlock-host ARGS...` as the argv array execve/posix_spawn take (built before a fork: the
/// child only reads it).
struct HostArgv {
    explicit HostArgv(const std::vector<std::string>& arguments) : words{kHostExe} {
        words.insert(words.end(), arguments.begin(), arguments.end());
        for (auto& word : words) pointers.push_back(word.data());
        pointers.push_back(nullptr);
    }
    char* const* data() { return pointers.data(); }
    std::vector<std::string> words;
    std::vector<char*> pointers;
};

/// Starts `airlock-host ARGS...` as a user runs it (inheriting this process's environment
/// and any descriptor this process left without close-on-exec), stdout/stderr into memfds,
/// optionally as another user.
inline StartedHost start_host(const std::vector<std::string>& arguments, const HostUser* user = nullptr) {
    StartedHost host;
    host.out = ::memfd_create("e2e-out", MFD_CLOEXEC);
    host.err = ::memfd_create("e2e-err", MFD_CLOEXEC);
    HostArgv argv(arguments);
    if (user == nullptr) {
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_adddup2(&actions, host.out, 1);
        ::posix_spawn_file_actions_adddup2(&actions, host.err, 2);
        if (::posix_spawn(&host.pid, kHostExe.c_str(), &actions, nullptr, argv.data(), environ) != 0) host.pid = -1;
        ::posix_spawn_file_actions_destroy(&actions);
        return host;
    }
    // fork: posix_spawn cannot change the uid. Only raw calls until exec.
    const gid_t groups[1] = {user->gid};
    host.pid = ::fork();
    if (host.pid == 0) {
        if (::dup2(host.out, 1) < 0 || ::dup2(host.err, 2) < 0 || ::setgroups(1, groups) != 0 ||
            ::setresgid(user->gid, user->gid, user->gid) != 0 || ::setresuid(user->uid, user->uid, user->uid) != 0) {
            _exit(125);
        }
        ::execve(kHostExe.c_str(), argv.data(), environ);
        _exit(127);
    }
    return host;
}

inline Run finish_host(const StartedHost& host) {
    Run run;
    run.host_pid = host.pid;
    if (host.pid > 0) {
        int raw = 0;
        while (::waitpid(host.pid, &raw, 0) < 0 && errno == EINTR) {
        }
        run.host_exited = WIFEXITED(raw);
        run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -WTERMSIG(raw);
    }
    run.out = read_all(host.out);
    run.err = read_all(host.err);
    ::close(host.out);
    ::close(host.err);
    return run;
}

/// `airlock-host ARGS...`, waited for, stdout/stderr captured.
inline Run run_host(const std::vector<std::string>& arguments) { return finish_host(start_host(arguments)); }

/// The same as `user` (uid and gid), e.g. {65534, 65534} for nobody.
inline Run run_host_as(const HostUser& user, const std::vector<std::string>& arguments) {
    return finish_host(start_host(arguments, &user));
}

/// `airlock-host ARGS...` as nobody (65534) in a user namespace of its own whose
/// `user.max_user_namespaces` is 0: a real host that cannot create user namespaces (the
/// test must be root, to map nobody in it).
inline Run run_host_without_user_namespaces(const std::vector<std::string>& arguments) {
    StartedHost host;
    host.out = ::memfd_create("e2e-out", MFD_CLOEXEC);
    host.err = ::memfd_create("e2e-err", MFD_CLOEXEC);
    HostArgv argv(arguments);
    int ready[2], go[2];
    if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const gid_t groups[1] = {65534};
    host.pid = ::fork();
    if (host.pid == 0) {
        // Only raw calls until exec. The parent (root outside) writes the maps: 0 and nobody.
        char byte = 0;
        if (::dup2(host.out, 1) < 0 || ::dup2(host.err, 2) < 0 || ::unshare(CLONE_NEWUSER) != 0 ||
            ::write(ready[1], &byte, 1) != 1 || ::read(go[0], &byte, 1) != 1) {
            _exit(125);
        }
        // Root of this user namespace (CAP_SYS_RESOURCE in it) may lower its limit.
        int limit = ::open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
        if (limit < 0 || ::write(limit, "0", 1) != 1 || ::setgroups(1, groups) != 0 ||
            ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
            _exit(124);
        }
        ::execve(kHostExe.c_str(), argv.data(), environ);
        _exit(127);
    }
    ::close(ready[1]);
    ::close(go[0]);
    char byte = 0;
    bool mapped = host.pid > 0 && ::read(ready[0], &byte, 1) == 1;
    for (const char* map : {"uid_map", "gid_map"}) {
        std::ofstream file("/proc/" + std::to_string(host.pid) + "/" + map);
        file << "0 0 1\n65534 65534 1\n";
        file.flush();
        mapped = mapped && file.good();
    }
    if (mapped) (void)!::write(go[1], &byte, 1);
    ::close(ready[0]);
    ::close(go[1]);
    return finish_host(host);
}

/// The arguments of `airlock-host exec --prefix CONFIG attempt -- ACTION ARGS...`.
inline std::vector<std::string> exec_arguments(const std::string& config_path, const std::vector<std::string>& action) {
    std::vector<std::string> arguments{"exec", "--prefix", config_path, "attempt", "--"};
    arguments.insert(arguments.end(), action.begin(), action.end());
    return arguments;
}

/// `airlock-host exec CONFIG attempt -- ACTION ARGS...`
inline Run exec_attempt(const std::string& config_path, const std::vector<std::string>& action) {
    return run_host(exec_arguments(config_path, action));
}

/// The same plugin started by this process through the real loader and Spawner: this test
/// process is then the host. Output lines are prefixed like `airlock-host exec`'s.
inline Run spawn_attempt(const std::string& config_path, const std::vector<std::string>& action) {
    host::HostConfig config = host::load_config(config_path);
    host::Spawner spawner(config.plugins.at("attempt"));
    int out = ::memfd_create("e2e-out", MFD_CLOEXEC);
    int err = ::memfd_create("e2e-err", MFD_CLOEXEC);
    host::ForegroundOptions options;
    options.extra_args = action;
    options.output_fd = out;
    options.error_fd = err;
    host::PluginExit exit = host::run_in_foreground(spawner, options);
    Run run;
    run.host_exited = true;
    run.status = exit.shell_status();
    run.out = read_all(out);
    run.err = read_all(err);
    ::close(out);
    ::close(err);
    return run;
}

/// A small file's text without trailing newlines ("" when unreadable), e.g. a cgroup file.
inline std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::string text(std::istreambuf_iterator<char>(in), {});
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

inline bool path_exists(const std::string& path) {
    struct stat status {};
    return ::stat(path.c_str(), &status) == 0;
}

/// This process's own cgroup v1 memory directory (where the host makes plugin cgroups on the
/// project's machines), or "" when there is no v1 memory hierarchy.
inline std::string own_v1_memory_cgroup() {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        if (line.substr(first + 1, second - first - 1) != "memory") continue;
        std::string path = "/sys/fs/cgroup/memory" + line.substr(second + 1);
        while (path.size() > 1 && path.back() == '/') path.pop_back();
        struct stat status {};
        return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode) ? path : std::string();
    }
    return {};
}

/// The plugin cgroups host `host_pid` made for plugin `plugin` beneath `parent`.
inline std::vector<std::string> cgroups_of(const std::string& parent, const std::string& plugin, pid_t host_pid) {
    std::vector<std::string> found;
    const std::string prefix = "airlock-" + plugin + "-" + std::to_string(host_pid) + "-";
    if (DIR* dir = ::opendir(parent.c_str())) {
        while (const dirent* entry = ::readdir(dir)) {
            if (std::string(entry->d_name).rfind(prefix, 0) == 0) found.push_back(parent + "/" + entry->d_name);
        }
        ::closedir(dir);
    }
    return found;
}

/// Memory cgroups must be in use here: root and a cgroup v1 memory hierarchy, as on the
/// project's machines (cgroup v2 is supported by the host but not tested here).
inline bool expect_memory_cgroups() { return ::geteuid() == 0 && !own_v1_memory_cgroup().empty(); }

/// The `  memory limit: ...` line of `airlock-host check` output, or "<missing>".
inline std::string memory_limit_line(const std::string& check_output) {
    for (const auto& line : split_lines(check_output)) {
        if (line.rfind("  memory limit: ", 0) == 0) return line.substr(16);
    }
    return "<missing>";
}

/// The host's report of a seccomp violation, as a regex for Catch::Matches. Every report
/// ends with advice (what to allow, or the rule that fired and why); `advice` is a regex for
/// it, by default any non-empty text.
inline std::string violation(const std::string& syscall, int number, const std::string& action,
                             const std::string& advice = ".+") {
    return "airlock-host: plugin attempt \\(pid [0-9]+\\): forbidden system call " + syscall + " \\(" +
           std::to_string(number) + "\\): " + action + "; " + advice;
}

} // namespace airlock::e2e
