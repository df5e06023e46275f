// Issue 3 acceptance, end to end: each forbidden thing is attempted from inside the confined
// "attempt" plugin, started through the real path (a TOML written here, the real config
// loader, `airlock-host exec` or the Spawner in this process), and observed to fail; the host
// must report what it saw and still work afterwards (`attempt noop`).
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <regex>

using namespace airlock::e2e;

namespace {

/// The host still launches and runs a plugin normally from the same config.
void check_host_healthy(const std::string& config_path) {
    Run run = exec_attempt(config_path, {"noop"});
    INFO("noop out: " << run.out << "noop err: " << run.err);
    CHECK(run.host_exited);
    CHECK(run.status == 0);
    CHECK(run.result("noop") == "SUCCEEDED");
    CHECK(run.err.empty());
}

/// Same, for this process as the host (spawner API).
void check_in_process_host_healthy(const std::string& config_path) {
    Run run = spawn_attempt(config_path, {"noop"});
    INFO("noop out: " << run.out << "noop err: " << run.err);
    CHECK(run.status == 0);
    CHECK(run.result("noop") == "SUCCEEDED");
    CHECK(run.err.empty());
}

const std::string kErrno = "on_violation = \"errno\"";
const std::string kKill = "on_violation = \"kill\"";

std::atomic<int> g_usr1_received{0};
std::atomic<int> g_sigio_received{0};
extern "C" void count_usr1(int) { g_usr1_received.fetch_add(1); }
extern "C" void count_sigio(int) { g_sigio_received.fetch_add(1); }

/// A listening socket owned by the test; `connections()` counts what reached it.
class Listener {
public:
    explicit Listener(int fd) : fd_(fd) {}
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    ~Listener() {
        if (fd_ >= 0) ::close(fd_);
    }
    int fd() const { return fd_; }
    /// Connections accepted (or datagrams received) without blocking.
    int connections(bool datagram = false) const {
        int count = 0;
        for (;;) {
            if (datagram) {
                char buffer[64];
                if (::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) < 0) break;
            } else {
                int accepted = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (accepted < 0) break;
                ::close(accepted);
            }
            ++count;
        }
        return count;
    }

private:
    int fd_;
};

Listener tcp_listener(int& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    port = ntohs(address.sin_port);
    return Listener(fd);
}

/// `name` starting with '@' is abstract.
Listener unix_listener(const std::string& name, int type = SOCK_STREAM) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0);
    if (type == SOCK_STREAM) REQUIRE(::listen(fd, 16) == 0);
    if (name[0] != '@') ::chmod(name.c_str(), 0777);  // only the sandbox stands in the way
    return Listener(fd);
}

std::string tracer_pid() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("TracerPid:", 0) == 0) return line.substr(10);
    }
    return "?";
}

} // namespace

TEST_CASE("a secret file made by the test cannot be opened by absolute path", "[e2e]") {
    TempDir dir;
    std::string secret = dir.file("secret.txt", "top secret", 0644);  // readable by nobody: only the sandbox stops it
    AttemptConfig attempt;
    attempt.sandbox = "namespaces = \"off\"";  // Landlock's answer; with namespaces: ENOENT (namespaces_e2e_test)
    std::string config = write_config(dir, attempt);
    Run run = exec_attempt(config, {"open", secret});
    INFO(run.out << run.err);
    CHECK(run.result("open") == "blocked errno=EACCES");  // Landlock: no rule covers /tmp
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    // Positive control: a file beneath system_paths is readable.
    Run control = exec_attempt(config, {"open", "/usr/lib/os-release"});
    CHECK(control.result("open") == "SUCCEEDED");
    check_host_healthy(config);
}

