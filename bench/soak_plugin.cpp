// soak_plugin: the misbehaving plugins of soak_bench, written against the connection library
// (no SDK, so that they can break the protocol). One attack per mode (argv[1]); each runs
// until the host stops or kills it:
//   garbage    handshake and grant table, then bytes that are no message, as fast as the
//              socket takes them (the host drops the connection; it exits 1 and is restarted)
//   fds        ready, then log records each carrying 32 descriptors the host did not ask for
//   slow       ready, then progress requests as fast as it can, never reading the replies
//   output     ready, then long lines on stdout and stderr as fast as it can
//   violate    ready, then ptrace (forbidden) without pause (the bench runs it under
//              on_violation = "errno")
//   crash      exits 1 at once (restart = "always")
//   announce   ready with 256 methods whose type descriptions are ~16 KB each, then exits 1
//              after 200 ms (restart = "always"), so that the host parses them again and again
#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include "../tests/support/raw_plugin.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace airlock;
namespace wire = airlock::protocol;

namespace {

int fail(const char* what, const Status& status) {
    std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
    return 1;
}

// A valid struct description close to the 16 KiB limit of an announced type.
std::string big_struct_description() {
    std::string text = "struct Big{";
    for (int i = 0; text.size() < 16000; ++i) {
        if (i > 0) text += ',';
        text += "f" + std::to_string(i) + ":string<64>";
    }
    return text + "}";
}

} // namespace

int main(int argc, char** argv) {
    const char* fd_text = std::getenv(wire::kConnectionFdVariable);
    if (!fd_text || argc < 2) return 64;
    const std::string mode = argv[1];
    if (mode == "crash") return 1;

    Connection connection(wire::plugin_host_protocol());
    if (auto start = test_support::start_raw_plugin(connection, fd_text); start.step) return fail(start.step, start.status);

    if (mode == "garbage") {
        const std::string junk(4096, '\xa5');
        while (::send(connection.fd(), junk.data(), junk.size(), MSG_NOSIGNAL) > 0) {
        }
        return 1;
    }

    CallSession session(connection);
    wire::ReadyNotice ready;
    if (mode == "announce") {
        const std::string big = big_struct_description();
        for (int i = 0; i < 256; ++i) {
            wire::MethodAnnouncement method;
            method.name = "m" + std::to_string(i);
            method.tag = static_cast<std::uint16_t>(wire::kFirstApplicationTag + i);
            method.request_type = big;
            method.reply_type = big;
            ready.methods.push_back(std::move(method));
        }
    }
    if (Status s = session.notify(wire::ready, ready); !s.ok()) return fail("ready", s);
    connection.set_timeout(std::nullopt);

    if (mode == "announce") {
        (void)session.poll_once(std::chrono::milliseconds(200));
        return 1;
    }
    if (mode == "fds") {
        std::vector<int> fds;
        for (int i = 0; i < 32; ++i) fds.push_back(::dup(1));  // the stdout pipe, 32 times
        std::vector<std::uint8_t> body;
        std::vector<int> no_fds;
        if (Status s = encode_value(wire::LogRecord{wire::LogLevel::Info, "with descriptors"}, body, no_fds); !s.ok())
            return fail("encode", s);
        for (;;) {
            Status s = connection.send(OutgoingMessage{wire::log_record.tag, MessageKind::OneWay, 0, body, fds});
            if (!s.ok()) return fail("fds", s);
        }
    }
    if (mode == "slow") {
        std::vector<std::uint8_t> body;
        std::vector<int> no_fds;
        if (Status s = encode_value(wire::ProgressReport{"slow", 1, 2, std::string(500, 's')}, body, no_fds); !s.ok())
            return fail("encode", s);
        for (std::uint32_t id = 1 << 20;; ++id) {
            Status s = connection.send(OutgoingMessage{wire::progress.tag, MessageKind::Request, id, body, no_fds});
            if (!s.ok()) return fail("slow", s);
        }
    }
    if (mode == "output") {
        const std::string line(3000, 'o');
        for (;;) {
            std::fprintf(stdout, "%s\n", line.c_str());
            std::fprintf(stderr, "%s\n", line.c_str());
        }
    }
    if (mode == "violate") {
        for (;;) ::syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
    }
    return 64;
}
