// A protocol "airlock" plugin for the supervisor tests, written against the connection
// library (no SDK). Modes (argv[1]):
//   serve         handshake, grant table, announce `echo` (tag 100, replies with the request
//                 body), `inspect` and `work` (supervised_api.hpp), serve until the stop
//                 request, exit 0
//   ignore-stop   like serve, but ignores the stop request, SIGTERM and SIGINT
//   crash         prints "crashing" on stdout and exits 1 at once
//   oom           reports ready, then fills a memfd until the memory cgroup's OOM killer ends
//                 it (needs @ipc for memfd_create; exits 3 if a write fails instead)
//   hold          like serve, but also announces `hold` (tag 103, bool both ways), whose
//                 calls it never answers, and sends the host nothing unasked
//   garbage       handshake, then writes garbage on the connection and floods stdout
//   no-ready      handshake and grant table, then never reports ready
//   flood         reports ready, then writes long lines to stdout as fast as it can
//   spam          reports ready, then sends the host progress requests as fast as it can
//                 and never reads the replies
//   flood-on-echo  like serve, but on each echo sends log records as fast as it can and
//                 never replies (a plugin keeping the host's call open while it floods)
//   violate       reports ready, then calls ptrace (not in the default allowlist)
//   violate-on-echo  like serve, but calls ptrace (not in the default allowlist) on each echo
//   violate-flood N [exit]  reports ready, calls ptrace N times (each refused under
//                 on_violation = "errno"), prints "refused R of N", then serves on (or exits 0)
//   self-stop     reports ready, then stops itself with SIGSTOP (raise: its own pid and tid)
//   lines N       reports ready, writes N numbered 1000-byte lines to stdout as fast as the
//                 pipe takes them, prints "wrote N lines", then serves on
//   heavy-types   like serve, but also announces `hold` (tag 103: request bool, reply type the
//                 densest valid 16 KiB description, `dense_type_description`), whose calls it
//                 never answers, and 252 methods `fill_N` with that type both ways: the largest
//                 announcement a plugin can make (about 8 MiB)
#include "supervised_api.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/connection/type_description.hpp>
#include <airlock/connection/type_spec.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include "../../../support/raw_plugin.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <sys/resource.h>

#include <vector>

using namespace airlock;
namespace wire = airlock::protocol;

