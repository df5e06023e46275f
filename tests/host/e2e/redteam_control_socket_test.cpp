// Red team: the control socket's path. The root host binds, chmods and chowns its control
// socket by name, and airlockctl connects by name; another local user who can write the
// socket's directory (or one above it) could bind the name first, or swap the host's socket
// for a link between its bind and chmod/chown, and be taken for the host. The attacker here
// is a real unprivileged process (nobody), forked and switched with setresuid.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <functional>

using namespace airlock::e2e;

namespace {

const std::string kCtl = AIRLOCK_CTL_EXE;
constexpr uid_t kNobody = 65534;

bool socket_at(const std::string& path) {
    struct stat status {};
    return ::lstat(path.c_str(), &status) == 0 && S_ISSOCK(status.st_mode);
}

std::string host_config(const TempDir& dir, const std::string& socket) {
    return dir.file("host.toml", "[host]\ncontrol = " + quoted(socket) + "\n" + attempt_toml(AttemptConfig{}));
}

// Becomes nobody; only raw calls (the caller forked).
bool become_nobody() {
    const gid_t groups[1] = {kNobody};
    return ::setgroups(1, groups) == 0 && ::setresgid(kNobody, kNobody, kNobody) == 0 &&
           ::setresuid(kNobody, kNobody, kNobody) == 0;
}

// `airlockctl ARGS...` as this (root) process, stdout and stderr together; its exit status.
int run_ctl(const std::vector<std::string>& arguments, std::string& output) {
    std::vector<std::string> words{kCtl};
    words.insert(words.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    const int out = ::memfd_create("ctl-out", MFD_CLOEXEC);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, out, 1);
    ::posix_spawn_file_actions_adddup2(&actions, out, 2);
    pid_t pid = -1;
    const bool started = ::posix_spawn(&pid, kCtl.c_str(), &actions, nullptr, argv.data(), environ) == 0;
    ::posix_spawn_file_actions_destroy(&actions);
    int raw = 0;
    while (started && ::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    output = read_all(out);
    ::close(out);
    return started && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// Whether the host `pid` exited (not reaped: finish_host does that) before a socket
// appeared at `socket`; waits up to 30 s for either.
bool exited_before_binding(pid_t pid, const std::string& socket) {
    for (int i = 0; i < 3000; ++i) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
            return true;
        if (socket_at(socket)) return false;
        ::usleep(10000);
    }
    return false;
}

} // namespace

TEST_CASE("the host refuses a control socket where another user could pre-empt or replace it", "[e2e][redteam]") {
    if (skipped_unless_root("a root host and an unprivileged attacker")) return;
    struct Case {
        const char* name;
        std::function<std::string(const TempDir&)> socket;  // prepares the directories
        const char* refusal;
    };
    const std::vector<Case> cases = {
        {"a world-writable directory",
         [](const TempDir& dir) {
             const std::string shared = dir.dir("shared");
             ::chmod(shared.c_str(), 0777);
             return shared + "/control.sock";
         },
         "is writable by other users (mode 0777)"},
        {"a directory another user owns",
         [](const TempDir& dir) {
             const std::string theirs = dir.dir("theirs");
             if (::chown(theirs.c_str(), kNobody, kNobody) != 0) throw std::runtime_error("chown failed");
             return theirs + "/control.sock";
         },
         "belongs to uid 65534"},
        {"a root directory inside one others can write (they could rename it away)",
         [](const TempDir& dir) {
             const std::string shared = dir.dir("shared");
             ::chmod(shared.c_str(), 0777);
             const std::string mine = shared + "/airlock";
             ::mkdir(mine.c_str(), 0755);
             return mine + "/control.sock";
         },
         "who could replace"},
        {"a link (in a root directory) to a directory another user owns",
         [](const TempDir& dir) {
             const std::string theirs = dir.dir("theirs");
             if (::chown(theirs.c_str(), kNobody, kNobody) != 0) throw std::runtime_error("chown failed");
             if (::symlink(theirs.c_str(), dir.at("link").c_str()) != 0) throw std::runtime_error("symlink failed");
             return dir.at("link") + "/control.sock";
         },
         "belongs to uid 65534"},
    };
    for (const Case& attack : cases) {
        TempDir dir;
        const std::string socket = attack.socket(dir);
        const StartedHost host = start_host({"run", host_config(dir, socket)});
        // A host that accepted the path would serve until stopped: it ends (refusing) or binds.
        const bool refused = exited_before_binding(host.pid, socket);
        if (!refused) ::kill(host.pid, SIGTERM);
        const Run run = finish_host(host);
        INFO(attack.name << "\n" << run.err);
        CHECK(refused);
        CHECK(run.status == 69);  // EX_UNAVAILABLE
        CHECK(run.err.find("control socket " + socket + ": ") != std::string::npos);
        CHECK(run.err.find(attack.refusal) != std::string::npos);
        CHECK_FALSE(socket_at(socket));
    }

    // A directory only root can change: the host serves (airlockctl reaches it).
    TempDir dir;
    const std::string socket = dir.dir("airlock") + "/control.sock";
    const StartedHost host = start_host({"run", host_config(dir, socket)});
    for (int i = 0; i < 3000 && !socket_at(socket); ++i) ::usleep(10000);  // the host is starting
    std::string output;
    const int status = run_ctl({"--socket", socket, "status"}, output);
    ::kill(host.pid, SIGTERM);
    const Run run = finish_host(host);
    INFO(output << run.err);
    CHECK(status == 0);
}

namespace {

// What airlockctl ARGS (after --socket) did with a socket nobody serves in a directory of
// theirs: its exit status, its output, and how many bytes its first message had (0: it
// closed without a word; -2: the server never got a client).
struct ImpostorRun {
    int status = -1;
    std::string output;
    long bytes_received = -2;
};

ImpostorRun run_ctl_against_nobody(const TempDir& dir, const std::vector<std::string>& args) {
    const std::string theirs = dir.dir("theirs");
    REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
    const std::string socket = theirs + "/control.sock";
    int ready[2], received[2];
    REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(received, O_CLOEXEC) == 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket.c_str(), socket.size());
    const pid_t impostor = ::fork();
    if (impostor == 0) {
        // nobody binds the name and listens, then reports how many bytes its first client sent.
        const int listener = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (!become_nobody() || listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener, 4) != 0)
            _exit(1);
        char byte = 1;
        if (::write(ready[1], &byte, 1) != 1) _exit(2);
        const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) _exit(3);
        char buffer[4096];
        const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);  // 0: closed without a word
        const long count = got < 0 ? -1 : got;
        if (::write(received[1], &count, sizeof count) != sizeof count) _exit(4);
        _exit(0);
    }
    ::close(ready[1]);
    ::close(received[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);

    ImpostorRun run;
    std::vector<std::string> full{"--socket", socket};
    full.insert(full.end(), args.begin(), args.end());
    run.status = run_ctl(full, run.output);
    if (::read(received[0], &run.bytes_received, sizeof run.bytes_received) != sizeof run.bytes_received)
        run.bytes_received = -2;
    int raw = 0;
    ::waitpid(impostor, &raw, 0);
    ::close(ready[0]);
    ::close(received[0]);
    return run;
}

} // namespace