TEST_CASE("`..` cannot leave a directory grant", "[e2e]") {
    TempDir dir;
    std::string granted = dir.dir("granted");
    dir.file("granted/inside.txt", "inside", 0644);
    dir.file("secret.txt", "top secret", 0644);
    AttemptConfig attempt;
    attempt.sandbox = "namespaces = \"off\"";  // Landlock's answer for the absolute path
    attempt.grants = "data = { dir = " + quoted(granted) + ", access = \"read\" }";
    std::string config = write_config(dir, attempt);

    Run inside = exec_attempt(config, {"openat", "3", "inside.txt"});
    INFO(inside.out << inside.err);
    CHECK(inside.result("openat") == "SUCCEEDED");  // the grant itself works

    Run relative = exec_attempt(config, {"openat", "3", "../secret.txt"});
    INFO(relative.out << relative.err);
    CHECK(relative.result("openat") == "blocked errno=EACCES");
    CHECK(relative.status == 0);

    Run absolute = exec_attempt(config, {"open", granted + "/../secret.txt"});
    CHECK(absolute.result("open") == "blocked errno=EACCES");

    Run deep = exec_attempt(config, {"openat", "3", "../../../../etc/passwd"});
    CHECK(deep.result("openat") == "blocked errno=EACCES");
    check_host_healthy(config);
}

TEST_CASE("a read-only file grant cannot be written, also not via /proc/self/fd/N", "[e2e]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "original", 0666);  // writable by anyone: only the sandbox stops it
    AttemptConfig attempt;
    attempt.sandbox = "namespaces = \"off\"";  // Landlock's answer; with namespaces there is no /proc
    attempt.grants = "input = { file = " + quoted(input) + ", access = \"read\" }";
    std::string config = write_config(dir, attempt);

    Run direct = exec_attempt(config, {"write-fd", "3"});
    INFO(direct.out << direct.err);
    CHECK(direct.result("write-fd") == "blocked errno=EBADF");  // opened O_RDONLY by the host

    Run reopen = exec_attempt(config, {"reopen-proc-write", "3"});
    INFO(reopen.out << reopen.err);
    CHECK(reopen.result("reopen-proc-write") == "blocked errno=EACCES");  // Landlock: /proc unreachable
    CHECK(reopen.status == 0);

    CHECK(dir.read("input.txt") == "original");
    check_host_healthy(config);
}

TEST_CASE("an append-only grant cannot be overwritten or truncated", "[e2e]") {
    TempDir dir;
    std::string journal = dir.file("journal.log", "HEAD\n", 0666);
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    attempt.grants = "journal = { file = " + quoted(journal) + ", access = \"append\" }";
    std::string config = write_config(dir, attempt);

    SECTION("pwrite at offset 0 lands at the end") {
        Run run = exec_attempt(config, {"pwrite-at-0", "3", "P1\n"});
        INFO(run.out << run.err);
        CHECK(run.notes("pwrite") == std::vector<std::string>{"pwrite returned 3"});
        CHECK(run.err.empty());  // allowed: the kernel appends on O_APPEND whatever the offset
        CHECK(dir.read("journal.log") == "HEAD\nP1\n");
    }
    SECTION("fcntl(F_SETFL) clearing O_APPEND is refused; the write at 0 still appends") {
        Run run = exec_attempt(config, {"clear-append", "3", "F1\n"});
        INFO(run.out << run.err);
        CHECK(run.result("clear-append") == "blocked errno=EPERM");
        CHECK(run.notes("flags-after") == std::vector<std::string>{"flags-after append"});
        CHECK(has_line(run.err, violation("fcntl", 72, "refused with EPERM", "fcntl F_SETFL clearing O_APPEND: the plugin holds an append-only grant, which must stay append-only")));
        CHECK(dir.read("journal.log") == "HEAD\nF1\n");
    }
    SECTION("pwritev2 with RWF_NOAPPEND is refused") {
        Run run = exec_attempt(config, {"pwritev2-noappend", "3", "V1\n"});
        INFO(run.out << run.err);
        CHECK(run.result("pwritev2-noappend") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("pwritev2", 328, "refused with EPERM", "pwritev2 with RWF_NOAPPEND: the plugin holds an append-only grant, which must stay append-only")));
        CHECK(dir.read("journal.log") == "HEAD\n");
    }
    SECTION("ftruncate is refused") {
        Run run = exec_attempt(config, {"ftruncate", "3"});
        INFO(run.out << run.err);
        CHECK(run.result("ftruncate") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("ftruncate", 77, "refused with EPERM", "ftruncate can cut a file short: the plugin holds an append-only grant, which must stay append-only")));
        CHECK(dir.read("journal.log") == "HEAD\n");
    }
    SECTION("under on_violation = kill, clearing O_APPEND kills the plugin before it writes") {
        attempt.syscalls = kKill;
        config = write_config(dir, attempt, "kill");
        Run run = exec_attempt(config, {"clear-append", "3", "K1\n"});
        INFO(run.out << run.err);
        CHECK(run.result("clear-append") == "<missing>");
        CHECK(run.status == 128 + SIGKILL);
        CHECK(has_line(run.err, violation("fcntl", 72, "killed", "fcntl F_SETFL clearing O_APPEND: the plugin holds an append-only grant, which must stay append-only")));
        CHECK(dir.read("journal.log") == "HEAD\n");
    }
    check_host_healthy(config);
}

