#pragma once
/// @file violation_monitor.hpp
/// Host side of seccomp user notification: receives the listener from the child and turns
/// each forbidden syscall into a `Violation` observed by the host itself.
///
/// The syscall number, pid and architecture come from the kernel (SECCOMP_IOCTL_NOTIF_RECV),
/// never from anything the plugin says; the name is resolved by libseccomp.

#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"
#include "airlock/host/plugin_config.hpp"
#include "airlock/host/seccomp_filter.hpp"

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace airlock::host {

/// One forbidden syscall, as the host saw it and dealt with it.
struct Violation {
    pid_t pid = -1;             ///< process (thread group) id in the host's pid namespace
    pid_t tid = -1;             ///< the thread that made the call
    int syscall_nr = -1;        ///< number on the plugin's architecture
    std::string syscall_name;   ///< e.g. "openat"; "syscall_N" if libseccomp cannot name it
    ViolationAction action = ViolationAction::Kill;  ///< what the host did
    /// Empty for a native call; "i386 (int 0x80)" or "x32" for a foreign-architecture call.
    std::string architecture;
    /// What to do about it, or why it can never be allowed: the argument rule that fired
    /// ("fcntl F_SETFL clearing O_APPEND: ..."), "allow it with syscalls.allow = [...]", or
    /// "io_uring_setup is always denied: ...". Empty when nothing better is known.
    std::string advice;
    /// The argument registers, as the kernel reported them.
    std::array<std::uint64_t, 6> args{};

    /// The report line, e.g. `plugin sort (pid 812): forbidden system call sysinfo (99):
    /// killed; allow it with syscalls.allow = ["sysinfo"] (group @system-info)`.
    [[nodiscard]] std::string describe(std::string_view plugin_name) const;
};

/// "killed", "refused with EPERM" or "allowed and logged".
std::string_view violation_action_outcome(ViolationAction action) noexcept;

/// The advice for a violation of `syscall_name` when the policy simply does not allow it:
/// `allow it with syscalls.allow = ["sysinfo"]`, plus ` (group @system-info)` when `group` is
/// not empty.
std::string allow_advice(std::string_view syscall_name, std::string_view group);

/// The name of a syscall number on the native architecture, e.g. 257 → "openat".
std::string syscall_name(int syscall_nr);

/// Wraps one plugin's seccomp listener descriptor.
///
/// Event-loop friendly: fd() becomes readable when a notification is pending (and reports
/// POLLHUP once every process using the filter has exited); call handle_one() then.
/// While a notification is pending the plugin's thread is blocked inside the syscall.
class ViolationMonitor {
public:
    /// @param listener the descriptor from receive_seccomp_listener().
    /// @param policy   CompiledSeccompFilter::violation_policy() of the loaded filter.
    ViolationMonitor(UniqueFd listener, SeccompViolationPolicy policy);
    ~ViolationMonitor();
    ViolationMonitor(ViolationMonitor&&) noexcept;
    ViolationMonitor& operator=(ViolationMonitor&&) noexcept;
    ViolationMonitor(const ViolationMonitor&) = delete;
    ViolationMonitor& operator=(const ViolationMonitor&) = delete;

    /// The listener descriptor, for poll/epoll/asio (still owned by the monitor).
    [[nodiscard]] int fd() const noexcept;

    /// Waits up to `timeout_ms` (poll semantics: -1 forever, 0 not at all) for one
    /// notification, acts on it and returns what happened. Kill: SIGKILL to the violating
    /// process through a pidfd opened and re-validated while the thread is still blocked
    /// (no pid-reuse race); Errno: the call fails with EPERM; Log: the call continues,
    /// except for syscalls in `never_continue`, which fail with EPERM.
    /// Returns an empty optional on timeout or when the notifying thread went away before
    /// it could be handled; PeerClosed once no process uses the filter any more.
    Result<std::optional<Violation>> handle_one(int timeout_ms = 0);

private:
    struct Buffers;
    UniqueFd listener_;
    SeccompViolationPolicy policy_;
    std::unique_ptr<Buffers> buffers_;  // libseccomp-allocated notification structs
};

/// What send_seccomp_listener() sends (no descriptor: see receive_seccomp_listener()).
struct ListenerHandoffMessage {
    static constexpr std::uint32_t kMagic = 0x4c495354;  // "LIST"
    static constexpr char kTaken = 'T';                    ///< the host's answer: it has the listener
    std::uint32_t magic = kMagic;
    std::int32_t listener_fd = -1;  ///< the listener's number in the child
};

/// Sets SO_PASSCRED on the host's end of a fresh hand-off socketpair. Call it before the child
/// can send (right after socketpair()): the kernel then names the sender of each message.
Status prepare_listener_handoff(int host_socket_fd);

/// Takes the listener that the child named with send_seccomp_listener(): reads the message,
/// copies the descriptor out of the sending process with `pidfd_getfd` (the sender's pid comes
/// from the kernel, SCM_CREDENTIALS), checks it is a seccomp listener and answers, so that the
/// child may go on to exec. The child waits for that answer, so with a CLONE_VFORK launch this
/// runs on another thread than the one that cloned. No descriptor is ever in flight: SCM_RIGHTS
/// count against the *sender's uid*, which all plugins share, so another plugin keeping
/// descriptors in flight would make the hand-off fail (ETOOMANYREFS).
/// `socket_fd` is the host's end (prepare_listener_handoff() called on it); the host must have
/// closed its copy of the child's end, or shut this end down, so that a child that dies before
/// sending yields PeerClosed instead of a hang. On any failure this end is shut down, so a
/// child that waits for the answer fails. The descriptor is close-on-exec. Times out after
/// `timeout_ms`.
Result<UniqueFd> receive_seccomp_listener(int socket_fd, int timeout_ms);

/// receive_seccomp_listener() on a thread of its own, started before the launch: the thread
/// that clones with CLONE_VFORK sleeps until the child executes, and the child waits for the
/// host to take its listener first.
class ListenerReceiver {
public:
    /// Starts receiving on `socket_fd` (not owned; it must outlive this object).
    ListenerReceiver(int socket_fd, int timeout_ms);
    /// Shuts the socket down if the thread still waits (the launch failed), then joins it.
    ~ListenerReceiver();
    ListenerReceiver(const ListenerReceiver&) = delete;
    ListenerReceiver& operator=(const ListenerReceiver&) = delete;

    /// Waits for the thread and returns what it received. Call once.
    Result<UniqueFd> take();

private:
    int socket_fd_;
    Result<UniqueFd> result_;
    std::thread thread_;
};

} // namespace airlock::host
