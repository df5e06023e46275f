// PluginSession: the host side of protocol "airlock.plugin/1" for one plugin process.
#include <airlock/host/plugin_session.hpp>

#include <airlock/connection/dynamic_value.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include <set>
#include <string_view>

namespace airlock::host {
namespace {

constexpr std::size_t kMaxQueuedForPlugin = std::size_t{32} << 20;
// Descriptors one message from a plugin may carry. The host holds those of a message until its
// last packet arrives, with no deadline, so this also bounds what a plugin that never finishes
// a message can make the host keep open (the library default, 4096, would let a few plugins
// take the host's whole open-file limit). No host-bound message needs more than a few.
constexpr std::size_t kMaxFdsFromPlugin = 64;

bool valid_method_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

} // namespace

Status check_method_announcements(const protocol::ReadyNotice& ready) {
    std::set<std::string_view> names;
    std::set<std::uint16_t> tags;
    for (std::size_t i = 0; i < ready.methods.size(); ++i) {
        const protocol::MethodAnnouncement& method = ready.methods[i];
        // json_quote masks control characters: the name comes from the plugin.
        const std::string who = "announced method " + std::to_string(i) + " " + json_quote(method.name);
        auto invalid = [&](const std::string& why) { return Status(StatusCode::InvalidParameter, who + ": " + why); };
        if (!valid_method_name(method.name)) return invalid("a method name is 1 to 64 bytes of A-Z a-z 0-9 _ . -");
        if (method.tag < protocol::kFirstApplicationTag) {
            return invalid("tag " + std::to_string(method.tag) + " is below the application range (" +
                           std::to_string(protocol::kFirstApplicationTag) + " and up)");
        }
        if (!names.insert(method.name).second) return invalid("the name is announced twice");
        if (!tags.insert(method.tag).second) return invalid("tag " + std::to_string(method.tag) + " is announced twice");
        if (auto parsed = ParsedType::parse(method.request_type); !parsed) {
            return invalid("request type: " + parsed.status().message());
        }
        if (auto parsed = ParsedType::parse(method.reply_type); !parsed) {
            return invalid("reply type: " + parsed.status().message());
        }
    }
    return {};
}

protocol::GrantTable take_grant_table(SpawnedPlugin& plugin) {
    protocol::GrantTable table;
    table.plugin_name = plugin.name;
    for (OpenedGrant& grant : plugin.grants_to_send) {
        protocol::GrantEntry entry;
        entry.name = grant.name;
        entry.kind = grant.kind;
        entry.access = grant.access;
        struct stat info {};
        if ((grant.kind == GrantKind::File || grant.kind == GrantKind::Memfd) && ::fstat(grant.fd.get(), &info) == 0) {
            entry.size = static_cast<std::uint64_t>(info.st_size);
        }
        entry.fd = std::move(grant.fd);
        table.grants.push_back(std::move(entry));
    }
    plugin.grants_to_send.clear();
    return table;
}

static_assert(POLLIN == 0x001, "PluginSession::drain() assumes POLLIN is 1");

PluginSession::PluginSession(SpawnedPlugin& plugin, const SupervisionConfig& timeouts, Callbacks callbacks)
    : plugin_(plugin),
      timeouts_(timeouts),
      callbacks_(std::move(callbacks)),
      connection_(protocol::plugin_host_protocol()),
      session_(connection_),
      log_pump_(plugin.name),
      ready_deadline_(Clock::now() + timeouts.ready_timeout) {
    (void)session_.on(protocol::ready, [this](protocol::ReadyNotice& notice) {
        if (phase_ != Phase::WaitingReady) return;
        if (Status valid = check_method_announcements(notice); !valid.ok()) {
            refuse("invalid ready notice: " + valid.message(), valid.code());
            return;
        }
        methods_ = std::make_shared<const std::vector<protocol::MethodAnnouncement>>(
            std::make_move_iterator(notice.methods.begin()), std::make_move_iterator(notice.methods.end()));
        phase_ = Phase::Ready;
        if (callbacks_.ready) callbacks_.ready();
    });
    (void)session_.on(protocol::log_record, [this](protocol::LogRecord& record) { print_log(record); });
    (void)session_.on(protocol::progress, [this](protocol::ProgressReport& report) {
        ++progress_reports_;
        if (callbacks_.progress) callbacks_.progress(report);
        return protocol::ProgressAck{progress_reports_};
    });
    // Replies no call waits for are dropped at once (never kept for a later call): logged at
    // the first and every 1000th, so a flood of them is visible but does not flood the log.
    session_.on_stray_reply([this](CallId call_id, std::uint64_t count) {
        if (count != 1 && count % 1000 != 0) return;
        report("dropped a reply to call " + std::to_string(call_id) +
               ", which no call of the host waits for (it timed out or was cancelled, was answered "
               "already, or was never made); " + std::to_string(count) + " such replies so far, logged at the "
               "first and every 1000th");
    });
    // Notifications the host has no handler for: dropped at once, logged the same way.
    session_.on_unhandled_notification([this](std::uint16_t tag, std::uint64_t count) {
        if (count != 1 && count % 1000 != 0) return;
        report("dropped a notification with tag " + std::to_string(tag) + ", which the host does not take from "
               "plugins; " + std::to_string(count) + " such notifications so far, logged at the first and every 1000th");
    });
    // What the host holds for a plugin that does not read: replies to its own requests and
    // the host's calls. Bulk data travels in shared memory, so this is generous.
    connection_.set_max_queued_bytes(kMaxQueuedForPlugin);
    (void)connection_.set_max_message_fds(kMaxFdsFromPlugin);
    // What one unfinished message of the plugin can make the host hold (key max_message_size).
    (void)connection_.set_max_message_size(timeouts.max_message_size);
    Status status = connection_.set_fd(ConnectionMode::Pair, std::move(plugin.connection));
    if (status.ok()) status = connection_.start();
    if (!status.ok()) refuse("cannot start the connection: " + status.message(), status.code());
}

PluginSession::~PluginSession() { session_.fail_pending(Status(StatusCode::Cancelled, "the plugin session ended")); }

int PluginSession::fd() const { return connection_.fd(); }
bool PluginSession::wants_write() const { return connection_.wants_write(); }
short PluginSession::events() const { return static_cast<short>(POLLIN | (connection_.wants_write() ? POLLOUT : 0)); }

// Everything a plugin's bytes set off runs from here: decoding, the handlers and the owner's
// callbacks. An exception (std::bad_alloc, a bug) fails this plugin, never the owner's loop.
void PluginSession::on_events(short revents) {
    try {
        handle_events(revents);
    } catch (const std::exception& error) {
        refuse(std::string("internal error while handling its messages: ") + error.what(), StatusCode::SystemError);
    } catch (...) {
        refuse("internal error while handling its messages: unknown exception", StatusCode::SystemError);
    }
}

void PluginSession::handle_events(short revents) {
    if (connection_.state() == ConnectionState::Closed) return;
    if ((revents & POLLOUT) != 0) (void)connection_.on_writable();
    if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) (void)connection_.on_readable();
    if (phase_ == Phase::Handshaking && connection_.state() == ConnectionState::Ready) after_handshake();
    if (phase_ == Phase::Refused) return;
    Status status = session_.dispatch_pending();
    if (connection_.state() == ConnectionState::Closed) connection_closed(status.ok() ? connection_.close_reason() : status);
}

