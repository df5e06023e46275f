#pragma once
/// @file open_file_limit.hpp
/// The host's own open-file limit. A host with many plugins holds several descriptors per
/// plugin (its socket, pipes, pidfd, cgroup directories, control connections), so the soft
/// RLIMIT_NOFILE that systemd starts services with (1024) is too low. As systemd advises for
/// programs that do not use select() (the host uses epoll and poll only), the host raises its
/// soft limit to its hard limit at start. Plugins do not inherit the raised limit: one without
/// `limits.open_files` gets the limits the host was started with.

#include <sys/resource.h>

namespace airlock::host {

/// Raises this process's soft RLIMIT_NOFILE to its hard limit and remembers the limits it had
/// (inherited_open_file_limit()). Call once at start, before any thread. Returns the limits
/// now in force (unchanged if setrlimit failed).
rlimit raise_open_file_limit() noexcept;

/// The RLIMIT_NOFILE this process had before raise_open_file_limit() (the current one if it was
/// never called): what a plugin without `limits.open_files` gets.
rlimit inherited_open_file_limit() noexcept;

/// This process's soft RLIMIT_NOFILE now.
rlim_t current_open_file_soft_limit() noexcept;

} // namespace airlock::host