namespace {

int fail(const char* what, const Status& status) {
    std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
    return 2;
}

/// The valid description with the most type nodes per byte, up to 16384 bytes: structs of 255
/// `fd` members with one- and two-letter names (about 5.5 bytes a node), each nesting the next.
std::string dense_type_description() {
    const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    std::string text;
    int depth = 0;
    for (bool full = false; !full;) {
        text += "struct S{";
        ++depth;
        for (std::size_t m = 0; m < 255; ++m) {
            if (text.size() + 8 + depth > kMaxTypeDescriptionLength) {
                full = true;
                break;
            }
            text += letters[m % letters.size()];
            if (m >= letters.size()) text += letters[m / letters.size()];
            text += ":fd,";
        }
        if (!full) text += "zz:";
    }
    text.pop_back();  // the last ','
    text.append(static_cast<std::size_t>(depth), '}');
    return text;
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
    if (mode == "print-nofile") {
        // Its open-file limit as it got it, then it serves like "serve".
        rlimit nofile{};
        ::getrlimit(RLIMIT_NOFILE, &nofile);
        std::printf("nofile %llu %llu\n", static_cast<unsigned long long>(nofile.rlim_cur),
                    static_cast<unsigned long long>(nofile.rlim_max));
        std::fflush(stdout);
    }
    const bool ignore_stop = mode == "ignore-stop";
    if (ignore_stop) {
        ::signal(SIGTERM, SIG_IGN);
        ::signal(SIGINT, SIG_IGN);
    }
    Connection connection(wire::plugin_host_protocol());
    if (auto start = test_support::start_raw_plugin(connection, fd_text); start.step) return fail(start.step, start.status);

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
    std::vector<RawPendingReply> held;  // heavy-types: `hold` calls, never answered
    (void)session.on_raw(wire::kFirstApplicationTag + 3, [&held](Message&, CallSession::Responder& respond) -> Status {
        held.push_back(respond.pend());
        return {};
    });
    (void)session.on_raw(wire::kFirstApplicationTag, [&mode, &connection](Message& request, CallSession::Responder& respond) -> Status {
        if (mode == "violate-on-echo") ::syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
        if (mode == "flood-on-echo") {
            std::vector<std::uint8_t> body;
            std::vector<int> no_fds;
            const wire::LogRecord record{wire::LogLevel::Info, std::string(200, 'f')};
            if (Status s = encode_value(record, body, no_fds); !s.ok()) return s;
            for (;;) {
                Status s = connection.send(OutgoingMessage{wire::log_record.tag, MessageKind::OneWay, 0, body, no_fds});
                if (!s.ok()) return s;
            }
        }
        return respond.send(request.body, {});
    });
    const std::uint16_t inspect_tag = wire::kFirstApplicationTag + 1;
    const std::uint16_t work_tag = wire::kFirstApplicationTag + 2;
    (void)session.on(Method<supervised::InspectRequest, supervised::InspectReply>{inspect_tag, "inspect"},
                     [](supervised::InspectRequest& request) {
                         struct stat st {};
                         if (::fstat(request.file.get(), &st) != 0) return supervised::InspectReply{};
                         return supervised::InspectReply{static_cast<std::uint64_t>(st.st_dev),
                                                         static_cast<std::uint64_t>(st.st_ino)};
                     });
    // A call to the host from inside a handler: the host answers progress while it waits for
    // this reply.
    (void)session.on(Method<supervised::WorkRequest, supervised::WorkReply>{work_tag, "work"},
                     [&session](supervised::WorkRequest& request) {
                         supervised::WorkReply reply;
                         for (std::uint32_t step = 1; step <= request.steps; ++step) {
                             std::this_thread::sleep_for(std::chrono::milliseconds(request.step_ms));
                             auto ack = session.call(wire::progress,
                                                     wire::ProgressReport{"work", step, request.steps, "step done"},
                                                     std::chrono::seconds(5));
                             if (!ack) continue;
                             ++reply.acknowledged;
                             reply.host_count = ack->reports;
                         }
                         return reply;
                     });
    wire::ReadyNotice ready;
    auto announce = [&](const char* name, std::uint16_t tag, std::string request_type, std::string reply_type) {
        wire::MethodAnnouncement method;
        method.name = name;
        method.tag = tag;
        method.request_type = std::move(request_type);
        method.reply_type = std::move(reply_type);
        ready.methods.push_back(std::move(method));
    };
    // Raw bytes in and out: the request body comes back as the reply body.
    announce("echo", wire::kFirstApplicationTag, "bytes<16777216>", "bytes<16777216>");
    announce("inspect", inspect_tag, describe(spec_of<supervised::InspectRequest>()),
             describe(spec_of<supervised::InspectReply>()));
    announce("work", work_tag, describe(spec_of<supervised::WorkRequest>()), describe(spec_of<supervised::WorkReply>()));
    if (mode == "hold") announce("hold", wire::kFirstApplicationTag + 3, "bool", "bool");
    if (mode == "heavy-types") {
        const std::string dense = dense_type_description();
        announce("hold", wire::kFirstApplicationTag + 3, "bool", dense);
        for (std::uint16_t i = 0; ready.methods.size() < ready.methods.max_length; ++i)
            announce(("fill_" + std::to_string(i)).c_str(), static_cast<std::uint16_t>(wire::kFirstApplicationTag + 4 + i),
                     dense, dense);
    }
    if (Status s = session.notify(wire::ready, ready); !s.ok()) return fail("ready", s);
    (void)session.notify(wire::log_record, wire::LogRecord{wire::LogLevel::Info, "serving in mode " + mode});
    std::printf("pid %d serving\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
    if (mode == "self-stop") {
        (void)session.poll_once(std::chrono::milliseconds(100));  // let the host see ready first
        std::printf("raise(SIGSTOP) = %d\n", ::raise(SIGSTOP));  // printed only if it resumes
        std::fflush(stdout);
    }
    if (mode == "spam") {
        std::vector<std::uint8_t> body;
        std::vector<int> no_fds;
        const wire::ProgressReport report{"spam", 1, 2, std::string(500, 's')};
        if (Status s = encode_value(report, body, no_fds); !s.ok()) return fail("encode", s);
        connection.set_timeout(std::nullopt);
        for (std::uint32_t id = 1 << 20;; ++id) {
            Status s = connection.send(OutgoingMessage{wire::progress.tag, MessageKind::Request, id, body, no_fds});
            if (!s.ok()) return fail("spam", s);
        }
    }
    if (mode == "lines") {
        const long count = argc > 2 ? std::atol(argv[2]) : 1000;
        const std::string filler(1000, 'l');
        for (long i = 0; i < count; ++i) std::printf("line %ld %s\n", i, filler.c_str());
        std::printf("wrote %ld lines\n", count);
        std::fflush(stdout);
    }
    if (mode == "flood") {
        const std::string line(3000, 'f');
        for (;;) std::printf("%s\n", line.c_str());
    }
    if (mode == "oom") {
        (void)session.poll_once(std::chrono::milliseconds(100));  // let the host see ready first
        const int fd = ::memfd_create("oom", MFD_CLOEXEC);
        const std::vector<char> chunk(1 << 20, 'o');
        while (fd >= 0 && ::write(fd, chunk.data(), chunk.size()) > 0) {
        }
        return 3;
    }
    if (mode == "violate") {
        (void)session.poll_once(std::chrono::milliseconds(100));  // let the host see ready first
        ::syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
        std::printf("still alive after ptrace\n");
        return 5;
    }
    if (mode == "violate-flood") {
        (void)session.poll_once(std::chrono::milliseconds(100));  // let the host see ready first
        const long count = argc > 2 ? std::atol(argv[2]) : 1000;
        long refused = 0;
        for (long i = 0; i < count; ++i) {
            if (::syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) < 0 && errno == EPERM) ++refused;
        }
        std::printf("refused %ld of %ld\n", refused, count);
        std::fflush(stdout);
        if (argc > 3 && std::string(argv[3]) == "exit") return 0;
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
