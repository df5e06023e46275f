// Plugin: adopting the host connection, the grant table, method registration and serving.
#include <airlock/plugin/plugin.hpp>

#include <airlock/connection/connection.hpp>
#include <airlock/connection/type_spec.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace airlock::plugin {
namespace {

namespace wire = airlock::protocol;

// How long the handshake and the grant table may take: the host sends both at once.
constexpr auto kStartTimeout = std::chrono::seconds(30);
// How long to flush replies after a stop request when the host gave no timeout.
constexpr auto kDefaultStopFlush = std::chrono::seconds(5);
constexpr std::size_t kMaxLogText = 4096;

UniqueFd connection_fd_from_environment() {
    const char* text = std::getenv(wire::kConnectionFdVariable);
    if (text == nullptr) {
        throw PluginError(PluginErrorKind::NotUnderHost,
                          std::string(wire::kConnectionFdVariable) +
                              " is not set: this program is an Airlock plugin and must be started by "
                              "airlock-host (e.g. `airlock-host exec CONFIG PLUGIN`), which hands it its connection");
    }
    int fd = -1;
    const char* end = text + std::strlen(text);
    auto [last, error] = std::from_chars(text, end, fd);
    if (error != std::errc() || last != end || fd < 0) {
        throw PluginError(PluginErrorKind::NotUnderHost, std::string(wire::kConnectionFdVariable) + "=\"" + text +
                                                             "\" is not a descriptor number; start the plugin with airlock-host");
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) {
        throw PluginError(PluginErrorKind::NotUnderHost,
                          std::string(wire::kConnectionFdVariable) + "=" + text + " is not " +
                              (::fcntl(fd, F_GETFD) < 0 ? "an open descriptor" : "a socket") +
                              ": this program is an Airlock plugin and must be started by airlock-host");
    }
    return UniqueFd(fd);
}

UniqueFd duplicate(const wire::GrantEntry& grant) {
    UniqueFd copy(::fcntl(grant.fd.get(), F_DUPFD_CLOEXEC, 3));
    if (!copy) {
        throw PluginError(PluginErrorKind::System,
                          "cannot duplicate the descriptor of grant \"" + grant.name + "\": " + std::strerror(errno));
    }
    return copy;
}

} // namespace

struct Plugin::State {
    explicit State() : connection(wire::plugin_host_protocol()), session(connection) {}
    Connection connection;
    CallSession session;
    std::string name;
    std::vector<wire::GrantEntry> grant_entries;
    std::vector<GrantInfo> grants;
    std::vector<MethodInfo> methods;
    bool running = false;
    bool stop_requested = false;
    std::chrono::milliseconds stop_flush = kDefaultStopFlush;

    const wire::GrantEntry& find_grant(std::string_view grant, const char* wanted) const {
        for (const auto& entry : grant_entries) {
            if (entry.name == grant) return entry;
        }
        std::string granted;
        for (const auto& entry : grant_entries) granted += (granted.empty() ? "" : ", ") + entry.name;
        throw PluginError(PluginErrorKind::GrantNotFound,
                          "grant \"" + std::string(grant) + "\" (wanted as " + wanted + ") is not granted to plugin \"" +
                              name + "\"; granted: " + (granted.empty() ? "nothing" : granted) +
                              ". Add it under [plugin." + name + ".grants] in the host's config");
    }

    [[noreturn]] void wrong_kind(const wire::GrantEntry& entry, const char* wanted, const char* needs) const {
        throw PluginError(PluginErrorKind::WrongGrantKind,
                          "grant \"" + entry.name + "\" is a " + wire::grant_kind_name(entry.kind) + " grant with access \"" +
                              wire::grant_access_name(entry.access) + "\", not " + wanted + " (which needs " + needs + ")");
    }
};

Plugin::Plugin() : Plugin(connection_fd_from_environment()) {}

