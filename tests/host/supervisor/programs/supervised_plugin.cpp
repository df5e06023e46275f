// A protocol "airlock" plugin for the supervisor tests, written against the connection
// library (no SDK). Modes (argv[1]):
//   serve         handshake, grant table, announce `echo` (tag 100, replies with the request
//                 body), serve until the stop request, exit 0
//   ignore-stop   like serve, but ignores the stop request, SIGTERM and SIGINT
//   crash         prints "crashing" on stdout and exits 1 at once
//   garbage       handshake, then writes garbage on the connection and floods stdout
//   no-ready      handshake and grant table, then never reports ready
//   flood         reports ready, then writes long lines to stdout as fast as it can
//   violate       reports ready, then calls ptrace (not in the default allowlist)
#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace airlock;
namespace wire = airlock::protocol;

namespace {

int fail(const char* what, const Status& status) {
    std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    const char* fd_text = std::getenv(wire::kConnectionFdVariable);
    if (!fd_text || argc < 2) return 64;
    const std::string mode = argv[1];
    if (mode == "crash") {
        std::printf("crashing\n");
        std::fflush(stdout);
        return 1;
    }
    const bool ignore_stop = mode == "ignore-stop";
    if (ignore_stop) {
        ::signal(SIGTERM, SIG_IGN);
        ::signal(SIGINT, SIG_IGN);
    }
    Connection connection(wire::plugin_host_protocol());
    connection.set_timeout(std::chrono::seconds(10));
    if (Status s = connection.set_fd(ConnectionMode::Pair, UniqueFd(std::atoi(fd_text))); !s.ok()) return fail("adopt", s);
    if (Status s = connection.establish(); !s.ok()) return fail("handshake", s);
    Result<wire::GrantTable> table = connection.receive_value<wire::GrantTable>(wire::grant_table.tag);
    if (!table) return fail("grant table", table.status());

    if (mode == "garbage") {
        const char junk[] = "\xff\xfe this is not a message \x01\x02\x03";
        for (int i = 0; i < 50; ++i) (void)::send(connection.fd(), junk, sizeof junk, MSG_DONTWAIT);
        std::string line(200, 'x');
        for (;;) std::printf("%s\n", line.c_str());
    }

    if (mode == "no-ready") {
        for (;;) ::pause();
    }

    CallSession session(connection);
    bool stopping = false;
    (void)session.on(wire::stop, [&](wire::StopRequest&) {
        if (!ignore_stop) stopping = true;
        return wire::StopReply{0};
    });
    (void)session.on_raw(wire::kFirstApplicationTag, [](Message& request, CallSession::Responder& respond) -> Status {
        return respond.send(request.body, {});
    });
    wire::ReadyNotice ready;
    wire::MethodAnnouncement echo;
    echo.name = "echo";
    echo.tag = wire::kFirstApplicationTag;
    echo.request_type = "bytes";
    echo.reply_type = "bytes";
    ready.methods.push_back(echo);
    if (Status s = session.notify(wire::ready, ready); !s.ok()) return fail("ready", s);
    (void)session.notify(wire::log_record, wire::LogRecord{wire::LogLevel::Info, "serving in mode " + mode});
    std::printf("pid %d serving\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
    if (mode == "flood") {
        const std::string line(3000, 'f');
        for (;;) std::printf("%s\n", line.c_str());
    }
    if (mode == "violate") {
        (void)session.poll_once(std::chrono::milliseconds(100));  // let the host see ready first
        ::syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
        std::printf("still alive after ptrace\n");
        return 5;
    }
    while (!stopping) {
        Status s = session.poll_once();
        if (!s.ok()) {
            if (ignore_stop) {
                ::pause();
                continue;
            }
            return fail("serving", s);
        }
    }
    return 0;
}
