#pragma once
/// @file plugin_protocol.hpp
/// The host↔plugin protocol "airlock.plugin/1": the one definition both the host and the
/// plugin SDK include (never copied), so their fingerprints can only agree when they were
/// built from the same types.
///
/// ## Sequence
/// 1. The host starts the plugin with its end of a `SOCK_SEQPACKET` socketpair at descriptor
///    `kDefaultConnectionFd` (3), named in the environment as `AIRLOCK_CONNECTION_FD=3`.
/// 2. Both sides adopt their end (`Connection::set_fd(ConnectionMode::Pair, ...)`) with
///    `plugin_host_protocol()` and complete the handshake. The host refuses a peer whose
///    kernel-reported pid is not the process it spawned, and a peer that speaks another
///    protocol (`StatusCode::ProtocolMismatch`).
/// 3. The host sends the `grant_table` notification: every configured grant by name, with
///    its descriptor. It is the first message on the connection and is sent exactly once.
/// 4. The plugin registers its handlers and sends the `ready` notification. The host waits
///    for it at most the plugin's ready timeout (handshake included).
/// 5. While running, the plugin may send `log` notifications; the host prints them
///    prefixed with the plugin's name (bounded like the plugin's own output).
/// 6. While running, the plugin may call `progress` on the host to report how far a long task
///    has got; the host keeps the latest report per plugin (shown by `airlockctl status`) and
///    acknowledges it. A host that does not serve progress answers with an error reply.
/// 7. To stop a plugin the host calls `stop`; the plugin replies, finishes its in-flight
///    calls and exits 0. Signals (SIGTERM, then SIGKILL) follow only after the stop timeout.
///
/// ## Tag table (fixed; tag 0 is reserved for the connection library)
/// | tag | name          | kind                               | direction     |
/// |-----|---------------|------------------------------------|---------------|
/// | 1   | `grant_table` | notification `GrantTable`          | host → plugin |
/// | 2   | `ready`       | notification `ReadyNotice`         | plugin → host |
/// | 3   | `log`         | notification `LogRecord`           | plugin → host |
/// | 4   | `stop`        | method `StopRequest` → `StopReply` | host → plugin |
/// | 5   | `progress`    | method `ProgressReport` → `ProgressAck` | plugin → host |
///
/// Tags 6–99 are reserved for later host↔plugin control messages. Tags from
/// `kFirstApplicationTag` (100) on belong to the plugin's own methods (the SDK's handlers):
/// the protocol reserves them as application tags, so they are not part of the fingerprint.

#include <airlock/connection/protocol.hpp>
#include <airlock/connection/status.hpp>
#include <airlock/connection/types.hpp>
#include <airlock/connection/unique_fd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::protocol {

/// The environment variable naming the plugin's connection descriptor.
inline constexpr const char* kConnectionFdVariable = "AIRLOCK_CONNECTION_FD";
/// The descriptor number the host gives the plugin's end of the connection.
inline constexpr int kDefaultConnectionFd = 3;
/// The first tag available to methods that are not part of the host↔plugin control set.
inline constexpr std::uint16_t kFirstApplicationTag = 100;

/// What a granted descriptor refers to (the TOML grant key).
enum class GrantKind : std::uint8_t {
    File,       ///< `file = "..."`: a regular file opened by the host
    Directory,  ///< `dir = "..."`: an `O_DIRECTORY` descriptor; open beneath it only
    Connect,    ///< `connect = "..."`: a UNIX socket the host connected
    Memfd,      ///< `memfd = "..."`: anonymous shared memory of `GrantEntry::size` bytes
};
AIRLOCK_ENUM(GrantKind, File, Directory, Connect, Memfd)

/// The access the descriptor carries (the TOML `access` key).
enum class GrantAccess : std::uint8_t {
    Read,       ///< opened `O_RDONLY`
    Write,      ///< opened `O_WRONLY`
    Append,     ///< opened `O_WRONLY | O_APPEND`
    ReadWrite,  ///< opened `O_RDWR` (directories: writable beneath, by the Landlock ruleset)
};
AIRLOCK_ENUM(GrantAccess, Read, Write, Append, ReadWrite)

/// "file", "dir", "connect" or "memfd": the TOML key of the kind (config, messages, SDK).
constexpr const char* grant_kind_name(GrantKind kind) noexcept {
    switch (kind) {
    case GrantKind::File: return "file";
    case GrantKind::Directory: return "dir";
    case GrantKind::Connect: return "connect";
    case GrantKind::Memfd: return "memfd";
    }
    return "?";
}

/// "read", "write", "append" or "read-write": the TOML value of the `access` key.
constexpr const char* grant_access_name(GrantAccess access) noexcept {
    switch (access) {
    case GrantAccess::Read: return "read";
    case GrantAccess::Write: return "write";
    case GrantAccess::Append: return "append";
    case GrantAccess::ReadWrite: return "read-write";
    }
    return "?";
}

