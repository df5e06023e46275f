// Red team: the caller's descriptions a plugin shares under stdio = "inherit" (a pipe or a
// file on stdout/stderr is given to the plugin as it is: the same open file description).
// A hostile plugin under the real `airlock-host exec` and a real TOML changes that
// description's status flags; what it does must end with it, must not silence the host's
// own reports on the same stderr, and an O_APPEND file must stay append-only.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/ioctl.h>

#include <thread>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

// [plugin.redteam]: the hostile plugin with the project's usual sandbox, stdio inherited.
std::string redteam_config(const TempDir& dir, const std::string& sandbox_extra, const std::string& syscalls = "") {
    std::string text = "[sandbox]\n"
                       "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
                       "user = \"nobody\"\n"
                       "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n" +
                       sandbox_extra + "\n"
                       "[plugin.redteam]\n"
                       "exec = " + quoted(kRedteam) + "\n"
                       "protocol = \"none\"\n"
                       "stdio = \"inherit\"\n";
    if (!syscalls.empty()) text += "[plugin.redteam.syscalls]\n" + syscalls + "\n";
    return dir.file("redteam.toml", text);
}

// `airlock-host exec CONFIG redteam -- ACTION...` with the given stdout and stderr (stdin
// /dev/null), as a shell runs it, as root or (`as_nobody`) as an unprivileged user; returns
// the host's pid.
pid_t start_exec(const std::string& config, const std::vector<std::string>& action, int out, int err,
                 bool as_nobody = false) {
    std::vector<std::string> arguments{"exec", config, "redteam", "--"};
    arguments.insert(arguments.end(), action.begin(), action.end());
    HostArgv argv(arguments);
    const gid_t groups[1] = {65534};
    const pid_t pid = ::fork();
    if (pid == 0) {
        // Only raw calls until exec.
        const int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) _exit(125);
        if (as_nobody && (::setgroups(1, groups) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                          ::setresuid(65534, 65534, 65534) != 0)) {
            _exit(124);
        }
        ::execve(kHostExe.c_str(), argv.data(), environ);
        _exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

// Everything readable from `fd` until end of file.
std::string drain(int fd) {
    std::string text;
    char buffer[65536];
    for (ssize_t got; (got = ::read(fd, buffer, sizeof buffer)) != 0;) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

struct Pipe {
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        read_end = fds[0];
        write_end = fds[1];
    }
    ~Pipe() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
    }
    void close_write() {
        ::close(write_end);
        write_end = -1;
    }
    int read_end = -1;
    int write_end = -1;
};

// The host still runs a plugin normally from the same config afterwards.
void check_host_serving(const std::string& config) {
    int out = ::memfd_create("serving-out", MFD_CLOEXEC);
    int err = ::memfd_create("serving-err", MFD_CLOEXEC);
    const int status = wait_exit(start_exec(config, {"dumpable"}, out, err));
    const std::string text = read_all(out);
    INFO(text << read_all(err));
    CHECK(status == 0);
    CHECK(has_line(text, "redteam dumpable: SUCCEEDED"));
    ::close(out);
    ::close(err);
}

const char* const kNamespaceModes[] = {"namespaces = \"auto\"", "namespaces = \"off\""};

// Root host (plugins as nobody), then an unprivileged host (nobody; a user namespace where
// namespaces are on).
const bool kHostAsNobody[] = {false, true};

} // namespace

