#pragma once
/// @file lockdown.hpp
/// Self-lockdown: a plugin tightens its own seccomp policy after start-up (never loosens it).
///
/// @code
/// #include <airlock/plugin/lockdown.hpp>
/// #include <airlock/plugin/plugin.hpp>
///
/// int main() {
///     airlock::plugin::Plugin plugin;
///     auto data = plugin.directory("data");          // take the grants first ...
///     auto config = data.open("config.toml");        // ... and open what you need
///     plugin.on<Request, Reply>("work", handler);
///
///     // From now on no thread of this plugin can open a file again.
///     airlock::plugin::deny_syscalls({"open", "openat", "openat2"});
///     return plugin.run();
/// }
/// @endcode
///
/// ## What a lockdown is
/// Each `apply()` (or `deny_syscalls` / `allow_only_syscalls`) compiles one seccomp filter
/// with libseccomp and installs it on **every thread** of the plugin at once
/// (`SECCOMP_FILTER_FLAG_TSYNC`): threads started earlier are covered, threads started later
/// inherit it. Filters stack: the kernel runs every installed filter on each system call and
/// applies the most restrictive answer (kill > errno > the host's notification > allow). So a
/// later lockdown can only add refusals; allowing a call that an earlier lockdown, or the host,
/// refuses has no effect. Nothing removes a filter, and it lasts until the process ends.
///
/// Either the whole filter is installed on every thread, or nothing is installed and a
/// `PluginError` says why — a failed lockdown never leaves the plugin silently unconfined.
///
/// ## What the host sees
/// The host's own filter reports its violations to the host as seccomp user notifications.
/// A refusal from a self-lockdown takes precedence over that (kernel precedence rules), so:
/// - `Refusal::error(e)`: the call fails with `e` inside the plugin; the host is **not** told.
/// - `Refusal::kill()`: the kernel kills the plugin process with SIGSYS; the host sees the
///   process end by signal 31 (SIGSYS), not a violation report naming the call.
/// Calls a lockdown allows still go through the host's filter unchanged.
///
/// ## Requirements
/// The host's policy must allow `seccomp` (the default profile does, through its `@sandbox`
/// group). The lockdown itself then makes only `seccomp()` calls (libseccomp probes the
/// kernel's seccomp features once with `SECCOMP_GET_ACTION_AVAIL`, `SECCOMP_GET_NOTIF_SIZES`
/// and invalid `SECCOMP_SET_MODE_*` requests, then loads the filter) plus memory allocation.
/// Outside airlock-host, a process without no_new_privs and without CAP_SYS_ADMIN gets
/// no_new_privs set (`prctl(PR_SET_NO_NEW_PRIVS)`) before the load, as seccomp requires.
///
/// Names are Linux system call names as in syscalls(2), checked with libseccomp. Names that
/// exist only on another architecture (e.g. `socketcall` on x86_64) are accepted and have no
/// effect here. `exit`, `exit_group`, `rt_sigreturn` and `restart_syscall` can never be
/// refused: a plugin must always be able to end and to return from a signal handler.
///
/// Lockdowns may be applied from any thread; the SDK serialises them.

#include <airlock/plugin/error.hpp>

#include <cerrno>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::plugin {

/// How a refused system call is answered.
class Refusal {
public:
    /// The call does not run and fails with `error_number` (1 to 4095; default `EPERM`).
    /// The host is not told.
    [[nodiscard]] static constexpr Refusal error(int error_number = EPERM) noexcept { return Refusal(false, error_number); }
    /// The kernel kills the whole plugin process with SIGSYS (`SECCOMP_RET_KILL_PROCESS`)
    /// before the call runs. The host sees the plugin end by signal 31.
    [[nodiscard]] static constexpr Refusal kill() noexcept { return Refusal(true, 0); }

    /// True for `kill()`.
    [[nodiscard]] constexpr bool kills() const noexcept { return kill_; }
    /// The errno of `error(e)`; 0 for `kill()`.
    [[nodiscard]] constexpr int error_number() const noexcept { return error_; }
    /// "EPERM", "EACCES", ... or "kill".
    [[nodiscard]] std::string describe() const;

    friend constexpr bool operator==(const Refusal&, const Refusal&) noexcept = default;

private:
    constexpr Refusal(bool kill, int error) noexcept : kill_(kill), error_(error) {}
    bool kill_;
    int error_;
};

/// One self-lockdown: a deny list, an allowlist, or both, installed by `apply()`.
///
/// @code
/// using airlock::plugin::Lockdown;
/// using airlock::plugin::Refusal;
/// Lockdown()
///     .allow_only(Lockdown::serving_syscalls())     // what Plugin::run needs to keep serving
///     .allow_only({"pread64", "fstat", "newfstatat"})
///     .deny({"getdents64"}, Refusal::error(EACCES))
///     .otherwise(Refusal::kill())
///     .apply();
/// @endcode
///
/// Names are checked when they are added (`deny`, `allow_only`), so a mistake throws at the
/// line that made it and nothing is installed. A `Lockdown` can be applied more than once;
/// each `apply()` stacks one more identical filter.
class Lockdown {
public:
    Lockdown() = default;

