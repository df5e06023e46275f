// airlockctl: operates a running airlock-host through its control socket.
#include "units.hpp"  // host/src/config: durations in the config's syntax ("2s", "500ms")

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/printable_text.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace control = airlock::protocol::control;
using airlock::StatusCode;

constexpr const char* kUsage =
    "usage: airlockctl [--socket PATH] [--host-user USER] COMMAND\n"
    "\n"
    "commands:\n"
    "  status [--json] [NAME]      state, pid, uptime, restarts, counters (calls, errors,\n"
    "                              violations, bytes in/out), last exit and violation\n"
    "  metrics                     the counters in the Prometheus text format\n"
    "  start NAME                  start a plugin that is not running\n"
    "  stop NAME                   stop a plugin gracefully (no restart follows)\n"
    "  restart NAME                stop a plugin, then start it again\n"
    "  logs NAME [--follow]        recent log lines; --follow keeps printing new ones\n"
    "  describe NAME               the plugin's methods and their request/reply types\n"
    "  call [--timeout DURATION] [--wait[=DURATION]] NAME METHOD JSON\n"
    "                              call a method with a JSON request ('-' reads stdin);\n"
    "                              prints the reply as JSON (default timeout: the\n"
    "                              plugin's call_timeout); --wait first waits until the\n"
    "                              plugin is ready (default 30s), and for the host's\n"
    "                              socket if the host is still starting\n"
    "\n"
    "Durations as in the config: 500ms, 2s, 1m, 1h. A bare number for --timeout is still read as\n"
    "milliseconds, with a warning (deprecated).\n"
    "The socket is --socket PATH, else $AIRLOCK_CONTROL_SOCKET, else /run/airlock/control.sock.\n"
    "Only a socket served by root or this user is sent anything; --host-user USER (a name or\n"
    "uid) trusts a host run as that dedicated user too.\n"
    "Exit codes (sysexits.h): 0 ok, 64 usage, 65 bad JSON/value, 66 unknown plugin or method,\n"
    "69 host or plugin unavailable, 70 internal/plugin failure, 75 timeout, 76 protocol error,\n"
    "77 permission denied.\n";

/// The uid of a user name or number, if there is such a user (a number is taken as it is).
std::optional<uid_t> user_id_of(const std::string& name) {
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        errno = 0;
        char* end = nullptr;
        const unsigned long value = std::strtoul(name.c_str(), &end, 10);
        if (errno == 0 && *end == '\0' && value < static_cast<unsigned long>(static_cast<uid_t>(-1)))
            return static_cast<uid_t>(value);
        return std::nullopt;
    }
    const passwd* entry = ::getpwnam(name.c_str());
    if (!entry) return std::nullopt;
    return entry->pw_uid;
}

/// Whether `arg` is option `name`, as "--name" or "--name=VALUE".
bool is_option(const std::string& arg, const std::string& name) {
    return arg == name || arg.rfind(name + "=", 0) == 0;
}

/// The value of option `name` at args[i]: "--name=VALUE", or "--name VALUE" (then `i` moves
/// past the value); nothing when "--name" is the last argument.
std::optional<std::string> option_value(const std::vector<std::string>& args, std::size_t& i, const std::string& name) {
    if (args[i] != name) return args[i].substr(name.size() + 1);
    if (i + 1 >= args.size()) return std::nullopt;
    return args[++i];
}

int usage_error(const std::string& message) {
    std::cerr << "airlockctl: " << message << "\n\n" << kUsage;
    return EX_USAGE;
}

constexpr std::chrono::milliseconds kDefaultWait = std::chrono::seconds(30);
constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24);

