#pragma once
/// @file grant_opener.hpp
/// Turns configured grants into descriptors carrying exactly the configured access.
///
/// The host (parent side) opens every grant itself, so the plugin never needs a path or
/// ambient access to anything: it receives descriptors only. Every descriptor is opened
/// close-on-exec; the spawner decides which ones the child inherits.

#include <airlock/connection/unique_fd.hpp>
#include <airlock/host/plugin_config.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace airlock::host {

/// A grant could not be opened. The message names the grant, its path and the reason.
class GrantError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One opened grant: the descriptor plus what it is, for LISTEN_FDNAMES or the grant table.
struct OpenedGrant {
    std::string name;                       ///< the name from the config
    GrantKind kind = GrantKind::File;
    GrantAccess access = GrantAccess::Read;
    UniqueFd fd;                            ///< close-on-exec, blocking
};

/// Opens one grant with exactly its configured access:
/// - file: read → `O_RDONLY`, write → `O_WRONLY`, append → `O_WRONLY|O_APPEND`,
///   read-write → `O_RDWR`; `create` adds `O_CREAT` with mode 0600. Directories are refused.
/// - directory: `O_DIRECTORY|O_RDONLY` whatever the access; for read-write grants the
///   right to write beneath it comes from the Landlock ruleset, not from the descriptor.
/// - connect: an `AF_UNIX` socket the host connects to the path (stream, else seqpacket,
///   else datagram — whatever the listener speaks), through /proc/self/fd/N of an O_PATH
///   descriptor of the socket inode, so connect() follows no link.
/// - memfd: `memfd_create` + `ftruncate(size)`, sealed against shrinking and growing
///   (so a host mapping can never be cut short) and, where the kernel allows, against exec.
///
/// No path is ever opened through a symbolic link, in any component (no_follow_open.hpp),
/// and the kind of file is checked on the descriptor. A file grant with more than one
/// hard link inside one of `writable_directories` is refused, as is a datagram socket
/// without `datagram = true`. Refusals read `grant "NAME": PATH is a symbolic link; grants
/// never follow links` (or: lies under a symbolic link (COMPONENT), is a hard link ..., is
/// a datagram socket ..., is a directory, not a socket).
///
/// With `detach_directories` (a plugin in a private root the host made as root) a directory
/// grant is opened inside a detached copy of its mount (`open_tree(OPEN_TREE_CLONE)`), so
/// ".." from the descriptor ends at the grant instead of leading to the host's tree.
/// @throws GrantError naming the grant, the path and the system error.
OpenedGrant open_grant(const GrantConfig& grant, const std::vector<std::string>& writable_directories = {},
                       bool detach_directories = false);

/// Opens all grants in config order; on the first failure the ones already opened are
/// closed and the error is thrown.
/// @throws GrantError
std::vector<OpenedGrant> open_grants(const std::vector<GrantConfig>& grants,
                                     const std::vector<std::string>& writable_directories = {},
                                     bool detach_directories = false);

} // namespace airlock::host