/// One granted capability.
struct GrantEntry {
    String<64> name;                       ///< the grant's name in the config
    GrantKind kind = GrantKind::File;
    GrantAccess access = GrantAccess::Read;
    UniqueFd fd;                           ///< the descriptor itself (owned by the receiver)
    std::uint64_t size = 0;                ///< bytes, for files and memfds when sent; else 0
};
AIRLOCK_STRUCT(GrantEntry, name, kind, access, fd, size)

/// Tag 1, host → plugin: everything the plugin may touch, sent once after the handshake.
struct GrantTable {
    String<64> plugin_name;                ///< the plugin's name in the config
    Vector<GrantEntry, 256> grants;        ///< in config order
};
AIRLOCK_STRUCT(GrantTable, plugin_name, grants)

/// One method a plugin serves under an application tag. Application tags are outside the
/// fingerprint, so the types travel as their canonical descriptions (`describe(spec_of<T>())`)
/// and a caller compares them with its own before calling.
struct MethodAnnouncement {
    String<64> name;                       ///< unique among the plugin's methods
    std::uint16_t tag = 0;                 ///< >= kFirstApplicationTag
    String<16384> request_type;            ///< canonical description of the request type
    String<16384> reply_type;              ///< canonical description of the reply type
};
AIRLOCK_STRUCT(MethodAnnouncement, name, tag, request_type, reply_type)

/// Tag 2, plugin → host: the plugin has its grants and serves its handlers.
struct ReadyNotice {
    Vector<MethodAnnouncement, 256> methods;  ///< the methods the plugin serves
};
AIRLOCK_STRUCT(ReadyNotice, methods)

/// Severity of a `LogRecord`.
enum class LogLevel : std::uint8_t { Error, Warning, Info, Debug };
AIRLOCK_ENUM(LogLevel, Error, Warning, Info, Debug)

/// Tag 3, plugin → host: one log message (the host prints it prefixed with the plugin name).
struct LogRecord {
    LogLevel level = LogLevel::Info;
    String<4096> text;                     ///< one or more lines; control characters are masked
};
AIRLOCK_STRUCT(LogRecord, level, text)

/// Tag 4 request, host → plugin: finish in-flight calls and exit 0.
struct StopRequest {
    std::uint32_t timeout_ms = 0;          ///< after this long the host sends signals
};
AIRLOCK_STRUCT(StopRequest, timeout_ms)

/// Tag 4 reply: the plugin is stopping.
struct StopReply {
    std::uint32_t calls_in_flight = 0;     ///< calls it still finishes before exiting
};
AIRLOCK_STRUCT(StopReply, calls_in_flight)

/// Tag 5 request, plugin → host: how far a long-running task has got.
struct ProgressReport {
    String<128> task;                      ///< what is being done, e.g. "indexing /data"
    std::uint64_t done = 0;                ///< units done so far
    std::uint64_t total = 0;               ///< units in all; 0 when unknown
    String<512> message;                   ///< optional detail for people
};
AIRLOCK_STRUCT(ProgressReport, task, done, total, message)

/// Tag 5 reply: the host recorded the report.
struct ProgressAck {
    std::uint64_t reports = 0;             ///< progress reports the host has taken from this process
};
AIRLOCK_STRUCT(ProgressAck, reports)

/// Tag 1: the grant table.
inline constexpr Notification<GrantTable> grant_table{1, "grant_table"};
/// Tag 2: the plugin is ready.
inline constexpr Notification<ReadyNotice> ready{2, "ready"};
/// Tag 3: a log record.
inline constexpr Notification<LogRecord> log_record{3, "log"};
/// Tag 4: the host asks the plugin to stop.
inline constexpr Method<StopRequest, StopReply> stop{4, "stop"};
/// Tag 5: the plugin reports progress to the host.
inline constexpr Method<ProgressReport, ProgressAck> progress{5, "progress"};

/// The protocol "airlock.plugin/1" holding the tag table above, with application tags from
/// `kFirstApplicationTag` on.
const Protocol& plugin_host_protocol();

/// "error", "warning", "info" or "debug".
const char* log_level_name(LogLevel level) noexcept;

/// OK when a caller's request/reply type descriptions are exactly the ones announced for
/// `method`; otherwise ProtocolMismatch naming the method and both descriptions. Every
/// host-side caller of announced methods checks with this before it sends anything.
Status check_announced_types(std::string_view method, std::string_view announced_request,
                             std::string_view announced_reply, std::string_view request, std::string_view reply);

/// A progress report as one line for people, control characters masked:
/// `progress: TASK 3/10 (30%): MESSAGE` (without the count of all when `total` is 0).
std::string format_progress(const ProgressReport& report);

} // namespace airlock::protocol