void PluginSession::check_deadline(Clock::time_point now) {
    if (waiting_for_ready() && now >= ready_deadline_) {
        refuse("did not report ready within " + std::to_string(timeouts_.ready_timeout.count()) + " ms", StatusCode::Timeout);
    }
}

std::optional<PluginSession::Clock::time_point> PluginSession::deadline() const {
    if (waiting_for_ready()) return ready_deadline_;
    return std::nullopt;
}

bool PluginSession::request_stop() {
    if (phase_ != Phase::Ready) return false;
    protocol::StopRequest request;
    request.timeout_ms = static_cast<std::uint32_t>(timeouts_.stop_timeout.count());
    Status status = session_.call_async(protocol::stop, request, [](Result<protocol::StopReply>) {
        // The reply (or the connection closing as the plugin exits) needs no action:
        // the pidfd tells when it has gone.
    });
    if (!status.ok()) return false;
    phase_ = Phase::Stopping;
    return true;
}

Result<CallId> PluginSession::call_raw_async(std::uint16_t tag, std::span<const std::uint8_t> body,
                                             std::span<const int> fds, CallSession::RawCompletion done,
                                             std::optional<std::chrono::milliseconds> timeout) {
    if (phase_ != Phase::Ready) return Status(StatusCode::InvalidState, "the plugin is not ready");
    return session_.start_call_raw(tag, body, fds, std::move(done), airlock::CallOptions{timeout});
}

