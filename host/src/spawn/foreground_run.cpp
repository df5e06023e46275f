// run_in_foreground: the poll() loop behind `airlock-host exec`.
#include <airlock/host/foreground_run.hpp>
#include <airlock/host/output_pump.hpp>
#include <airlock/host/plugin_session.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#ifdef AIRLOCK_HAVE_SANDBOX
#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/violation_report_limiter.hpp>
#endif
#if defined(AIRLOCK_HAVE_SANDBOX) && defined(AIRLOCK_HAVE_CONFIG_LOADER)
#include <airlock/host/syscall_sets.hpp>
#endif

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>

namespace airlock::host {
namespace {

// After the plugin exits, keep reading for this long at most: a descendant that inherited
// the pipe could otherwise keep `exec` waiting forever.
constexpr auto kDrainAfterExit = std::chrono::seconds(1);

void write_all(int fd, const std::string& text) {
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t written = ::write(fd, data, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;  // the reader went away: nothing sensible to do
        data += written;
        left -= static_cast<std::size_t>(written);
    }
}

void forward_lines(OutputPump& pump, const ForegroundOptions& options) {
    for (const auto& line : pump.take_pending()) {
        int fd = line.stream == OutputStream::Stdout ? options.output_fd : options.error_fd;
        write_all(fd, pump.format(line) + "\n");
    }
}

// Blocks the forwarded signals and reads them through a signalfd while alive.
class ForwardedSignals {
public:
    ForwardedSignals() {
        sigemptyset(&set_);
        for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set_, signal_number);
        pthread_sigmask(SIG_BLOCK, &set_, &previous_);
        fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
    }
    ForwardedSignals(const ForwardedSignals&) = delete;
    ForwardedSignals& operator=(const ForwardedSignals&) = delete;
    ~ForwardedSignals() {
        fd_.reset();
        // Signals that arrived after the plugin ended stay pending and act on the host now.
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    int fd() const noexcept { return fd_.get(); }
    /// The next received signal, or 0.
    int take() noexcept {
        signalfd_siginfo info{};
        return ::read(fd_.get(), &info, sizeof info) == sizeof info ? static_cast<int>(info.ssi_signo) : 0;
    }

private:
    sigset_t set_{};
    sigset_t previous_{};
    UniqueFd fd_;
};

// Notifications answered per poll round before the output gets its turn again.
constexpr int kViolationsPerRound = 64;

// The host's own view of forbidden system calls (seccomp user notification).
class ViolationReporter {
public:
    ViolationReporter(const Spawner& spawner, SpawnedPlugin& plugin, int error_fd)
        : plugin_name_(plugin.name), error_fd_(error_fd), learn_(spawner.plugin().syscalls.learn) {
#ifdef AIRLOCK_HAVE_SANDBOX
        monitor_ = make_violation_monitor(spawner, plugin);
        limiter_.emplace(plugin.name);
#else
        (void)spawner;
#endif
    }
    /// The listener to poll, or -1.
    int fd() const noexcept {
#ifdef AIRLOCK_HAVE_SANDBOX
        if (monitor_) return monitor_->fd();
#endif
        return -1;
    }
    /// Handles pending notifications (at most kViolationsPerRound, so that a plugin that
    /// violates without pause does not starve its output); false once nobody uses the filter.
    bool handle_pending() {
#ifdef AIRLOCK_HAVE_SANDBOX
        for (int handled = 0; monitor_; ++handled) {
            if (handled == kViolationsPerRound) return true;
            auto violation = monitor_->handle_one(0);
            if (!violation) {
                if (violation.status().code() != StatusCode::PeerClosed) {
                    write_all(error_fd_, "airlock-host: plugin " + plugin_name_ +
                                             ": violation monitor: " + violation.status().message() + "\n");
                }
                monitor_.reset();
                return false;
            }
            if (!*violation) return true;
            ++reported_;
            if (learn_) learn(**violation);
            write_lines(limiter_->record(**violation));
        }
#endif
        return false;
    }
    /// When the summary of a rate-limited violation flood is due, if one is pending.
    std::optional<std::chrono::steady_clock::time_point> summary_due() const {
#ifdef AIRLOCK_HAVE_SANDBOX
        return limiter_->next_due();
#else
        return std::nullopt;
#endif
    }
    /// Writes the summaries that are due; with `all`, every pending one (at the plugin's exit).
    void write_summaries([[maybe_unused]] bool all) {
#ifdef AIRLOCK_HAVE_SANDBOX
        write_lines(all ? limiter_->take_all() : limiter_->take_due());
#endif
    }
    /// Violations reported so far.
    int reported() const noexcept { return reported_; }
    /// Learn mode: what the run needed, as the allow line to paste, and what the sandbox
    /// refused whatever the policy says.
    void write_learned([[maybe_unused]] const SyscallPolicy& policy) {
        if (!learn_) return;
        const std::string who = "airlock-host: learn: plugin " + plugin_name_;
#if defined(AIRLOCK_HAVE_SANDBOX) && defined(AIRLOCK_HAVE_CONFIG_LOADER)
        if (used_.empty()) {
            write_all(error_fd_, who + " made no system call outside its policy\n");
        } else {
            write_all(error_fd_, who + " needed " + std::to_string(used_.size()) +
                                     " system call(s) outside its policy; add to [plugin." + plugin_name_ +
                                     ".syscalls] (merged with any allow list there):\n");
            write_all(error_fd_, learned_allow_line(used_, policy.allowed) + "\n");
        }
        for (const auto& [name, why] : refused_)
            write_all(error_fd_, who + ": refused " + name + " (no config can allow it): " + why + "\n");
#else
        write_all(error_fd_, who + ": this build cannot name groups; see the reports above\n");
#endif
    }

private:
    std::string plugin_name_;
    int error_fd_;
    int reported_ = 0;
    bool learn_ = false;
    std::set<std::string> used_;                // continued: the policy should allow these
    std::map<std::string, std::string> refused_;  // sandbox denials: name -> why
#ifdef AIRLOCK_HAVE_SANDBOX
    void learn(const Violation& violation) {
        if (violation.action == ViolationAction::Log)
            used_.insert(violation.syscall_name);
        else
            refused_.emplace(violation.syscall_name + (violation.architecture.empty() ? "" : " (" + violation.architecture + ")"),
                             violation.advice);
    }
    void write_lines(const std::vector<std::string>& lines) {
        for (const std::string& line : lines) write_all(error_fd_, "airlock-host: " + line + "\n");
    }
    std::optional<ViolationMonitor> monitor_;
    std::optional<ViolationReportLimiter> limiter_;
#endif
};

using Clock = std::chrono::steady_clock;

void report_exit(const SpawnedPlugin& plugin, const PluginExit& exit, const OutputPump& pump,
                 const ViolationReporter& violations, const Limits& limits, int error_fd) {
    const std::string who = "plugin " + plugin.name + " (pid " + std::to_string(plugin.process.pid()) + ")";
    if (pump.dropped_lines() > 0) {
        write_all(error_fd, "airlock-host: " + who + ": " + std::to_string(pump.dropped_lines()) +
                                " output lines dropped\n");
    }
    if (exit.tasks_refused > 0) {
        // pthread_create/fork failed with EAGAIN inside the plugin; the host says why.
        write_all(error_fd, "airlock-host: " + who + ": reached its tasks limit of " +
                                std::to_string(limits.tasks.value_or(0)) + " (thread or process creations refused: " +
                                std::to_string(exit.tasks_refused) + ")\n");
    }
    if (exit.signaled && exit.signal == SIGSYS && violations.reported() == 0) {
        // Killed by the kernel's filter action without a notification: the exit signal is
        // all the host has observed.
        write_all(error_fd, "airlock-host: " + who + ": forbidden system call: killed (SIGSYS)\n");
    } else if (exit.signaled && !(exit.signal == SIGKILL && violations.reported() > 0)) {
        write_all(error_fd, "airlock-host: " + who + " " + exit.describe(limits) + "\n");
    }
}

// A duration the way a config writes it: "30s", "2m", "1500ms".
std::string duration_text(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

} // namespace

std::string wall_limit_exceeded(const std::string& plugin, pid_t pid, std::chrono::milliseconds limit) {
    return "plugin " + plugin + " (pid " + std::to_string(pid) + "): exceeded its wall-clock limit of " +
           duration_text(limit);
}

PluginExit run_in_foreground(const Spawner& spawner, const ForegroundOptions& options) {
    std::optional<ForwardedSignals> signals;
    if (options.forward_signals) signals.emplace();

    if (spawner.plugin().syscalls.learn) {
        // Never silent: this run is less confined than the config says.
        write_all(options.error_fd, "airlock-host: LEARN MODE for plugin " + spawner.plugin().name +
                                        ": every system call outside its policy is ALLOWED and recorded for this "
                                        "run (the sandbox's own denials and Landlock still hold); use trusted input "
                                        "only\n");
    }
    SpawnedPlugin plugin = spawner.launch(LaunchOptions{options.extra_args});
    ViolationReporter violations(spawner, plugin, options.error_fd);
    // Protocol "airlock": handshake, grant table, ready, log records and the stop request.
    std::optional<PluginSession> session;
    if (spawner.plugin().protocol == PluginProtocol::Airlock) {
        const std::string who = "plugin " + plugin.name + " (pid " + std::to_string(plugin.process.pid()) + ")";
        PluginSession::Callbacks callbacks;
        callbacks.report = [who, fd = options.error_fd](const std::string& text) {
            write_all(fd, "airlock-host: " + who + ": " + text + "\n");
        };
        callbacks.log_line = [fd = options.error_fd](const std::string& line) { write_all(fd, line + "\n"); };
        callbacks.progress = [name = plugin.name, fd = options.error_fd](const protocol::ProgressReport& report) {
            write_all(fd, "[" + name + "] " + protocol::format_progress(report) + "\n");
        };
        session.emplace(plugin, spawner.plugin().supervision, std::move(callbacks));
    }

    OutputPump pump(plugin.name);
    bool stdout_open = true;
    bool stderr_open = true;
    std::optional<Clock::time_point> exited_at;
    // SIGINT/SIGTERM to a ready plugin first become a stop request; the signal itself follows
    // only if the plugin has not exited within the stop timeout.
    int deferred_signal = 0;
    std::optional<Clock::time_point> deferred_until;
    // limits.wall: stop request (SIGTERM without a session) at wall_deadline, SIGKILL at kill_at.
    const auto& wall = spawner.plugin().limits.wall;
    std::optional<Clock::time_point> wall_deadline;
    if (wall) wall_deadline = Clock::now() + *wall;
    std::optional<Clock::time_point> kill_at;

    // Until the plugin has exited and both pipes are at end of stream (or the drain ends).
    while (!exited_at || stdout_open || stderr_open) {
        const auto now = Clock::now();
        if (exited_at && now - *exited_at > kDrainAfterExit) break;
        if (session && !exited_at) session->check_deadline(now);
        if (deferred_signal != 0 && !exited_at && now >= *deferred_until) {
            plugin.process.send_signal(deferred_signal);
            deferred_signal = 0;
        }
        if (wall_deadline && !exited_at && now >= *wall_deadline) {
            wall_deadline.reset();
            write_all(options.error_fd,
                      "airlock-host: " + wall_limit_exceeded(plugin.name, plugin.process.pid(), *wall) + "\n");
            if (!(session && session->request_stop())) plugin.process.send_signal(SIGTERM);
            kill_at = now + spawner.plugin().supervision.stop_timeout;
        }
        if (kill_at && !exited_at && now >= *kill_at) {
            plugin.process.send_signal(SIGKILL);
            kill_at.reset();
        }
        std::optional<Clock::time_point> wake;
        if (exited_at) wake = now + std::chrono::milliseconds(100);
        if (session && !exited_at) wake = session->deadline();
        if (deferred_signal != 0 && (!wake || *deferred_until < *wake)) wake = deferred_until;
        if (auto due = violations.summary_due(); due && (!wake || *due < *wake)) wake = due;
        for (const auto& at : {wall_deadline, kill_at}) {
            if (at && !exited_at && (!wake || *at < *wake)) wake = at;
        }
        int timeout_ms = -1;
        if (wake) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count();
            timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
        }
        pollfd fds[6] = {
            {stdout_open ? plugin.stdout_pipe.get() : -1, POLLIN, 0},
            {stderr_open ? plugin.stderr_pipe.get() : -1, POLLIN, 0},
            {exited_at ? -1 : plugin.process.pidfd(), POLLIN, 0},
            {signals ? signals->fd() : -1, POLLIN, 0},
            {violations.fd(), POLLIN, 0},
            {session ? session->fd() : -1, session ? session->events() : short{0}, 0},
        };
        int ready = ::poll(fds, 6, timeout_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) break;
        if (fds[0].revents != 0) stdout_open = !pump.pump(plugin.stdout_pipe.get(), OutputStream::Stdout).end_of_stream;
        if (fds[1].revents != 0) stderr_open = !pump.pump(plugin.stderr_pipe.get(), OutputStream::Stderr).end_of_stream;
        forward_lines(pump, options);
        // Violations first: the violating thread is blocked until the host answers.
        if (fds[4].revents != 0) violations.handle_pending();
        violations.write_summaries(false);
        if (session && fds[5].revents != 0) session->on_events(fds[5].revents);
        if (fds[2].revents != 0) exited_at = Clock::now();
        if (signals && fds[3].revents != 0) {
            while (int signal_number = signals->take()) {
                const bool stop_first = signal_number == SIGINT || signal_number == SIGTERM;
                if (stop_first && deferred_signal == 0 && session && session->request_stop()) {
                    deferred_signal = signal_number;
                    deferred_until = Clock::now() + spawner.plugin().supervision.stop_timeout;
                } else {
                    plugin.process.send_signal(signal_number);
                }
            }
        }
    }
    if (session) session->drain();  // log records sent just before the exit
    pump.flush(OutputStream::Stdout);
    pump.flush(OutputStream::Stderr);
    forward_lines(pump, options);

    PluginExit exit = plugin.process.wait();
    violations.handle_pending();
    violations.write_summaries(true);
    report_exit(plugin, exit, pump, violations, spawner.plugin().limits, options.error_fd);
    violations.write_learned(spawner.plugin().syscalls);
    return exit;
}

} // namespace airlock::host
