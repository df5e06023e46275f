// journal: appends records to the append-only grant "journal". The grant is O_WRONLY|O_APPEND,
// so history cannot be rewritten: "rewrite" tries anyway and reports what the kernel and the
// sandbox answered (a demonstration, and what the test checks).
#include "journal_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace {

std::int64_t outcome(long result) { return result < 0 ? -static_cast<std::int64_t>(errno) : result; }

} // namespace

int main() {
    airlock::plugin::Plugin plugin;
    const airlock::plugin::AppendLog log = plugin.append_log("journal");
    std::uint64_t records = 0;
    plugin.on<journal::AppendRequest, journal::AppendReply>("append", [&](journal::AppendRequest& request) {
        if (request.record.find('\n') != std::string::npos) throw std::invalid_argument("a record is one line");
        log.append(request.record + "\n");
        return journal::AppendReply{++records};
    });
    plugin.on<journal::RewriteRequest, journal::RewriteReply>("rewrite", [&](journal::RewriteRequest& request) {
        journal::RewriteReply reply;
        const std::string forged = request.forged + "\n";
        reply.pwrite_at_0 = outcome(::pwrite(log.fd(), forged.data(), forged.size(), 0));
        long seek = ::lseek(log.fd(), 0, SEEK_SET);
        reply.seek_to_0 = seek < 0 ? outcome(seek) : outcome(::write(log.fd(), forged.data(), forged.size()));
        return reply;
    });
    plugin.on<journal::TruncateRequest, journal::RewriteReply>("truncate", [&](journal::TruncateRequest& request) {
        journal::RewriteReply reply;
        reply.pwrite_at_0 = outcome(::ftruncate(log.fd(), static_cast<off_t>(request.length)));
        return reply;
    });
    return plugin.run();
}