Result<Connection> PluginSession::release_connection() {
    if (phase_ != Phase::Ready) return Status(StatusCode::InvalidState, "the plugin is not ready");
    phase_ = Phase::Closed;
    return std::move(connection_);
}

void PluginSession::close(const Status& reason) {
    session_.fail_pending(reason);
    if (connection_.state() != ConnectionState::Closed) connection_.close();
    if (phase_ != Phase::Refused) phase_ = Phase::Closed;
}

void PluginSession::after_handshake() {
    Result<SecurityToken> token = connection_.peer_token();
    if (!token) {
        refuse("cannot identify the peer: " + token.status().message(), token.status().code());
        return;
    }
    if (token->pid != plugin_.process.pid()) {
        refuse("the connection's peer is pid " + std::to_string(token->pid) + ", not the spawned plugin",
               StatusCode::PermissionDenied);
        return;
    }
    protocol::GrantTable table = take_grant_table(plugin_);
    // queue() duplicates the descriptors; the host's copies close with `table`.
    if (Status status = session_.notify(protocol::grant_table, table); !status.ok()) {
        refuse("cannot send the grant table: " + status.message(), status.code());
        return;
    }
    phase_ = Phase::WaitingReady;
}

void PluginSession::connection_closed(const Status& reason) {
    if (phase_ == Phase::Refused || phase_ == Phase::Closed) return;
    // Anything but an orderly close is the plugin breaking the protocol (garbage, a message
    // over the limits, not reading what it asked for): in any phase it does not run on.
    if (!reason.ok() && reason.code() != StatusCode::PeerClosed && reason.code() != StatusCode::EndOfStream) {
        refuse(reason.message(), reason.code());
        return;
    }
    session_.fail_pending(reason.ok() ? Status(StatusCode::PeerClosed, "the plugin closed the connection") : reason);
    if (waiting_for_ready()) report("connection closed before the plugin reported ready");
    phase_ = Phase::Closed;
}

// The plugin does not get to run on: report why and kill it.
// Killed first, reported last: the refusal holds even if reporting fails.
void PluginSession::refuse(const std::string& why, StatusCode code) {
    refusal_ = why;
    refusal_code_ = code;
    phase_ = Phase::Refused;
    // Before the close: a plugin that saw its connection end first could exit on its own
    // (below a PID namespace's init its own exit is reported faithfully).
    plugin_.process.send_signal(SIGKILL);
    connection_.close();
    session_.fail_pending(Status(StatusCode::Cancelled, "the plugin was refused: " + why));
    report("refused: " + why);
}

void PluginSession::report(const std::string& text) {
    // Also called from on_events()'s handler: what the owner does with it must not throw past here.
    try {
        if (callbacks_.report) callbacks_.report(text);
    } catch (...) {
    }
}

void PluginSession::print_log(const protocol::LogRecord& record) {
    if (callbacks_.log_record) callbacks_.log_record(record);
    if (!callbacks_.log_line) return;
    std::string text = record.text;
    if (record.level != protocol::LogLevel::Info) {
        text = std::string(protocol::log_level_name(record.level)) + ": " + text;
    }
    text += '\n';
    // A pump of its own bounds and masks the text like the plugin's output.
    log_pump_.feed(OutputStream::Stderr, text.data(), text.size());
    for (const auto& line : log_pump_.take_pending()) {
        if (callbacks_.log_line) callbacks_.log_line(log_pump_.format(line));
    }
}

} // namespace airlock::host