// A duration option in the config's syntax, 1ms to 24h; prints why not and returns nullopt.
// `bare_ms_deprecated`: a bare number is still read as milliseconds (what --timeout took
// before), with a warning.
std::optional<std::chrono::milliseconds> parse_option_duration(const std::string& option, const std::string& value,
                                                               bool bare_ms_deprecated) {
    std::string text = value;
    if (bare_ms_deprecated && !text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
        std::cerr << "airlockctl: warning: " << option << " " << value << " without a unit is deprecated; write "
                  << value << "ms\n";
        text += "ms";
    }
    try {
        auto duration = airlock::host::config_detail::parse_duration(text);
        if (duration > kMaxDuration) throw std::invalid_argument("duration \"" + value + "\" is longer than 24h");
        return duration;
    } catch (const std::invalid_argument& error) {
        usage_error(option + " needs a duration such as 2s or 500ms (1ms to 24h): " + error.what());
        return std::nullopt;
    }
}

int exit_code_for(const airlock::Status& status) {
    switch (status.code()) {
    case StatusCode::Success: return EX_OK;
    case StatusCode::InvalidParameter: return EX_DATAERR;
    case StatusCode::NotFound: return EX_NOINPUT;
    case StatusCode::PermissionDenied: return EX_NOPERM;
    case StatusCode::Timeout: return EX_TEMPFAIL;
    case StatusCode::ProtocolMismatch:
    case StatusCode::Malformed: return EX_PROTOCOL;
    case StatusCode::InvalidState:
    case StatusCode::PeerClosed:
    case StatusCode::PeerReset:
    case StatusCode::EndOfStream:
    case StatusCode::Cancelled: return EX_UNAVAILABLE;
    default: return EX_SOFTWARE;
    }
}

/// Prints a failure without the library's "remote: " prefix and returns the exit code.
int fail(const airlock::Status& status) {
    std::string message = status.message();
    if (auto at = message.find("remote: "); at != std::string::npos) message.erase(at, 8);
    std::cerr << "airlockctl: " << message << "\n";
    return exit_code_for(status);
}

std::string format_uptime(std::uint64_t ms) {
    std::uint64_t s = ms / 1000;
    char text[64];
    if (s >= 86400) std::snprintf(text, sizeof text, "%llud%02lluh", (unsigned long long)(s / 86400), (unsigned long long)(s % 86400 / 3600));
    else if (s >= 3600) std::snprintf(text, sizeof text, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60));
    else if (s >= 60) std::snprintf(text, sizeof text, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    else std::snprintf(text, sizeof text, "%llu.%llus", (unsigned long long)s, (unsigned long long)(ms % 1000 / 100));
    return text;
}