Plugin::Plugin(UniqueFd connection) : state_(std::make_unique<State>()) {
    State& s = *state_;
    s.connection.set_timeout(std::chrono::milliseconds(kStartTimeout));
    if (Status status = s.connection.set_fd(ConnectionMode::Pair, std::move(connection)); !status.ok()) {
        throw PluginError(PluginErrorKind::NotUnderHost,
                          "the connection descriptor is not a host connection (" + status.message() +
                              "); start the plugin with airlock-host");
    }
    if (Status status = s.connection.establish(); !status.ok()) {
        throw PluginError(PluginErrorKind::Connection, "handshake with the host failed: " + status.to_string());
    }
    Result<wire::GrantTable> table = s.connection.receive_value<wire::GrantTable>(wire::grant_table.tag);
    if (!table) {
        throw PluginError(PluginErrorKind::Connection,
                          "did not receive the grant table from the host: " + table.status().to_string());
    }
    s.connection.set_timeout(std::nullopt);
    s.name = table->plugin_name;
    for (auto& entry : table->grants) {
        s.grants.push_back(GrantInfo{entry.name, entry.kind, entry.access, entry.size});
        s.grant_entries.push_back(std::move(entry));
    }
    (void)s.session.on(wire::stop, [this](wire::StopRequest& request) {
        state_->stop_requested = true;
        if (request.timeout_ms > 0) state_->stop_flush = std::chrono::milliseconds(request.timeout_ms);
        return wire::StopReply{0};
    });
}

Plugin::~Plugin() = default;

const std::string& Plugin::name() const noexcept { return state_->name; }
const std::vector<GrantInfo>& Plugin::grants() const noexcept { return state_->grants; }

int Plugin::grant_fd(std::string_view name) const noexcept {
    for (const auto& entry : state_->grant_entries)
        if (entry.name == name) return entry.fd.get();
    return -1;
}
const std::vector<MethodInfo>& Plugin::methods() const noexcept { return state_->methods; }
CallSession& Plugin::session() noexcept { return state_->session; }

bool Plugin::has_grant(std::string_view name) const noexcept {
    for (const auto& grant : state_->grants) {
        if (grant.name == name) return true;
    }
    return false;
}

ReadOnlyFile Plugin::read_only_file(std::string_view grant) {
    const auto& entry = state_->find_grant(grant, "a read-only file");
    if (entry.kind != wire::GrantKind::File ||
        (entry.access != wire::GrantAccess::Read && entry.access != wire::GrantAccess::ReadWrite)) {
        state_->wrong_kind(entry, "a read-only file", "file = \"...\" with access = \"read\"");
    }
    return ReadOnlyFile(entry.name, duplicate(entry));
}

Directory Plugin::directory(std::string_view grant) {
    const auto& entry = state_->find_grant(grant, "a directory");
    if (entry.kind != wire::GrantKind::Directory) state_->wrong_kind(entry, "a directory", "dir = \"...\"");
    return Directory(entry.name, duplicate(entry), entry.access == wire::GrantAccess::ReadWrite);
}

AppendLog Plugin::append_log(std::string_view grant) {
    const auto& entry = state_->find_grant(grant, "an append-only log");
    if (entry.kind != wire::GrantKind::File || entry.access != wire::GrantAccess::Append) {
        state_->wrong_kind(entry, "an append-only log", "file = \"...\" with access = \"append\"");
    }
    return AppendLog(entry.name, duplicate(entry));
}

ConnectedSocket Plugin::connected_socket(std::string_view grant) {
    const auto& entry = state_->find_grant(grant, "a connected socket");
    if (entry.kind != wire::GrantKind::Connect) state_->wrong_kind(entry, "a connected socket", "connect = \"...\"");
    return ConnectedSocket(entry.name, duplicate(entry));
}

SharedMemory Plugin::shared_memory(std::string_view grant) {
    const auto& entry = state_->find_grant(grant, "shared memory");
    if (entry.kind != wire::GrantKind::Memfd) state_->wrong_kind(entry, "a shared-memory buffer", "memfd = \"SIZE\"");
    return SharedMemory(entry.name, duplicate(entry));
}