TEST_CASE("airlockctl sends nothing to a control socket another user serves", "[e2e][redteam]") {
    if (skipped_unless_root("an unprivileged attacker and a root airlockctl")) return;
    TempDir dir;
    // A directory nobody can write (say, named by $AIRLOCK_CONTROL_SOCKET or --socket).
    const ImpostorRun run = run_ctl_against_nobody(dir, {"stop", "attempt"});
    INFO(run.output);
    CHECK(run.status == 77);  // EX_NOPERM
    CHECK(run.output.find("is served by uid 65534") != std::string::npos);
    CHECK(run.output.find("--host-user") != std::string::npos);  // the way to trust it, named
    CHECK(run.bytes_received == 0);  // not even the handshake reached the impostor
}

TEST_CASE("airlockctl --host-user trusts a host run as that user, and only names it can resolve", "[e2e]") {
    if (skipped_unless_root("a server run as nobody and a root airlockctl")) return;
    TempDir dir;
    // A host run as a dedicated user: the operator says which, and airlockctl talks to it.
    const ImpostorRun run = run_ctl_against_nobody(dir, {"--host-user", "nobody", "stop", "attempt"});
    INFO(run.output);
    CHECK(run.status != 77);
    CHECK(run.output.find("neither root nor") == std::string::npos);
    CHECK(run.bytes_received > 0);  // the handshake was sent

    std::string output;
    CHECK(run_ctl({"--host-user", "no-such-user-here", "status"}, output) == 64);  // EX_USAGE
    CHECK(output.find("--host-user: no user named \"no-such-user-here\"") != std::string::npos);
}
