#pragma once
/// @file received_descriptors.hpp
/// Closing descriptors a peer sent without waiting for them.
///
/// Closing the last reference to some files waits for as long as their owner likes: a TCP
/// socket set to linger with unsent data, also when it is in flight inside an AF_UNIX socket
/// that is itself the descriptor received; a FUSE file whose daemon never answers the flush.
/// A process whose event loop receives descriptors from peers it does not trust (the host,
/// from plugins and control clients) turns this on once: from then on every descriptor a
/// `Connection` receives is closed by a background thread when its `UniqueFd` lets go of it,
/// so no peer can stop the loop in `close()`. Descriptors the process opened itself are closed
/// at once, as before.

namespace airlock {

/// Turns off-thread closing of received descriptors on for this process (idempotent,
/// thread-safe). A process forked afterwards closes its copies itself at the fork.
void close_received_descriptors_off_thread() noexcept;

/// Whether close_received_descriptors_off_thread() was called.
[[nodiscard]] bool received_descriptors_closed_off_thread() noexcept;

/// Records that `fd` came from a peer (the connection library calls it for each descriptor it
/// receives); a no-op unless off-thread closing is on.
void mark_received_descriptor(int fd) noexcept;

/// Closes `fd`: hands it to the closing thread when it is a marked received descriptor,
/// else closes it now. What UniqueFd calls.
void close_descriptor(int fd) noexcept;

/// Received descriptors handed to the closing thread and not yet closed (for tests).
[[nodiscard]] unsigned long received_descriptors_closing() noexcept;

} // namespace airlock