void Plugin::add_method(std::string_view name, const TypeSpec& request, const TypeSpec& reply,
                        CallSession::RawHandler handler) {
    State& s = *state_;
    if (s.running) {
        throw PluginError(PluginErrorKind::RegistrationClosed,
                          "method \"" + std::string(name) +
                              "\" registered after run(): register every handler before calling run()");
    }
    if (name.empty() || name.size() > 64) {
        throw PluginError(PluginErrorKind::InvalidArgument,
                          "method name \"" + std::string(name) + "\" must be 1 to 64 bytes long");
    }
    for (const auto& method : s.methods) {
        if (method.name == name) {
            throw PluginError(PluginErrorKind::DuplicateHandler,
                              "method \"" + std::string(name) + "\" is already registered (a method has one handler)");
        }
    }
    if (s.methods.size() >= 256) {
        throw PluginError(PluginErrorKind::InvalidArgument, "a plugin serves at most 256 methods");
    }
    const auto tag = static_cast<std::uint16_t>(wire::kFirstApplicationTag + s.methods.size());
    if (Status status = s.session.on_raw(tag, std::move(handler)); !status.ok()) {
        throw PluginError(PluginErrorKind::InvalidArgument,
                          "cannot register method \"" + std::string(name) + "\": " + status.to_string());
    }
    s.methods.push_back(MethodInfo{std::string(name), tag, describe(request), describe(reply)});
}

void Plugin::log(LogLevel level, std::string_view text) {
    wire::LogRecord record;
    record.level = level;
    record.text = std::string(text.substr(0, kMaxLogText));
    (void)state_->session.notify(wire::log_record, record);
}

Status Plugin::progress(std::string_view task, std::uint64_t done, std::uint64_t total, std::string_view message) {
    wire::ProgressReport report;
    report.task = std::string(task.substr(0, report.task.max_length));
    report.done = done;
    report.total = total;
    report.message = std::string(message.substr(0, report.message.max_length));
    // Not waiting for the acknowledgement keeps handlers strictly one at a time: a blocking
    // call would serve the host's next request nested inside the current handler.
    return state_->session.call_async(wire::progress, report, [](Result<wire::ProgressAck>) {});
}

int Plugin::run() {
    State& s = *state_;
    if (s.running) throw PluginError(PluginErrorKind::RegistrationClosed, "run() was called twice");
    s.running = true;

    wire::ReadyNotice ready;
    ready.methods = s.methods;
    if (Status status = s.session.notify(wire::ready, ready); !status.ok()) {
        std::fprintf(stderr, "airlock plugin %s: cannot report ready: %s\n", s.name.c_str(), status.to_string().c_str());
        return 1;
    }

    while (!s.stop_requested) {
        Status status = s.session.poll_once();
        if (!status.ok() && s.connection.state() == ConnectionState::Closed) {
            std::fprintf(stderr, "airlock plugin %s: the host closed the connection without a stop request: %s\n",
                         s.name.c_str(), status.to_string().c_str());
            return 1;
        }
    }
    // Calls received before (or together with) the stop request are answered too.
    (void)s.session.dispatch_pending();
    // Replies still owed by asynchronous handlers, then the queued ones, bounded by the host's
    // stop timeout.
    const auto deadline = std::chrono::steady_clock::now() + s.stop_flush;
    while (s.session.deferred_replies() > 0 && s.connection.state() != ConnectionState::Closed) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        (void)s.session.poll_once(left);
    }
    while (s.connection.wants_write() && s.connection.state() != ConnectionState::Closed) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd entry{s.connection.fd(), POLLOUT, 0};
        if (::poll(&entry, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
        if (Status status = s.connection.on_writable(); !status.ok()) break;
    }
    return 0;
}

} // namespace airlock::plugin
