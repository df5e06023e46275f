// A protocol "airlock" plugin written directly against the connection library (no SDK):
// adopts the connection named by AIRLOCK_CONNECTION_FD, receives the grant table, reports
// the content of the read-only file grant named by argv[1] in a log record, reports ready
// and serves until the host's stop request, then exits 0.
//
//   airlock-test-plugin GRANT            the behaviour above
//   airlock-test-plugin --wrong-protocol speaks "airlock.plugin/0" instead (exits 3)
#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace airlock;
namespace wire = airlock::protocol;

namespace {

struct Nothing {
    std::uint8_t unused = 0;
};
AIRLOCK_STRUCT(Nothing, unused)

const Protocol& wrong_protocol() {
    static const Protocol p = Protocol("airlock.plugin/0").add(Notification<Nothing>{1, "nothing"});
    return p;
}

int fail(const char* what, const Status& status) {
    std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
    return 2;
}

std::string read_all(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t size;
    while ((size = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()))) > 0) {
        text.append(buffer, static_cast<std::size_t>(size));
    }
    return text;
}

} // namespace

int main(int argc, char** argv) {
    const char* fd_text = std::getenv(wire::kConnectionFdVariable);
    if (!fd_text || argc < 2) {
        std::fprintf(stderr, "usage: run under airlock-host with protocol \"airlock\": %s GRANT\n", argv[0]);
        return 64;
    }
    const bool wrong = std::strcmp(argv[1], "--wrong-protocol") == 0;
    Connection connection(wrong ? wrong_protocol() : wire::plugin_host_protocol());
    connection.set_timeout(std::chrono::seconds(10));
    if (Status s = connection.set_fd(ConnectionMode::Pair, UniqueFd(std::atoi(fd_text))); !s.ok()) return fail("adopt", s);
    if (Status s = connection.establish(); !s.ok()) {
        (void)fail("handshake", s);
        return 3;
    }
    if (wrong) return 4;  // the host accepted a protocol it does not speak

    Result<wire::GrantTable> table = connection.receive_value<wire::GrantTable>(wire::grant_table.tag);
    if (!table) return fail("grant table", table.status());

    CallSession session(connection);
    std::string report = "plugin " + table->plugin_name + ": grant " + argv[1] + " not found";
    for (const wire::GrantEntry& grant : table->grants) {
        if (grant.name != argv[1]) continue;
        const int flags = ::fcntl(grant.fd.get(), F_GETFL);
        const bool read_only = flags >= 0 && (flags & O_ACCMODE) == O_RDONLY;
        report = "plugin " + table->plugin_name + ": grant " + grant.name + " (" +
                 (grant.kind == wire::GrantKind::File ? "file" : "not a file") + ", " +
                 (grant.access == wire::GrantAccess::Read && read_only ? "read-only" : "NOT read-only") +
                 ", " + std::to_string(grant.size) + " bytes): " + read_all(grant.fd.get());
    }
    bool stopping = false;
    if (Status s = session.on(wire::stop, [&](wire::StopRequest&) {
            stopping = true;
            return wire::StopReply{0};
        });
        !s.ok())
        return fail("stop handler", s);
    wire::ReadyNotice ready;  // no application methods: this plugin serves only `stop`
    if (Status s = session.notify(wire::ready, ready); !s.ok()) return fail("ready", s);
    // After ready, so that a host printing this line has already seen the plugin ready.
    if (Status s = session.notify(wire::log_record, wire::LogRecord{wire::LogLevel::Info, report}); !s.ok())
        return fail("log", s);

    while (!stopping) {
        if (Status s = session.poll_once(); !s.ok()) return fail("serving", s);
    }
    (void)session.notify(wire::log_record, wire::LogRecord{wire::LogLevel::Info, "stopping on request"});
    return 0;
}