TEST_CASE("a TCP socket cannot be created", "[e2e]") {
    TempDir dir;
    SECTION("on_violation = kill: killed, reported by name") {
        std::string config = write_config(dir, AttemptConfig{});
        Run run = exec_attempt(config, {"tcp-socket"});
        INFO(run.out << run.err);
        CHECK(run.result("tcp-socket") == "<missing>");
        CHECK(run.status == 128 + SIGKILL);
        CHECK(has_line(run.err, violation("socket", 41, "killed")));
        check_host_healthy(config);
    }
    SECTION("on_violation = errno: EPERM, reported by name") {
        AttemptConfig attempt;
        attempt.syscalls = kErrno;
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"tcp-socket"});
        INFO(run.out << run.err);
        CHECK(run.result("tcp-socket") == "blocked errno=EPERM");
        CHECK(run.status == 0);
        CHECK(has_line(run.err, violation("socket", 41, "refused with EPERM")));
        check_host_healthy(config);
    }
    SECTION("on_violation = log: the sandbox still refuses socket()") {
        AttemptConfig attempt;
        attempt.syscalls = "on_violation = \"log\"";
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"tcp-socket"});
        INFO(run.out << run.err);
        CHECK(run.result("tcp-socket") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("socket", 41, "refused with EPERM")));
        check_host_healthy(config);
    }
}

TEST_CASE("a loopback TCP listener run by the test cannot be reached", "[e2e]") {
    TempDir dir;
    int port = 0;
    Listener listener = tcp_listener(port);
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    std::string config = write_config(dir, attempt);
    Run run = exec_attempt(config, {"tcp-connect", std::to_string(port)});
    INFO(run.out << run.err);
    CHECK(run.result("tcp-connect") == "blocked errno=EPERM at=socket");
    CHECK(has_line(run.err, violation("socket", 41, "refused with EPERM")));
    CHECK(listener.connections() == 0);
    check_host_healthy(config);
    CHECK(listener.connections() == 0);
}

