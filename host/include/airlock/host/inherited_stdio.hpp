#pragma once
/// @file inherited_stdio.hpp
/// The caller's descriptors a plugin shares under `stdio = "inherit"`.
///
/// A pipe, file or socket on the caller's stdin/stdout/stderr is given to the plugin as it
/// is: the same open file description, whose status flags (O_NONBLOCK, O_APPEND, O_ASYNC,
/// O_DIRECT, O_NOATIME) and SIGIO owner the plugin can change with fcntl/ioctl. The caller,
/// the commands it runs next and the host's own reports on stderr all use that description.
/// This file keeps what the plugin does to it from outliving the plugin or reaching the host.

#include <fcntl.h>
#include <unistd.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::host {

/// The status flags and SIGIO owner of some descriptions, saved at construction and put back
/// by restore() (and the destructor): a plugin that set O_NONBLOCK on the caller's pipe
/// must not leave the caller's next command with EAGAIN.
class SharedDescriptionState {
public:
    /// Saves the state of each open descriptor in `fds` (closed ones and -1 are skipped).
    explicit SharedDescriptionState(std::span<const int> fds);
    SharedDescriptionState(const SharedDescriptionState&) = delete;
    SharedDescriptionState& operator=(const SharedDescriptionState&) = delete;
    ~SharedDescriptionState() { restore(); }
    /// Puts the saved status flags and owner back where the plugin changed them.
    void restore() noexcept;

private:
    struct Saved {
        int fd;
        int status_flags;
        f_owner_ex owner;
    };
    std::vector<Saved> saved_;
};

/// Whether a descriptor the plugin would share with the caller (stdout or stderr, not a
/// terminal) is an O_APPEND regular file, e.g. `>> journal.log`: the plugin then gets the
/// append-only hardening of an append grant (it may not clear O_APPEND, truncate, punch
/// holes or write with RWF_NOAPPEND), so it can add to the caller's file but not rewrite it.
bool shares_append_only_output(std::span<const int> output_fds);

/// Why the caller's `stdio` descriptors (stdin, stdout, stderr; -1 for none) cannot be handed
/// to a plugin, or "" when they can: a directory (`< /srv/dir`) would let the plugin list it
/// and reach, through "..", every path above it, past its private root and its Landlock
/// rules (fstatat, readlinkat, O_PATH opens are not Landlock's to check).
std::string stdio_refusal(std::span<const int> stdio_fds);

/// Writes all of `text` to `fd`, waiting for room when the description is non-blocking (a
/// plugin sharing it may have set O_NONBLOCK): the host's reports are never dropped for
/// EAGAIN. Stops quietly when the reader has gone (EPIPE) or on any other error.
void write_waiting(int fd, std::string_view text) noexcept;

} // namespace airlock::host
