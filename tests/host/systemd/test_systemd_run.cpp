// `airlock-host run` under systemd's protocols, from a real host process: the test binds the
// notify socket (NOTIFY_SOCKET) and a journal socket (AIRLOCK_JOURNAL_SOCKET), points
// JOURNAL_STREAM at the host's standard output as systemd does, and reads the datagrams.
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>
#include <regex>

using namespace airlock::supervisor_test;

namespace {

const std::string kHost = AIRLOCK_HOST_EXE;

// A bound UNIX datagram socket: what systemd's notify socket and journald's socket are.
class DatagramSink {
public:
    explicit DatagramSink(const std::string& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        int size = 4 << 20;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    }
    ~DatagramSink() { ::close(fd_); }
    /// The next datagram; nullopt if none came within 30 s (a hung host, not a timing check).
    std::optional<std::string> next() {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 30000) != 1) return std::nullopt;
        std::string buffer(1 << 16, '\0');
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
        if (n < 0) return std::nullopt;
        buffer.resize(static_cast<std::size_t>(n));
        received_.push_back(buffer);
        return buffer;
    }
    /// Reads datagrams until one satisfies `wanted`; returns it (nullopt if the host went quiet).
    std::optional<std::string> until(const std::function<bool(const std::string&)>& wanted) {
        while (auto datagram = next()) {
            if (wanted(*datagram)) return datagram;
        }
        return std::nullopt;
    }
    const std::vector<std::string>& received() const { return received_; }

private:
    std::string path_;
    int fd_ = -1;
    std::vector<std::string> received_;
};

bool has(const std::string& datagram, const std::string& line) {
    return ("\n" + datagram).find("\n" + line + "\n") != std::string::npos;
}

// The value of KEY=value in a datagram (plain form), or "<none>".
std::string value_of(const std::string& datagram, const std::string& key) {
    std::smatch match;
    if (std::regex_search(datagram, match, std::regex("(^|\n)" + key + "=([^\n]*)(\n|$)"))) return match[2];
    return "<none>";
}

} // namespace

TEST_CASE("airlock-host run under systemd: READY/RELOADING/STOPPING with STATUS, structured journal records") {
    TempDir dir;
    dir.write("host.toml", host_toml(plugin_toml("good", "serve") +
                                     plugin_toml("bad", "violate", "restart = \"no\"\n")));
    DatagramSink notify(dir.path() + "/notify.sock");
    DatagramSink journal(dir.path() + "/journal.sock");

    const std::string out_path = dir.path() + "/host.out";
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(out_fd >= 0);
    struct stat out_stat{};
    REQUIRE(::fstat(out_fd, &out_stat) == 0);
    const std::string journal_stream = std::to_string(out_stat.st_dev) + ":" + std::to_string(out_stat.st_ino);
    const std::string config = dir.path() + "/host.toml";

    const pid_t host = ::fork();
    if (host == 0) {
        ::dup2(out_fd, 1);
        ::setenv("NOTIFY_SOCKET", (dir.path() + "/notify.sock").c_str(), 1);
        ::setenv("AIRLOCK_JOURNAL_SOCKET", (dir.path() + "/journal.sock").c_str(), 1);
        ::setenv("JOURNAL_STREAM", journal_stream.c_str(), 1);
        ::execl(kHost.c_str(), kHost.c_str(), "run", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out_fd);

    // READY=1 once both plugins have been started, with the counts in STATUS=.
    auto ready = notify.next();
    REQUIRE(ready);
    CHECK(has(*ready, "READY=1"));
    CHECK(value_of(*ready, "STATUS").starts_with("2 plugins: "));

    // The violation as a structured record: plugin, pid, syscall, warning priority.
    auto violation = journal.until([](const std::string& d) { return value_of(d, "SYSCALL") != "<none>"; });
    REQUIRE(violation);
    CHECK(value_of(*violation, "SYSCALL") == "ptrace");
    CHECK(value_of(*violation, "AIRLOCK_PLUGIN") == "bad");
    CHECK(value_of(*violation, "PRIORITY") == "4");
    CHECK(std::regex_match(value_of(*violation, "AIRLOCK_PID"), std::regex("[0-9]+")));
    CHECK(value_of(*violation, "MESSAGE").find("forbidden system call ptrace") != std::string::npos);

    // SIGHUP: RELOADING=1 (with the monotonic time systemd asks for), then READY=1 again.
    REQUIRE(::kill(host, SIGHUP) == 0);
    auto reloading = notify.next();
    REQUIRE(reloading);
    CHECK(has(*reloading, "RELOADING=1"));
    CHECK(std::regex_match(value_of(*reloading, "MONOTONIC_USEC"), std::regex("[0-9]+")));
    auto ready_again = notify.next();
    REQUIRE(ready_again);
    CHECK(has(*ready_again, "READY=1"));

    // SIGTERM: STOPPING=1, and the host exits 0.
    REQUIRE(::kill(host, SIGTERM) == 0);
    auto stopping = notify.next();
    REQUIRE(stopping);
    CHECK(has(*stopping, "STOPPING=1"));
    int status = 0;
    REQUIRE(::waitpid(host, &status, 0) == host);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // The good plugin's own log record came with its pid (the one of its "state ready" event),
    // at info priority; none of the supervisor's lines were also written to standard output.
    auto find = [&](const std::string& prefix) -> std::optional<std::string> {
        for (const auto& d : journal.received())
            if (value_of(d, "MESSAGE").starts_with(prefix)) return d;
        return journal.until([&](const std::string& d) { return value_of(d, "MESSAGE").starts_with(prefix); });
    };
    auto record = find("[good] serving in mode serve");
    auto ready_event = find("[host] plugin good: state ready");
    REQUIRE(record);
    REQUIRE(ready_event);
    CHECK(value_of(*record, "AIRLOCK_PLUGIN") == "good");
    CHECK(value_of(*record, "PRIORITY") == "6");
    CHECK(std::regex_match(value_of(*record, "AIRLOCK_PID"), std::regex("[0-9]+")));
    CHECK(value_of(*record, "AIRLOCK_PID") == value_of(*ready_event, "AIRLOCK_PID"));
    CHECK(dir.read("host.out").find("[good]") == std::string::npos);
}