TEST_CASE("pathname and abstract UNIX sockets run by the test cannot be reached", "[e2e]") {
    TempDir dir;
    const std::string path = dir.at("listener.sock");
    const std::string dgram_path = dir.at("dgram.sock");
    const std::string abstract = "@airlock-e2e-" + std::to_string(::getpid());
    Listener pathname = unix_listener(path);
    Listener datagram = unix_listener(dgram_path, SOCK_DGRAM);
    Listener hidden = unix_listener(abstract);
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    std::string config = write_config(dir, attempt);

    Run to_path = exec_attempt(config, {"unix-connect", path});
    INFO(to_path.out << to_path.err);
    // socket() refused, then connect() on a socketpair end refused too.
    CHECK(to_path.notes("socket") == std::vector<std::string>{"socket errno=EPERM"});
    CHECK(to_path.result("unix-connect") == "blocked errno=EPERM at=connect-socketpair");
    CHECK(has_line(to_path.err, violation("socket", 41, "refused with EPERM")));
    CHECK(has_line(to_path.err, violation("connect", 42, "refused with EPERM")));

    Run to_abstract = exec_attempt(config, {"unix-connect", abstract});
    INFO(to_abstract.out << to_abstract.err);
    CHECK(to_abstract.result("unix-connect") == "blocked errno=EPERM at=connect-socketpair");

    Run sendto = exec_attempt(config, {"unix-dgram-sendto", dgram_path});
    INFO(sendto.out << sendto.err);
    CHECK(sendto.result("unix-dgram-sendto") == "blocked errno=EPERM at=socketpair");
    CHECK(has_line(sendto.err, violation("socketpair", 53, "refused with EPERM")));

    CHECK(pathname.connections() == 0);
    CHECK(hidden.connections() == 0);
    CHECK(datagram.connections(true) == 0);
    check_host_healthy(config);
}

TEST_CASE("/bin/sh cannot be executed", "[e2e]") {
    TempDir dir;
    SECTION("execve under on_violation = kill") {
        std::string config = write_config(dir, AttemptConfig{});
        Run run = exec_attempt(config, {"exec-sh"});
        INFO(run.out << run.err);
        CHECK(run.out.find("SUCCEEDED") == std::string::npos);
        CHECK(run.status == 128 + SIGKILL);
        CHECK(has_line(run.err, violation("execve", 59, "killed")));
        check_host_healthy(config);
    }
    SECTION("execve and execveat (without the launch tag) under on_violation = errno") {
        AttemptConfig attempt;
        attempt.syscalls = kErrno;
        std::string config = write_config(dir, attempt);
        Run run = exec_attempt(config, {"exec-sh"});
        INFO(run.out << run.err);
        CHECK(run.result("exec-sh") == "blocked errno=EPERM");
        CHECK(has_line(run.err, violation("execve", 59, "refused with EPERM")));
        Run at = exec_attempt(config, {"execveat-sh"});
        INFO(at.out << at.err);
        CHECK(at.result("execveat-sh") == "blocked errno=EPERM");
        CHECK(has_line(at.err, violation("execveat", 322, "refused with EPERM")));
        check_host_healthy(config);
    }
}

TEST_CASE("with processes = 1 the plugin cannot fork", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "processes = 1";
    attempt.syscalls = kErrno;
    std::string config = write_config(dir, attempt);

    Run thread = exec_attempt(config, {"thread"});
    INFO(thread.out << thread.err);
    CHECK(thread.result("thread") == "SUCCEEDED");  // threads are fine
    CHECK(thread.err.empty());

    Run fork = exec_attempt(config, {"fork"});
    INFO(fork.out << fork.err);
    CHECK(fork.result("fork") == "blocked errno=EPERM");
    CHECK(has_line(fork.err, violation("clone", 56, "refused with EPERM")));

    Run vfork = exec_attempt(config, {"vfork"});
    INFO(vfork.out << vfork.err);
    CHECK(vfork.result("vfork") == "blocked errno=EPERM");
    CHECK(has_line(vfork.err, violation("vfork", 58, "refused with EPERM")));

    attempt.syscalls = kKill;
    std::string kill_config = write_config(dir, attempt, "kill");
    Run killed = exec_attempt(kill_config, {"fork"});
    INFO(killed.out << killed.err);
    CHECK(killed.result("fork") == "<missing>");
    CHECK(killed.status == 128 + SIGKILL);
    CHECK(has_line(killed.err, violation("clone", 56, "killed")));
    check_host_healthy(config);
    check_host_healthy(kill_config);
}

