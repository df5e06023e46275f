// run_in_foreground: the poll() loop behind `airlock-host exec`.
#include <airlock/host/foreground_run.hpp>
#include <airlock/host/output_pump.hpp>
#include <airlock/host/plugin_session.hpp>
#include <airlock/host/stream_relay.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/violation_report_limiter.hpp>
#include <airlock/host/syscall_sets.hpp>

#include <fcntl.h>
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
#include <vector>
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
        monitor_ = make_violation_monitor(spawner, plugin);
        limiter_.emplace(plugin.name);
    }
    /// The listener to poll, or -1.
    int fd() const noexcept {
        if (monitor_) return monitor_->fd();
        return -1;
    }
    /// Handles pending notifications (at most kViolationsPerRound, so that a plugin that
    /// violates without pause does not starve its output); false once nobody uses the filter.
    bool handle_pending() {
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
        return false;
    }
    /// When the summary of a rate-limited violation flood is due, if one is pending.
    std::optional<std::chrono::steady_clock::time_point> summary_due() const {
        return limiter_->next_due();
    }
    /// Writes the summaries that are due; with `all`, every pending one (at the plugin's exit).
    void write_summaries([[maybe_unused]] bool all) {
        write_lines(all ? limiter_->take_all() : limiter_->take_due());
    }
    /// Violations reported so far.
    int reported() const noexcept { return reported_; }
    /// Learn mode: what the run needed, as the allow line to paste, and what the sandbox
    /// refused whatever the policy says.
    void write_learned([[maybe_unused]] const SyscallPolicy& policy) {
        if (!learn_) return;
        const std::string who = "airlock-host: learn: plugin " + plugin_name_;
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
    }

private:
    std::string plugin_name_;
    int error_fd_;
    int reported_ = 0;
    bool learn_ = false;
    std::set<std::string> used_;                // continued: the policy should allow these
    std::map<std::string, std::string> refused_;  // sandbox denials: name -> why
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