    /// From now on these calls are refused with `refusal`. Denying a name twice keeps the
    /// harsher refusal (`kill` over an errno; between two errnos the later one). A denied name
    /// wins over the same name in `allow_only`.
    /// @throws PluginError InvalidArgument for an unknown system call name (the message
    ///         names it), for `exit`, `exit_group`, `rt_sigreturn` or `restart_syscall`, and
    ///         for an errno outside 1–4095.
    Lockdown& deny(std::initializer_list<std::string_view> syscalls, Refusal refusal = Refusal::error());
    /// The same for a list built at run time.
    Lockdown& deny(const std::vector<std::string>& syscalls, Refusal refusal = Refusal::error());

    /// Makes this lockdown an allowlist: from now on only the calls named in `allow_only`
    /// (every call of this `Lockdown` adds to one list) are allowed — plus `exit`,
    /// `exit_group`, `rt_sigreturn` and `restart_syscall`, which are always allowed. Every
    /// other call gets the `otherwise` refusal. An allowlist cannot re-enable anything an
    /// earlier lockdown or the host refuses. Leave out `seccomp` and this is the last
    /// lockdown: later ones fail (or kill the plugin under `otherwise(Refusal::kill())`).
    ///
    /// Mind the C library: calls it makes behind your back must be in the list. A thread that
    /// was created but has not finished starting when the allowlist is applied makes glibc's
    /// start-up calls (`rseq`, `set_robust_list`, `rt_sigprocmask`) under it, and a refused
    /// `rseq` is fatal there: wait until your threads run before locking down, or allow
    /// `thread_syscalls()`. Calls libc probes expecting ENOSYS (e.g. `clone3`, which the host
    /// answers ENOSYS) get `otherwise` instead when they are not listed, so fallbacks break.
    /// @throws PluginError InvalidArgument for an unknown system call name.
    Lockdown& allow_only(std::initializer_list<std::string_view> syscalls);
    /// The same for a list built at run time (e.g. `serving_syscalls()`).
    Lockdown& allow_only(const std::vector<std::string>& syscalls);

    /// How calls outside the allowlist are refused (default `Refusal::error(EPERM)`). Used only
    /// once `allow_only` was called.
    /// @throws PluginError InvalidArgument for an errno outside 1–4095.
    Lockdown& otherwise(Refusal refusal);

    /// Installs the filter on every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`). Does
    /// nothing when neither `deny` nor `allow_only` was called.
    /// @throws PluginError System when the filter cannot be installed — the seccomp() system
    ///         call is unavailable (under airlock-host: the plugin's syscall policy does not
    ///         allow `seccomp`), a thread cannot be synchronised, the stacked filters are too
    ///         long, ... The message says why; nothing was installed.
    void apply() const;

    /// The calls denied so far, with their refusal.
    [[nodiscard]] const std::map<std::string, Refusal, std::less<>>& denied() const noexcept { return denied_; }
    /// The allowlist, or nothing when `allow_only` was not called.
    [[nodiscard]] const std::optional<std::set<std::string, std::less<>>>& allowed() const noexcept { return allowed_; }

    /// The system calls `Plugin::run()` needs to keep serving: receive calls and answer them
    /// (`recvmsg`, `sendmsg`, `poll`, descriptors passed along), log to the host, allocate
    /// memory, wait on locks, let threads end, stop and exit. Start an allowlist with these and
    /// add what your handlers need.
    [[nodiscard]] static const std::vector<std::string>& serving_syscalls();
    /// What starting, joining and ending threads needs (glibc's `pthread_create` and thread
    /// start-up: `clone3` so that the host's ENOSYS answer reaches glibc, `clone`, `rseq`,
    /// `set_robust_list`, `rt_sigprocmask`, stacks, `futex`, `exit`). Add it to an allowlist
    /// when the plugin creates threads afterwards, or may still have threads starting up.
    [[nodiscard]] static const std::vector<std::string>& thread_syscalls();

private:
    std::map<std::string, Refusal, std::less<>> denied_;
    std::optional<std::set<std::string, std::less<>>> allowed_;
    Refusal otherwise_ = Refusal::error();
};

/// `Lockdown().deny(syscalls, refusal).apply()`: from now on these calls are refused on every
/// thread. E.g. `deny_syscalls({"open", "openat", "openat2"})` once the plugin has opened all
/// it needs.
/// @throws PluginError as `Lockdown::deny` and `Lockdown::apply`.
void deny_syscalls(std::initializer_list<std::string_view> syscalls, Refusal refusal = Refusal::error());
/// The same for a list built at run time.
void deny_syscalls(const std::vector<std::string>& syscalls, Refusal refusal = Refusal::error());

/// `Lockdown().allow_only(syscalls).otherwise(otherwise).apply()`: from now on only these
/// calls are allowed on every thread. Include `Lockdown::serving_syscalls()` to keep serving.
/// @throws PluginError as `Lockdown::allow_only` and `Lockdown::apply`.
void allow_only_syscalls(const std::vector<std::string>& syscalls, Refusal otherwise = Refusal::error());
/// The same for a fixed list.
void allow_only_syscalls(std::initializer_list<std::string_view> syscalls, Refusal otherwise = Refusal::error());

} // namespace airlock::plugin