TEST_CASE("io_uring_setup is refused", "[e2e]") {
    TempDir dir;
    std::string config = write_config(dir, AttemptConfig{});
    Run killed = exec_attempt(config, {"io-uring-setup"});
    INFO(killed.out << killed.err);
    CHECK(killed.result("io-uring-setup") == "<missing>");
    CHECK(killed.status == 128 + SIGKILL);
    CHECK(has_line(killed.err, violation("io_uring_setup", 425, "killed")));

    AttemptConfig logging;
    logging.syscalls = "on_violation = \"log\"";  // always-denied calls never continue
    std::string log_config = write_config(dir, logging, "log");
    Run logged = exec_attempt(log_config, {"io-uring-setup"});
    INFO(logged.out << logged.err);
    CHECK(logged.result("io-uring-setup") == "blocked errno=EPERM");
    CHECK(has_line(logged.err, violation("io_uring_setup", 425, "refused with EPERM")));
    check_host_healthy(config);
    check_host_healthy(log_config);
}

TEST_CASE("the plugin can neither ptrace nor signal its host", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    // The Landlock signal scope and the uid drop on their own: a PID namespace would hide the
    // host's pid altogether (ESRCH; namespaces_e2e_test.cpp covers that).
    attempt.sandbox = "namespaces = \"off\"";
    std::string config = write_config(dir, attempt);

    SECTION("airlock-host exec: the host is the plugin's parent") {
        Run traced = exec_attempt(config, {"ptrace"});
        INFO(traced.out << traced.err);
        CHECK(traced.result("ptrace") == "blocked errno=EPERM");
        CHECK(has_line(traced.err, violation("ptrace", 101, "refused with EPERM")));
        CHECK(traced.host_exited);
        CHECK(traced.status == 0);
        // SIGUSR1 would terminate airlock-host (default action): it must come back normally.
        Run signaled = exec_attempt(config, {"kill"});
        INFO(signaled.out << signaled.err);
        CHECK(signaled.result("kill") == "blocked errno=EPERM");  // Landlock signal scope (and, as root, the uid drop)
        CHECK(signaled.host_exited);
        CHECK(signaled.status == 0);
        check_host_healthy(config);
    }
    SECTION("this test process as the host (Spawner API), its pid passed as an argument") {
        struct sigaction action {};
        action.sa_handler = count_usr1;
        struct sigaction previous {};
        ::sigaction(SIGUSR1, &action, &previous);
        g_usr1_received = 0;
        const std::string self = std::to_string(::getpid());

        Run signaled = spawn_attempt(config, {"kill", self, std::to_string(SIGUSR1)});
        INFO(signaled.out << signaled.err);
        CHECK(signaled.result("kill") == "blocked errno=EPERM");
        Run probed = spawn_attempt(config, {"kill", self, "0"});
        CHECK(probed.result("kill") == "blocked errno=EPERM");
        Run traced = spawn_attempt(config, {"ptrace", self});
        INFO(traced.out << traced.err);
        CHECK(traced.result("ptrace") == "blocked errno=EPERM");
        CHECK(has_line(traced.err, violation("ptrace", 101, "refused with EPERM")));

        // Other ways to send a signal: tkill, rt_sigqueueinfo, and the kernel sending SIGIO
        // (here re-targeted to SIGUSR1 with F_SETSIG) to the owner the plugin set on a pipe.
        struct sigaction io_action {};
        io_action.sa_handler = count_sigio;
        struct sigaction io_previous {};
        ::sigaction(SIGIO, &io_action, &io_previous);
        g_sigio_received = 0;
        Run tkilled = spawn_attempt(config, {"tkill", self, std::to_string(SIGUSR1)});
        INFO(tkilled.out << tkilled.err);
        CHECK(tkilled.result("tkill") == "blocked errno=EPERM");
        Run queued = spawn_attempt(config, {"sigqueue", self, std::to_string(SIGUSR1)});
        INFO(queued.out << queued.err);
        CHECK(queued.result("sigqueue") == "blocked errno=EPERM");
        Run sigio = spawn_attempt(config, {"sigio", self, std::to_string(SIGUSR1)});
        INFO(sigio.out << sigio.err);
        CHECK(sigio.status == 0);  // the plugin may arm it; the kernel must not deliver it
        Run plain_sigio = spawn_attempt(config, {"sigio", self, "0"});
        CHECK(plain_sigio.status == 0);
        ::usleep(50 * 1000);
        CHECK(g_sigio_received == 0);
        ::sigaction(SIGIO, &io_previous, nullptr);

        AttemptConfig killing;
        killing.sandbox = "namespaces = \"off\"";
        std::string kill_config = write_config(dir, killing, "kill");
        Run killed = spawn_attempt(kill_config, {"ptrace", self});
        INFO(killed.out << killed.err);
        CHECK(killed.status == 128 + SIGKILL);
        CHECK(has_line(killed.err, violation("ptrace", 101, "killed")));

        CHECK(g_usr1_received == 0);
        CHECK(tracer_pid() == "\t0");
        ::sigaction(SIGUSR1, &previous, nullptr);
        check_in_process_host_healthy(config);
        check_host_healthy(config);
    }
}

