#pragma once
/// @file plugin_config.hpp
/// The validated, fully resolved description of what a plugin may do.
///
/// `config/` parsing (config_loader.hpp) produces these structures from TOML; the sandbox
/// and the spawner consume them. Everything here is already checked: paths are absolute,
/// syscall names are resolved, sizes are in bytes, so the sandbox never re-validates.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace airlock::host {

/// Where a setting came from, so later errors (e.g. a grant path that vanished) can name it.
struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

/// How the plugin is started and talked to.
enum class PluginProtocol {
    Airlock,  ///< SDK handshake over the connection; grants sent as one typed message.
    None,     ///< Any program; grants inherited from fd 3 on, named in LISTEN_FDS/LISTEN_FDNAMES.
};

/// What the seccomp filter does on a forbidden system call.
enum class ViolationAction { Kill, Errno, Log };

/// Isolation layers a config can require (fail closed when unavailable).
enum class IsolationLayer { Seccomp, Landlock, NoNewPrivs };

/// Resource limits; unset means "inherit the host's".
struct Limits {
    std::optional<std::uint64_t> memory_bytes;    ///< RLIMIT_AS
    std::optional<std::uint64_t> cpu_seconds;     ///< RLIMIT_CPU
    std::optional<std::uint64_t> open_files;      ///< RLIMIT_NOFILE
    std::optional<std::uint64_t> processes;       ///< 1 = threads only, no fork
    std::optional<std::uint64_t> file_size_bytes; ///< RLIMIT_FSIZE
};

/// The syscall policy after resolving profiles and @groups into plain syscall names.
struct SyscallPolicy {
    std::string profile = "default";           ///< the base allowlist's name
    std::set<std::string> allowed;             ///< final allowlist (profile + allow - deny)
    std::set<std::string> denied;              ///< names explicitly denied by the config
    ViolationAction on_violation = ViolationAction::Kill;
};

enum class GrantKind { File, Directory, Connect, Memfd };
enum class GrantAccess { Read, Write, Append, ReadWrite };

/// One capability handed to the plugin as a pre-opened descriptor.
struct GrantConfig {
    std::string name;            ///< the name the plugin looks it up by
    GrantKind kind = GrantKind::File;
    std::string path;            ///< absolute path (file, dir, connect); empty for memfd
    GrantAccess access = GrantAccess::Read;
    bool create = false;         ///< file grants: create the file if missing
    std::uint64_t size = 0;      ///< memfd grants: size in bytes
    SourceLocation where;
};

/// One plugin, with host-wide [sandbox] defaults already merged in.
struct PluginConfig {
    std::string name;
    std::string executable;                    ///< absolute path to an existing executable
    std::vector<std::string> args;
    std::map<std::string, std::string> env;    ///< the whole environment (AIRLOCK_* added at spawn)
    PluginProtocol protocol = PluginProtocol::Airlock;
    Limits limits;
    SyscallPolicy syscalls;
    std::vector<GrantConfig> grants;           ///< in config order
    std::vector<std::string> system_paths;     ///< read-only for the dynamic loader
    std::optional<std::string> user;           ///< user to drop to when the host runs as root
    std::set<IsolationLayer> required_layers;  ///< refuse to start if any is missing
    SourceLocation where;
};

/// A whole config file.
struct HostConfig {
    std::string path;
    std::map<std::string, PluginConfig> plugins;
};

} // namespace airlock::host
