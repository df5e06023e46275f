#pragma once
/// @file no_follow_open.hpp
/// The one way the host opens a path on a plugin's behalf: never through a symbolic link.
///
/// The host runs as root; a plugin that can write somewhere on a granted path could plant a
/// link there and have the host open, connect to or hand a Landlock rule for whatever the
/// link names. So grant paths, the plugin's executable and every path of its Landlock
/// ruleset are opened with openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) plus
/// O_NOFOLLOW, and the kind of file is checked on the descriptor (fstat), never by name.
///
/// Operator-configured system paths and the ELF interpreter may themselves be links
/// (/lib64 -> usr/lib64 on Debian): resolve_trusted_path() resolves those with realpath,
/// refuses them if either name lies inside a plugin-writable directory, and the result is
/// then opened no-follow like everything else (docs/sandbox.md, "Links").

#include <airlock/connection/status.hpp>
#include <airlock/connection/unique_fd.hpp>
#include <airlock/host/plugin_config.hpp>

#include <sys/stat.h>
#include <cstdint>
#include <sys/types.h>

#include <string>
#include <vector>

namespace airlock::host {

/// What an opened path must be.
enum class ExpectedType { RegularFile, Directory, Socket, Any };

/// A descriptor and what fstat said about it when it was opened.
struct NoFollowFile {
    UniqueFd fd;                 ///< close-on-exec
    struct stat status {};
};

/// The raw call under every no-follow open: openat2(dirfd, path) with `flags` | O_CLOEXEC |
/// O_NOFOLLOW (`mode` only with O_CREAT) and `resolve` (RESOLVE_* flags; callers pass at
/// least RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS). An empty UniqueFd with errno set on
/// failure; no type check.
UniqueFd openat2_no_follow(int dirfd, const char* path, int flags, mode_t mode, std::uint64_t resolve);

/// Opens the absolute `path` with `flags` (O_CLOEXEC and O_NOFOLLOW are added; `mode` only
/// with O_CREAT) without following a symbolic link in any component, then checks its type.
/// Failures, as "<path> ..." messages:
/// - a link: "<path> is a symbolic link; <rule>", or "<path> lies under a symbolic link
///   (<component>); <rule>" — code PermissionDenied;
/// - a wrong type: "<path> is a directory, not a regular file" — code InvalidParameter;
/// - anything else: "<path>: <strerror>" with errno_status()'s code (ENOENT -> NotFound).
/// `rule` says why links are refused, e.g. "grants never follow links". `system_error`, if
/// given, receives the errno of a failed open or fstat (0 for a link or type refusal).
Result<NoFollowFile> open_no_follow(const std::string& path, int flags, mode_t mode, ExpectedType expected,
                                    const std::string& rule, int* system_error = nullptr);

/// True when `path` equals `directory` or lies beneath it. Both absolute and lexically
/// normal (as the config loader stores them); no file system access.
bool path_is_within(const std::string& path, const std::string& directory);

/// The writable directory of `directories` that `path` lies in (or equals), or nullptr.
const std::string* writable_directory_holding(const std::string& path, const std::vector<std::string>& directories);

/// The directories a plugin of this config can write: its own read-write dir grants plus
/// PluginConfig::config_writable_directories (those of every plugin, set by the loader).
std::vector<std::string> writable_directories_of(const PluginConfig& plugin);

/// realpath() of an operator-configured path that may contain links (a system path, an
/// ELF interpreter). Refused — code PermissionDenied, "<path> lies inside the
/// plugin-writable directory <dir>; ..." — when `path` or its resolution lies inside one
/// of `writable_directories`, since a plugin could then move the link; and refused when
/// another local user could change where it leads (check_only_host_can_change, below).
/// ENOENT gives NotFound. `final_status`, when given and `path` is absolute, receives the walk's
/// `lstat` of the result (never a link: every link on the way was resolved), which is what an
/// open of the result that follows no link and its `fstat` would answer.
Result<std::string> resolve_trusted_path(const std::string& path, const std::vector<std::string>& writable_directories,
                                         struct stat* final_status = nullptr);

/// Ok when no user but root and the host's own (its effective uid) can change which file
/// `path` names, or what a regular file or directory there holds: every directory on the way
/// is owned by root or the host's user and writable by no one else, or is sticky (others
/// cannot rename or remove what they do not own) and the entry in it is root's or the host's;
/// a symbolic link on the way counts as an entry of its directory, and where it leads is
/// checked the same way. The file itself, when a regular file or directory, is root's or the
/// host's and writable by no one else (a sticky directory excepted). Another local user who
/// could do any of this could swap in their own executable, library or socket between the
/// host's check and its use, or before the next start.
/// Refusals: PermissionDenied "<path>: <directory> is writable by other users (mode 0777),
/// who could replace <entry>; ..."; a missing component gives NotFound.
Status check_only_host_can_change(const std::string& path);

} // namespace airlock::host