TEST_CASE("the plugin sees only stdio and its grants as descriptors", "[e2e]") {
    TempDir dir;
    std::string input = dir.file("input.txt", "data", 0644);
    std::string journal = dir.file("journal.log", "", 0666);
    AttemptConfig attempt;
    attempt.grants = "input = { file = " + quoted(input) + " }\n"
                     "journal = { file = " + quoted(journal) + ", access = \"append\" }\n"
                     "scratch = { memfd = \"1MiB\" }";
    std::string config = write_config(dir, attempt);
    // Descriptors this process (and so airlock-host, which inherits them) holds without close-on-exec.
    int leak = ::open("/etc/hostname", O_RDONLY);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    REQUIRE(leak >= 0);

    Run via_cli = exec_attempt(config, {"fds", "6"});  // 0-2 stdio, 3-5 the three grants
    INFO(via_cli.out << via_cli.err);
    CHECK(via_cli.result("fds") == "blocked fds=0,1,2,3,4,5");

    Run in_process = spawn_attempt(config, {"fds", "6"});
    INFO(in_process.out << in_process.err);
    CHECK(in_process.result("fds") == "blocked fds=0,1,2,3,4,5");

    ::close(leak);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    check_host_healthy(config);
}

TEST_CASE("the plugin sees no environment variable that was not configured", "[e2e]") {
    TempDir dir;
    REQUIRE(::setenv("E2E_HOST_SECRET", "leaked", 1) == 0);
    AttemptConfig attempt;
    attempt.env = R"({ LANG = "C.UTF-8", CONFIGURED = "yes" })";
    std::string config = write_config(dir, attempt);

    for (bool in_process : {false, true}) {
        Run run = in_process ? spawn_attempt(config, {"env", "E2E_HOST_SECRET"})
                             : exec_attempt(config, {"env", "E2E_HOST_SECRET"});
        INFO((in_process ? "spawner API" : "airlock-host exec") << "\n" << run.out << run.err);
        CHECK(run.result("env") == "blocked unset");
        std::vector<std::string> env = run.notes("env ");
        std::sort(env.begin(), env.end());
        CHECK(env == std::vector<std::string>{"env AIRLOCK_PLUGIN_NAME=attempt", "env CONFIGURED=yes",
                                              "env LANG=C.UTF-8"});
    }
    ::unsetenv("E2E_HOST_SECRET");
    check_host_healthy(config);
}

TEST_CASE("the plugin cannot exceed its memory limit", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"64MiB\"";
    std::string config = write_config(dir, attempt);

    Run small = exec_attempt(config, {"memory", "16"});
    INFO(small.out << small.err);
    CHECK(small.result("memory") == "SUCCEEDED allocated_mib=16");  // positive control

    Run big = exec_attempt(config, {"memory", "256"});
    INFO(big.out << big.err);
    std::smatch match;
    std::string result = big.result("memory");
    REQUIRE(std::regex_match(result, match, std::regex("blocked errno=ENOMEM allocated_mib=([0-9]+)")));
    CHECK(std::stoi(match[1]) < 64);
    CHECK(big.status == 0);
    check_host_healthy(config);
}