// "512B", "1.5KiB", "3.0MiB": byte counters for people (metrics and --json give exact numbers).
std::string format_bytes(std::uint64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + "B";
    const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f%s", value, units[unit]);
    return text;
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label_value(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

/// Text from the host as the terminal gets it: controls (C0 but tab, DEL, C1) and bytes that
/// are not UTF-8 as '?'. The host masks what plugins say already; this side does not rely on
/// it (a host of --host-user, an older or a broken host), so no reply can drive the terminal.
std::string shown(std::string_view text) { return airlock::printable_text(text); }

std::string pad(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

struct Client {
    airlock::Connection connection{airlock::protocol::control_protocol()};
    std::optional<airlock::CallSession> session;
    bool impostor = false;  ///< the socket is served by another user (see connect_to_host)
    std::optional<uid_t> host_user;  ///< --host-user: also trusted to serve the socket
};

/// Connects to `path` and checks who serves it before sending a byte: the host runs as root
/// or as this user. In a directory another user can write, that user could bind the name
/// first (or in the host's absence) and be sent our commands and have its answers believed.
airlock::Status connect_to_host(Client& client, const std::string& path) {
    airlock::UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) return airlock::errno_status("socket", errno);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path)
        return airlock::Status(StatusCode::InvalidParameter, "socket path must be 1 to " +
                                                                 std::to_string(sizeof address.sun_path - 1) + " bytes long");
    std::memcpy(address.sun_path, path.data(), path.size());
    int result;
    do {
        result = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    } while (result < 0 && errno == EINTR);
    if (result < 0) {
        const int error = errno;
        if (error == ENOENT || error == ECONNREFUSED)
            return airlock::Status(StatusCode::NotFound, "no listener at " + path + ": " + std::strerror(error));
        return airlock::errno_status("connect to " + path, error);
    }
    ucred server{};
    socklen_t size = sizeof server;
    if (::getsockopt(socket.get(), SOL_SOCKET, SO_PEERCRED, &server, &size) != 0)
        return airlock::errno_status("SO_PEERCRED of " + path, errno);
    if (server.uid != 0 && server.uid != ::geteuid() && server.uid != client.host_user) {
        client.impostor = true;
        return airlock::Status(StatusCode::PermissionDenied,
                               path + " is served by uid " + std::to_string(server.uid) + " (pid " +
                                   std::to_string(server.pid) + "), neither root nor this user" +
                                   (client.host_user ? " nor --host-user" : "") +
                                   ": not an airlock host this command trusts; nothing was sent to it (a host "
                                   "run as a dedicated user is trusted with --host-user USER)");
    }
    return client.connection.set_fd(airlock::ConnectionMode::Local, std::move(socket));
}

/// Connects and completes the handshake.
airlock::Status reach(Client& client, const std::string& path) {
    client.connection.set_timeout(std::chrono::seconds(60));
    airlock::Status status = connect_to_host(client, path);
    if (status.ok()) status = client.connection.establish();
    if (status.ok()) client.session.emplace(client.connection);
    return status;
}

/// Connects, retrying until `until` while the host may still be starting (its socket missing
/// or not yet accepting; a refusal of this user or a foreign protocol is final), or prints why
/// not.
std::optional<int> connect(std::unique_ptr<Client>& client, const std::string& path,
                           std::chrono::steady_clock::time_point until) {
    airlock::Status status = reach(*client, path);
    while (!status.ok() && status.code() != StatusCode::PermissionDenied &&
           status.code() != StatusCode::ProtocolMismatch && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const std::optional<uid_t> host_user = client->host_user;
        client = std::make_unique<Client>();
        client->host_user = host_user;
        status = reach(*client, path);
    }
    if (!status.ok()) {
        std::cerr << "airlockctl: cannot reach the airlock host at " << path << ": " << status.message() << "\n";
        if (client->impostor) return EX_NOPERM;
        if (status.code() == StatusCode::PermissionDenied) {
            std::cerr << "airlockctl: the socket's file permissions refuse this user\n";
            return EX_NOPERM;
        }
        if (status.code() == StatusCode::ProtocolMismatch) return EX_PROTOCOL;
        std::cerr << "airlockctl: is airlock-host running with [host] control = \"" << path
                  << "\"? (use --socket PATH for another socket)\n";
        return EX_UNAVAILABLE;
    }
    return std::nullopt;
}

std::string progress_json(const airlock::protocol::ProgressEntry& p) {
    return "{\"task\":" + airlock::json_quote(p.task) + ",\"done\":" + std::to_string(p.done) +
           ",\"total\":" + (p.total == 0 ? std::string("null") : std::to_string(p.total)) +
           ",\"message\":" + airlock::json_quote(p.message) + ",\"age_ms\":" + std::to_string(p.age_ms) + "}";
}

// "progress: indexing 30/100 (30%): /data/a (2s ago)".
std::string progress_text(const airlock::protocol::ProgressEntry& p) {
    airlock::protocol::ProgressReport report;
    report.task = p.task;
    report.done = p.done;
    report.total = p.total;
    report.message = p.message;
    return airlock::protocol::format_progress(report) + " (" + format_uptime(p.age_ms) + " ago)";
}

int run_status(Client& client, bool json, const std::string& name) {
    auto reply = client.session->call(control::status, airlock::protocol::StatusRequest{name});
    if (!reply) return fail(reply.status());
    if (json) {
        std::string out = "[";
        for (std::size_t i = 0; i < reply->plugins.size(); ++i) {
            const auto& p = reply->plugins[i];
            if (i) out += ",";
            out += "{\"name\":" + airlock::json_quote(p.name) + ",\"state\":" + airlock::json_quote(p.state) +
                   ",\"pid\":" + (p.pid < 0 ? std::string("null") : std::to_string(p.pid)) +
                   ",\"uptime_ms\":" + std::to_string(p.uptime_ms) + ",\"restarts\":" + std::to_string(p.restarts) +
                   ",\"last_exit\":" + (p.last_exit.empty() ? std::string("null") : airlock::json_quote(p.last_exit)) +
                   ",\"last_violation\":" +
                   (p.last_violation.empty() ? std::string("null") : airlock::json_quote(p.last_violation)) +
                   ",\"progress\":" + (p.progress ? progress_json(*p.progress) : std::string("null")) +
                   ",\"calls\":" + std::to_string(p.calls) + ",\"call_errors\":" + std::to_string(p.call_errors) +
                   ",\"violations\":" + std::to_string(p.violations) + ",\"bytes_in\":" + std::to_string(p.bytes_in) +
                   ",\"bytes_out\":" + std::to_string(p.bytes_out) + "}";
        }
        out += "]";
        std::cout << airlock::json_pretty(out) << "\n";
        return EX_OK;
    }
    std::size_t name_width = 4;
    for (const auto& p : reply->plugins) name_width = std::max(name_width, shown(p.name).size());
    std::cout << pad("NAME", name_width + 2) << pad("STATE", 13) << pad("PID", 9) << pad("UPTIME", 10)
              << pad("RESTARTS", 10) << pad("CALLS", 8) << pad("ERRORS", 8) << pad("VIOLATIONS", 12) << pad("IN", 9)
              << pad("OUT", 9) << "LAST EXIT / VIOLATION\n";
    for (const auto& p : reply->plugins) {
        std::string last = shown(p.last_exit);
        if (!p.last_violation.empty()) last += (last.empty() ? "" : "; ") + std::string("violation: ") + shown(p.last_violation);
        std::cout << pad(shown(p.name), name_width + 2) << pad(shown(p.state), 13) << pad(p.pid < 0 ? "-" : std::to_string(p.pid), 9)
                  << pad(p.pid < 0 ? "-" : format_uptime(p.uptime_ms), 10) << pad(std::to_string(p.restarts), 10)
                  << pad(std::to_string(p.calls), 8) << pad(std::to_string(p.call_errors), 8)
                  << pad(std::to_string(p.violations), 12) << pad(format_bytes(p.bytes_in), 9)
                  << pad(format_bytes(p.bytes_out), 9) << (last.empty() ? "-" : last) << "\n";
        if (p.progress) std::cout << pad("", name_width + 2) << shown(progress_text(*p.progress)) << "\n";
    }
    return EX_OK;
}

// `metrics`: every plugin's counters in the Prometheus text exposition format (version 0.0.4),
// for node_exporter's textfile collector or a scrape wrapper.
int run_metrics(Client& client) {
    auto reply = client.session->call(control::status, airlock::protocol::StatusRequest{});
    if (!reply) return fail(reply.status());
    struct Metric {
        const char* name;
        const char* type;
        const char* help;
        std::uint64_t (*value)(const airlock::protocol::PluginStatusEntry&);
    };
    using Entry = airlock::protocol::PluginStatusEntry;
    const Metric metrics[] = {
        {"airlock_plugin_up", "gauge", "1 when the plugin is ready, else 0.",
         [](const Entry& p) -> std::uint64_t { return std::string(p.state) == "ready" ? 1 : 0; }},
        {"airlock_plugin_calls_total", "counter", "Calls made to the plugin through the host.",
         [](const Entry& p) -> std::uint64_t { return p.calls; }},
        {"airlock_plugin_call_errors_total", "counter", "Calls that ended without a reply (refused, timed out, failed).",
         [](const Entry& p) -> std::uint64_t { return p.call_errors; }},
        {"airlock_plugin_violations_total", "counter", "Forbidden system calls the host observed.",
         [](const Entry& p) -> std::uint64_t { return p.violations; }},
        {"airlock_plugin_restarts_total", "counter", "Automatic and requested restarts.",
         [](const Entry& p) -> std::uint64_t { return p.restarts; }},
        {"airlock_plugin_received_bytes_total", "counter", "Reply bytes received from the plugin.",
         [](const Entry& p) -> std::uint64_t { return p.bytes_in; }},
        {"airlock_plugin_sent_bytes_total", "counter", "Request bytes sent to the plugin.",
         [](const Entry& p) -> std::uint64_t { return p.bytes_out; }},
    };
    for (const Metric& metric : metrics) {
        std::cout << "# HELP " << metric.name << " " << metric.help << "\n# TYPE " << metric.name << " " << metric.type
                  << "\n";
        for (const auto& p : reply->plugins)
            std::cout << metric.name << "{plugin=\"" << label_value(shown(p.name)) << "\"} " << metric.value(p) << "\n";
    }
    return EX_OK;
}

int run_action(Client& client, const std::string& command, const std::string& name) {
    const auto& method = command == "start" ? control::start : command == "stop" ? control::stop : control::restart;
    auto reply = client.session->call(method, airlock::protocol::PluginRequest{name});
    if (!reply) return fail(reply.status());
    std::cout << shown(reply->message) << "\n";
    return EX_OK;
}

int run_logs(Client& client, const std::string& name, bool follow) {
    if (!follow) {
        auto reply = client.session->call(control::logs, airlock::protocol::PluginRequest{name});
        if (!reply) return fail(reply.status());
        for (const auto& line : reply->lines) std::cout << shown(line) << "\n";
        return EX_OK;
    }
    (void)client.session->on(control::log_line, [](airlock::protocol::LogLine& line) {
        std::cout << shown(line.line) << std::endl;  // flushed per line: airlockctl logs --follow | grep ...
    });
    auto reply = client.session->call(control::follow_logs, airlock::protocol::FollowLogsRequest{name, true});
    if (!reply) return fail(reply.status());
    client.connection.set_timeout(std::nullopt);
    airlock::Status end = client.session->serve();
    if (end.code() == StatusCode::PeerClosed || end.code() == StatusCode::EndOfStream) {
        std::cerr << "airlockctl: the airlock host closed the connection\n";
        return EX_UNAVAILABLE;
    }
    return fail(end);
}

int run_describe(Client& client, const std::string& name) {
    auto reply = client.session->call(control::describe, airlock::protocol::PluginRequest{name});
    if (!reply) return fail(reply.status());
    if (reply->methods.empty()) std::cout << name << " announces no methods\n";
    for (const auto& method : reply->methods) {
        std::cout << shown(method.name) << " (tag " << method.tag << ")\n"
                  << "  request: " << shown(method.request_type) << "\n"
                  << "  reply:   " << shown(method.reply_type) << "\n";
    }
    return EX_OK;
}

// `--wait`: until the host says the plugin is ready, or why it will not be.
std::optional<int> wait_until_ready(Client& client, const std::string& name, std::chrono::milliseconds wait) {
    client.connection.set_timeout(wait + std::chrono::seconds(10));  // the host answers Timeout itself
    auto ready = client.session->call(
        control::wait_ready, airlock::protocol::WaitReadyRequest{name, static_cast<std::uint32_t>(wait.count())});
    client.connection.set_timeout(std::chrono::seconds(60));
    if (!ready) return fail(ready.status());
    return std::nullopt;
}

int run_call(Client& client, const std::string& name, const std::string& method, std::string json,
             std::optional<std::uint32_t> timeout_ms, std::optional<std::chrono::milliseconds> wait) {
    if (wait) {
        if (auto failed = wait_until_ready(client, name, *wait)) return *failed;
    }
    if (json == "-") json.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    airlock::protocol::CallRequest request;
    request.plugin = name;
    request.method = method;
    request.json_request = std::move(json);
    request.timeout_ms = timeout_ms;
    // The host answers Timeout itself; our own wait only has to outlast it.
    if (timeout_ms) client.connection.set_timeout(std::chrono::milliseconds(*timeout_ms) + std::chrono::seconds(10));
    auto reply = client.session->call(control::call, request);
    if (!reply) return fail(reply.status());
    std::cout << airlock::json_pretty(reply->json_reply) << "\n";
    return EX_OK;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string socket_path;
    if (const char* env = std::getenv("AIRLOCK_CONTROL_SOCKET"); env && *env) socket_path = env;
    else socket_path = airlock::protocol::kDefaultControlSocket;

    std::vector<std::string> words;
    std::optional<uid_t> host_user;
    bool json = false;
    bool follow = false;
    std::optional<std::uint32_t> timeout_ms;
    std::optional<std::chrono::milliseconds> wait;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << kUsage;
            return EX_OK;
        }
        if (is_option(arg, "--socket")) {
            const auto value = option_value(args, i, "--socket");
            if (!value) return usage_error("--socket needs a path");
            socket_path = *value;
        } else if (is_option(arg, "--host-user")) {
            const auto value = option_value(args, i, "--host-user");
            if (!value) return usage_error("--host-user needs a user name or uid");
            host_user = user_id_of(*value);
            if (!host_user) return usage_error("--host-user: no user named \"" + *value + "\"");
        } else if (arg == "--json") {
            json = true;
        } else if (arg == "--follow" || arg == "-f") {
            follow = true;
        } else if (arg == "--version") {
            std::cout << "airlockctl " AIRLOCK_VERSION "\n";
            return EX_OK;
        } else if (is_option(arg, "--timeout")) {
            const auto value = option_value(args, i, "--timeout");
            if (!value) return usage_error("--timeout needs a duration such as 2s or 500ms");
            auto duration = parse_option_duration("--timeout", *value, true);
            if (!duration) return EX_USAGE;
            timeout_ms = static_cast<std::uint32_t>(duration->count());
        } else if (arg == "--wait" || arg.rfind("--wait=", 0) == 0) {
            wait = kDefaultWait;
            if (arg != "--wait") {
                wait = parse_option_duration("--wait", arg.substr(7), false);
                if (!wait) return EX_USAGE;
            }
        } else if (arg.size() > 1 && arg[0] == '-' && words.size() < 3) {
            return usage_error("unknown option " + arg);
        } else {
            words.push_back(arg);
        }
    }
    if (words.empty()) return usage_error("missing command");
    const std::string& command = words[0];
    auto need = [&](std::size_t count, const char* shape) -> std::optional<int> {
        if (words.size() != count + 1) return usage_error(std::string("usage: airlockctl ") + shape);
        return std::nullopt;
    };
    std::optional<int> bad;
    if (command == "status") {
        if (words.size() > 2) bad = usage_error("usage: airlockctl status [--json] [NAME]");
    } else if (command == "metrics") {
        bad = need(0, "metrics");
    } else if (command == "start" || command == "stop" || command == "restart") {
        bad = need(1, (command + " NAME").c_str());
    } else if (command == "logs") {
        bad = need(1, "logs NAME [--follow]");
    } else if (command == "describe") {
        bad = need(1, "describe NAME");
    } else if (command == "call") {
        bad = need(3, "call [--timeout DURATION] [--wait[=DURATION]] NAME METHOD JSON");
    } else {
        return usage_error("unknown command \"" + command + "\"");
    }
    if (bad) return *bad;
    if (json && command != "status") return usage_error("--json applies to status only");
    if (follow && command != "logs") return usage_error("--follow applies to logs only");
    if (timeout_ms && command != "call") return usage_error("--timeout applies to call only");
    if (wait && command != "call") return usage_error("--wait applies to call only");

    // --wait also covers a host that is still starting: its socket may not be there yet.
    const auto connect_until = std::chrono::steady_clock::now() + wait.value_or(std::chrono::milliseconds(0));
    auto connected = std::make_unique<Client>();
    connected->host_user = host_user;
    if (auto failed = connect(connected, socket_path, connect_until)) return *failed;
    if (wait) wait = std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                connect_until - std::chrono::steady_clock::now()));
    Client& client = *connected;
    if (command == "status") return run_status(client, json, words.size() > 1 ? words[1] : std::string());
    if (command == "metrics") return run_metrics(client);
    if (command == "start" || command == "stop" || command == "restart") return run_action(client, command, words[1]);
    if (command == "logs") return run_logs(client, words[1], follow);
    if (command == "describe") return run_describe(client, words[1]);
    return run_call(client, words[1], words[2], words[3], timeout_ms, wait);
}