TEST_CASE("a plugin's flags on the caller's pipe end with the plugin", "[e2e][redteam]") {
    for (const char* namespaces : kNamespaceModes) {
        for (const bool as_nobody : kHostAsNobody) {
            for (const char* action : {"set-nonblock", "fionbio", "fioasync"}) {
                TempDir dir;
                const std::string config = redteam_config(dir, namespaces);
                Pipe caller;  // the caller's stdout, as in `airlock-host exec ... | consumer`
                int err = ::memfd_create("err", MFD_CLOEXEC);
                const int before = ::fcntl(caller.write_end, F_GETFL);
                const pid_t host = start_exec(config, {action, "1"}, caller.write_end, err, as_nobody);
                REQUIRE(host > 0);
                const int status = wait_exit(host);
                const int after = ::fcntl(caller.write_end, F_GETFL);
                caller.close_write();
                const std::string out = drain(caller.read_end);
                INFO(namespaces << (as_nobody ? " unprivileged host " : " root host ") << action << "\n"
                                << out << read_all(err));
                CHECK(status == 0);
                // The plugin did change the shared description while it ran...
                CHECK(has_line(out, std::string("redteam ") + action + ": SUCCEEDED"));
                // ...and the caller's next command finds it as it was.
                CHECK((after & O_NONBLOCK) == (before & O_NONBLOCK));
                CHECK((after & O_ASYNC) == (before & O_ASYNC));
                ::close(err);
            }
        }
        TempDir dir;
        check_host_serving(redteam_config(dir, namespaces));
    }
}

TEST_CASE("a plugin that makes the shared stderr non-blocking cannot silence the host's report",
          "[e2e][redteam]") {
    for (const char* namespaces : kNamespaceModes) {
        TempDir dir;
        const std::string config = redteam_config(dir, namespaces);
        Pipe caller_err;  // the caller's stderr: `airlock-host exec ... 2>&1 | logger`
        int out = ::memfd_create("out", MFD_CLOEXEC);
        const pid_t host = start_exec(config, {"fill-then-violate", "2"}, out, caller_err.write_end);
        REQUIRE(host > 0);
        caller_err.close_write();
        // Nothing reads the pipe until the host has either finished or waits for room to
        // write (blocked in poll): a host that gives up on EAGAIN finishes without its report.
        int status = -1;
        for (;;) {
            int raw = 0;
            if (::waitpid(host, &raw, WNOHANG) == host) {
                status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
                break;
            }
            const std::string syscall = read_text("/proc/" + std::to_string(host) + "/syscall");
            if (syscall.rfind(std::to_string(SYS_poll) + " ", 0) == 0 &&
                has_line(read_all(out), "\\[?.*note filled")) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        const std::string err = drain(caller_err.read_end);
        if (status < 0) status = wait_exit(host);
        const std::string text = read_all(out);
        INFO(namespaces << "\n" << text << err.substr(err.find_first_not_of('.') == std::string::npos ? err.size() : err.find_first_not_of('.')));
        CHECK(has_line(text, "note filled"));
        CHECK(status == 128 + SIGKILL);
        CHECK(err.find("forbidden system call mlock") != std::string::npos);
        ::close(out);
        check_host_serving(config);
    }
}

TEST_CASE("an inherited O_APPEND file stays append-only for the plugin", "[e2e][redteam]") {
    for (const char* namespaces : kNamespaceModes) {
        TempDir dir;
        const std::string config = redteam_config(dir, namespaces, "on_violation = \"errno\"");
        const std::string journal = dir.file("journal.log", "HEAD\n", 0644);
        // `airlock-host exec ... >> journal.log`
        int appended = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        REQUIRE(appended >= 0);
        int err = ::memfd_create("err", MFD_CLOEXEC);
        const int status = wait_exit(start_exec(config, {"rewrite-start", "1"}, appended, err));
        const std::string text = dir.read("journal.log");
        INFO(namespaces << "\n" << text << read_all(err));
        CHECK(status == 0);
        // The plugin may add to the file (its own result line) but not rewrite its start.
        CHECK(text.rfind("HEAD\n", 0) == 0);
        CHECK(has_line(text, "redteam rewrite-start: blocked errno=EPERM"));
        CHECK((::fcntl(appended, F_GETFL) & O_APPEND) != 0);
        ::close(appended);
        ::close(err);
        check_host_serving(config);
    }
}