TEST_CASE("check shows every isolation layer active", "[e2e]") {
    TempDir dir;
    std::string config = write_config(dir, AttemptConfig{});
    Run run = run_host({"check", config});
    INFO(run.out << run.err);
    CHECK(run.status == 0);
    CHECK(has_line(run.out, "seccomp: available \\(.*\\)"));
    CHECK(has_line(run.out, "seccomp user notification: available \\(.*\\)"));
    CHECK(has_line(run.out, "landlock: available \\(.*\\)"));
    CHECK(has_line(run.out, "no-new-privs: available \\(.*\\)"));
    CHECK(has_line(run.out, " *layers applied at spawn: seccomp landlock no-new-privs namespaces"));
    CHECK(run.out.find("UNAVAILABLE") == std::string::npos);
    CHECK(run.out.find("(unavailable)") == std::string::npos);
    check_host_healthy(config);
}

TEST_CASE("a plugin can neither signal nor ptrace another plugin running as the same user", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    // The Landlock signal scope and seccomp on their own: in PID namespaces of their own the
    // plugins cannot even name each other (ESRCH; namespaces_e2e_test.cpp).
    attempt.sandbox = "namespaces = \"off\"";
    std::string config = write_config(dir, attempt);
    airlock::host::HostConfig loaded = airlock::host::load_config(config);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
    // The victim: the same plugin, sleeping (same uid when the host is root: both run as nobody).
    airlock::host::SpawnedPlugin victim = spawner.launch(airlock::host::LaunchOptions{{"sleep", "30"}});
    const std::string pid = std::to_string(victim.process.pid());

    Run signaled = spawn_attempt(config, {"kill", pid, std::to_string(SIGKILL)});
    INFO(signaled.out << signaled.err);
    CHECK(signaled.result("kill") == "blocked errno=EPERM");  // Landlock signal scope: another domain
    Run traced = spawn_attempt(config, {"ptrace", pid});
    CHECK(traced.result("ptrace") == "blocked errno=EPERM");   // seccomp: always denied
    CHECK_FALSE(victim.process.try_wait().has_value());        // still running
    check_in_process_host_healthy(config);
}

// prlimit64 with a pid could read or change another process's limits (same uid: other plugins,
// or an unprivileged host); the filter allows it only with pid 0, which glibc's getrlimit and
// setrlimit pass. Found by this test (it was a gap), fixed in host/src/sandbox/seccomp_filter.cpp.
TEST_CASE("a plugin cannot change another plugin's rlimits (prlimit64 with a pid)", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.syscalls = kErrno;
    std::string config = write_config(dir, attempt);
    airlock::host::HostConfig loaded = airlock::host::load_config(config);
    airlock::host::Spawner spawner(loaded.plugins.at("attempt"));
    airlock::host::SpawnedPlugin victim = spawner.launch(airlock::host::LaunchOptions{{"sleep", "30"}});
    const std::string pid = std::to_string(victim.process.pid());

    Run run = spawn_attempt(config, {"prlimit", pid});  // reads RLIMIT_CORE, sets the same value back
    INFO(run.out << run.err);
    CHECK(run.result("prlimit") == "blocked errno=EPERM at=read");
    // And on the host itself (root host: refused by DAC, the plugin runs as nobody).
    Run on_host = spawn_attempt(config, {"prlimit", std::to_string(::getpid())});
    INFO(on_host.out << on_host.err);
    CHECK(on_host.result("prlimit") == "blocked errno=EPERM at=read");
    check_in_process_host_healthy(config);
}

