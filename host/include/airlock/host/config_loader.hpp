#pragma once
/// @file config_loader.hpp
/// Loads an Airlock TOML config (docs/configuration.md) into validated HostConfig structures.
///
/// Everything is checked at load time — keys, types, sizes, durations, syscall names, paths,
/// users — so that a typo can never silently weaken a sandbox and the spawner never has to
/// re-validate. The first problem found is thrown as a ConfigError.

#include <stdexcept>
#include <string>
#include <string_view>

#include "airlock/host/plugin_config.hpp"

namespace airlock::host {

/// A config problem. what() is `FILE:LINE:COLUMN: what is wrong; what is allowed`, e.g.
/// `demo.toml:12:9: unknown key "acess" in grant "input"; allowed keys: dir, file, connect,
/// memfd, access, create`. Problems with the file as a whole (it cannot be read, it has no
/// plugin) have no line: `FILE: message`, resp. line 1 column 1. A PluginSpec built in code
/// has no file: what() is the message alone.
class ConfigError : public std::runtime_error {
public:
    /// @param where   file, line and column (line 0: the file as a whole)
    /// @param message what is wrong and what is allowed, without the location prefix
    ConfigError(SourceLocation where, std::string message);

    /// Where the problem is.
    const SourceLocation& where() const noexcept { return where_; }
    /// The message without the `FILE:LINE:COLUMN: ` prefix.
    const std::string& message() const noexcept { return message_; }

private:
    SourceLocation where_;
    std::string message_;
};

/// Reads and validates the config file at `path`.
/// Relative `exec` paths are resolved against the directory containing `path`.
/// @throws ConfigError on any problem, including an unreadable file.
HostConfig load_config(const std::string& path);

/// Validates config text that did not come from a file (tests, embedding applications).
/// `path_for_messages` is used in error locations and as HostConfig::path; relative `exec`
/// paths are resolved against its directory (made absolute against the current directory).
/// @throws ConfigError on any problem.
HostConfig load_config_text(std::string_view text, std::string_view path_for_messages);

/// The effective policy of one plugin in human-readable form, for `airlock-host check`:
/// executable, protocol, environment, limits, sandbox settings, grants with their access and
/// the resolved syscall allowlist. Several lines, each ending in '\n'.
std::string describe_policy(const PluginConfig& plugin);

} // namespace airlock::host