namespace {

bool is_open(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }

// stdio = "inherit": a descriptor that is not a terminal goes to the plugin as it is (a
// pipe, a file, a socket: what a shell would pass); a terminal is pumped through a pipe.
LaunchOptions launch_options_for(const ForegroundOptions& options) {
    LaunchOptions launch{options.extra_args};
    if (!options.inherit_stdio) return launch;
    const int fds[3] = {options.input_fd, options.output_fd, options.error_fd};
    for (int i = 0; i < 3; ++i) {
        if (is_open(fds[i]) && ::isatty(fds[i]) == 0) launch.stdio[i] = fds[i];
    }
    launch.stdin_pipe = launch.stdio[0] < 0 && is_open(fds[0]);
    return launch;
}

// The bounds of `log` output in the foreground: one pump call reads at most one chunk, so
// it can never produce more lines than may wait; forward_lines() then writes them all
// (blocking), which is the backpressure. Nothing is dropped, only overlong lines are cut.
OutputPumpLimits foreground_pump_limits() {
    OutputPumpLimits limits;
    limits.read_budget_bytes = 16 * 1024;
    limits.max_pending_lines = 2 * limits.read_budget_bytes + 2;
    limits.recent_lines = 0;
    return limits;
}

// A set of pollfds built per round; add() returns the entry's index (or -1 for no fd).
class PollSet {
public:
    int add(int fd, short events) {
        if (fd < 0 || events == 0) return -1;
        fds_.push_back({fd, events, 0});
        return static_cast<int>(fds_.size()) - 1;
    }
    short revents(int index) const { return index < 0 ? short{0} : fds_[static_cast<std::size_t>(index)].revents; }
    int poll(int timeout_ms) { return ::poll(fds_.data(), fds_.size(), timeout_ms); }

private:
    std::vector<pollfd> fds_;
};

} // namespace

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
    SpawnedPlugin plugin = spawner.launch(launch_options_for(options));
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

    // stdio = "log": the pipes are split into prefixed lines.
    OutputPump pump(plugin.name, foreground_pump_limits());
    bool stdout_open = !options.inherit_stdio && plugin.stdout_pipe;
    bool stderr_open = !options.inherit_stdio && plugin.stderr_pipe;
    // stdio = "inherit": pipes exist only for a terminal, whose bytes are relayed unchanged.
    std::optional<StreamRelay> input_relay;
    std::optional<StreamRelay> output_relays[2];
    if (options.inherit_stdio) {
        if (plugin.stdin_pipe) input_relay.emplace(options.input_fd, plugin.stdin_pipe.get());
        if (plugin.stdout_pipe) output_relays[0].emplace(plugin.stdout_pipe.get(), options.output_fd);
        if (plugin.stderr_pipe) output_relays[1].emplace(plugin.stderr_pipe.get(), options.error_fd);
    }
    auto output_open = [&]() {
        return stdout_open || stderr_open || (output_relays[0] && !output_relays[0]->finished()) ||
               (output_relays[1] && !output_relays[1]->finished());
    };
    std::optional<Clock::time_point> exited_at;
    // After the exit, output is drained until it stops moving for kDrainAfterExit.
    Clock::time_point last_output = Clock::now();
    // SIGINT/SIGTERM to a ready plugin first become a stop request; the signal itself follows
    // only if the plugin has not exited within the stop timeout.
    int deferred_signal = 0;
    std::optional<Clock::time_point> deferred_until;
    // limits.wall: stop request (SIGTERM without a session) at wall_deadline, SIGKILL at kill_at.
    const auto& wall = spawner.plugin().limits.wall;
    std::optional<Clock::time_point> wall_deadline;
    if (wall) wall_deadline = Clock::now() + *wall;
    std::optional<Clock::time_point> kill_at;

    // Until the plugin has exited and its output is at end of stream (or the drain ends).
    while (!exited_at || output_open()) {
        const auto now = Clock::now();
        if (exited_at && now - std::max(*exited_at, last_output) > kDrainAfterExit) break;
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
        PollSet poll_set;
        const int stdout_index = poll_set.add(stdout_open ? plugin.stdout_pipe.get() : -1, POLLIN);
        const int stderr_index = poll_set.add(stderr_open ? plugin.stderr_pipe.get() : -1, POLLIN);
        const int exit_index = poll_set.add(exited_at ? -1 : plugin.process.pidfd(), POLLIN);
        const int signal_index = poll_set.add(signals ? signals->fd() : -1, POLLIN);
        const int violation_index = poll_set.add(violations.fd(), POLLIN);
        const int session_index = poll_set.add(session ? session->fd() : -1, session ? session->events() : short{0});
        int relay_read_index[3] = {-1, -1, -1};
        int relay_write_index[3] = {-1, -1, -1};
        StreamRelay* relays[3] = {input_relay ? &*input_relay : nullptr, output_relays[0] ? &*output_relays[0] : nullptr,
                                  output_relays[1] ? &*output_relays[1] : nullptr};
        for (int i = 0; i < 3; ++i) {
            if (relays[i] == nullptr || relays[i]->finished()) continue;
            relay_read_index[i] = poll_set.add(relays[i]->from(), relays[i]->read_events());
            relay_write_index[i] = poll_set.add(relays[i]->to(), relays[i]->write_events());
        }
        int ready = poll_set.poll(timeout_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) break;
        if (poll_set.revents(stdout_index) != 0) {
            stdout_open = !pump.pump(plugin.stdout_pipe.get(), OutputStream::Stdout).end_of_stream;
            last_output = Clock::now();
        }
        if (poll_set.revents(stderr_index) != 0) {
            stderr_open = !pump.pump(plugin.stderr_pipe.get(), OutputStream::Stderr).end_of_stream;
            last_output = Clock::now();
        }
        forward_lines(pump, options);
        for (int i = 0; i < 3; ++i) {
            if (poll_set.revents(relay_read_index[i]) != 0) relays[i]->on_readable();
            if (poll_set.revents(relay_write_index[i]) != 0) relays[i]->on_writable();
            if (i > 0 && (poll_set.revents(relay_read_index[i]) | poll_set.revents(relay_write_index[i])) != 0)
                last_output = Clock::now();
        }
        // The plugin's stdin ends when the caller's does, or when the plugin closed it.
        if (input_relay && input_relay->finished()) {
            input_relay.reset();
            plugin.stdin_pipe.reset();
        }
        // A reader that went away: the plugin gets EPIPE on its next write, as it would directly.
        if (output_relays[0] && output_relays[0]->destination_failed()) plugin.stdout_pipe.reset();
        if (output_relays[1] && output_relays[1]->destination_failed()) plugin.stderr_pipe.reset();
        // Violations first: the violating thread is blocked until the host answers.
        if (poll_set.revents(violation_index) != 0) violations.handle_pending();
        violations.write_summaries(false);
        if (session && poll_set.revents(session_index) != 0) session->on_events(poll_set.revents(session_index));
        if (poll_set.revents(exit_index) != 0) {
            exited_at = Clock::now();
            // Nobody reads the plugin's stdin any more: the caller's input stays unread.
            input_relay.reset();
            plugin.stdin_pipe.reset();
        }
        if (signals && poll_set.revents(signal_index) != 0) {
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