// `memory` is RLIMIT_AS, which counts only the plugin's address space: pages written into a
// memfd with write() (or into a tmpfs file, or pipe buffers) are never mapped, so RLIMIT_AS
// alone let a plugin with memory = "64MiB" pin far more. The memory cgroup the host makes per
// plugin process counts them. Observed on the project's kernel (6.18, cgroup v1): the write
// that crosses the limit does not fail; the cgroup's OOM killer ends the plugin with SIGKILL.
// Without a memory cgroup (not root, no memory controller) the gap stays open: see
// memory_cgroup_e2e_test.cpp, "without root".
TEST_CASE("the memory limit also bounds memory held in a memfd", "[e2e]") {
    TempDir dir;
    AttemptConfig attempt;
    attempt.limits = "memory = \"64MiB\"";
    std::string config = write_config(dir, attempt);
    const std::string enforcement = memory_limit_line(run_host({"check", config}).out);
    if (enforcement.rfind("enforced by RLIMIT_AS + memory cgroup", 0) != 0) {
        INFO("airlock-host check: memory limit " << enforcement);
        REQUIRE_FALSE(expect_memory_cgroups());  // root with a v1 memory controller: it must be used
        WARN("NOT TESTED: no memory cgroup for this host, the memfd gap is open here (" << enforcement << ")");
        return;
    }

    Run below = exec_attempt(config, {"memfd-memory", "32"});
    INFO(below.out << below.err);
    CHECK(below.result("memfd-memory") == "SUCCEEDED allocated_mib=32");  // positive control

    Run run = exec_attempt(config, {"memfd-memory", "128"});
    INFO(run.out << run.err);
    CHECK(run.status == 128 + SIGKILL);
    CHECK(run.result("memfd-memory") == "<missing>");  // killed before it could report
    CHECK(has_line(run.err, "airlock-host: plugin attempt \\(pid [0-9]+\\) killed by signal 9 \\(SIGKILL\\): "
                            "exceeded memory = 64MiB \\(memory cgroup OOM\\)"));
    check_host_healthy(config);
}

namespace {

// What `fd` (a memfd another process still writes to) holds so far; pread leaves the shared
// offset alone.
std::string peek_all(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t size;
    while ((size = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()))) > 0)
        text.append(buffer, static_cast<std::size_t>(size));
    return text;
}

} // namespace

TEST_CASE("descriptors one plugin keeps in flight do not stop another plugin's start", "[e2e]") {
    // In-flight SCM_RIGHTS descriptors count per uid, against the sender's RLIMIT_NOFILE, and
    // plugins share a uid: a hoarder with a high open_files limit used to make every other
    // plugin's listener hand-off fail ("Too many references"). Both run as daemon here, so
    // that tests running at the same time (as nobody) are not affected.
    TempDir dir;
    auto as_daemon = [](std::string toml) {
        const std::string nobody = "user = \"nobody\"";
        toml.replace(toml.find(nobody), nobody.size(), "user = \"daemon\"");
        return toml;
    };
    AttemptConfig hoarder;
    hoarder.limits = "open_files = 1024";
    hoarder.syscalls = "on_violation = \"errno\"";
    const std::string hoarder_config = dir.file("hoarder.toml", as_daemon(attempt_toml(hoarder)));
    AttemptConfig starter;
    starter.limits = "open_files = 64";
    starter.syscalls = "on_violation = \"errno\"";  // a seccomp listener to hand over
    const std::string starter_config = dir.file("starter.toml", as_daemon(attempt_toml(starter)));

    StartedHost hoarding = start_host({"exec", hoarder_config, "attempt", "--", "hoard-fds", "60"});
    REQUIRE(hoarding.pid > 0);
    for (int i = 0; i < 600 && !has_line(peek_all(hoarding.out), ".*note hoarding.*"); ++i) ::usleep(50'000);
    const std::string hoard = peek_all(hoarding.out);
    INFO(hoard << peek_all(hoarding.err));
    REQUIRE(has_line(hoard, ".*note hoarding [0-9]+ descriptors in flight \\(then errno=ETOOMANYREFS\\).*"));

    Run started = spawn_attempt(starter_config, {"noop"});
    INFO(started.out << started.err);
    CHECK(started.result("noop") == "SUCCEEDED");

    ::kill(hoarding.pid, SIGTERM);
    Run hoarder_run = finish_host(hoarding);
    INFO(hoarder_run.out << hoarder_run.err);
    CHECK(hoarder_run.host_exited);
}
