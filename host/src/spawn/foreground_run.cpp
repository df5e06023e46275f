// run_in_foreground: `airlock-host exec`, one PluginRunner on an io_context of its own plus
// what only the foreground does: stdio relays, forwarded signals, learn mode, exit reports.
#include <airlock/host/foreground_run.hpp>
#include <airlock/host/inherited_stdio.hpp>
#include <airlock/host/plugin_runner.hpp>
#include <airlock/host/stream_relay.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/syscall_sets.hpp>
#include <airlock/host/violation_report_limiter.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace airlock::host {
namespace asio = boost::asio;
namespace {

// After the plugin exits, keep reading for this long at most: a descendant that inherited
// the pipe could otherwise keep `exec` waiting forever.
constexpr auto kDrainAfterExit = std::chrono::seconds(1);

// The host's reports below go through write_waiting: the caller's stderr may be a
// description the plugin shares and made non-blocking, and a report must not be dropped.

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

// Learn mode (`syscalls.learn`): what the run needed outside its policy, as the allow line
// to paste, and what the sandbox refused whatever the policy says. Bounded whatever the
// plugin does: native names are a fixed table (the filter answers unknown numbers ENOSYS
// without asking the host), and calls of another ABI, whose numbers the plugin picks freely,
// are kept as one count per ABI.
class LearnedSyscalls {
public:
    LearnedSyscalls(std::string plugin_name, int error_fd, bool learn)
        : plugin_name_(std::move(plugin_name)), error_fd_(error_fd), learn_(learn) {}
    void record([[maybe_unused]] const Violation& violation) {
        if (!learn_) return;
        if (!violation.architecture.empty()) {
            ForeignCalls& calls = foreign_[violation.architecture];
            if (calls.count++ == 0) {
                calls.first = violation.syscall_name;
                calls.why = violation.advice;
            }
        } else if (violation.action == ViolationAction::Log) {
            used_.insert(violation.syscall_name);
        } else {
            refused_.emplace(violation.syscall_name, violation.advice);
        }
    }
    void write([[maybe_unused]] const SyscallPolicy& policy) {
        if (!learn_) return;
        const std::string who = "airlock-host: learn: plugin " + plugin_name_;
        if (used_.empty()) {
            write_waiting(error_fd_, who + " made no system call outside its policy\n");
        } else {
            write_waiting(error_fd_, who + " needed " + std::to_string(used_.size()) +
                                     " system call(s) outside its policy; add to [plugin." + plugin_name_ +
                                     ".syscalls] (merged with any allow list there):\n");
            write_waiting(error_fd_, learned_allow_line(used_, policy.allowed) + "\n");
        }
        for (const auto& [name, why] : refused_)
            write_waiting(error_fd_, who + ": refused " + name + " (no config can allow it): " + why + "\n");
        for (const auto& [architecture, calls] : foreign_)
            write_waiting(error_fd_, who + ": refused " + grouped_count(calls.count) + " call(s) of " + architecture +
                                         ", the first " + calls.first + " (no config can allow them): " + calls.why +
                                         "\n");
    }

private:
    struct ForeignCalls {
        std::uint64_t count = 0;
        std::string first;  // the first one's name
        std::string why;
    };
    std::string plugin_name_;
    int error_fd_;
    bool learn_ = false;
    std::set<std::string> used_;                  // continued: the policy should allow these
    std::map<std::string, std::string> refused_;  // sandbox denials of native calls: name -> why
    std::map<std::string, ForeignCalls> foreign_;  // calls of another ABI, by ABI
};

using Clock = std::chrono::steady_clock;

void report_exit(PluginRunner& runner, const PluginExit& exit, const Limits& limits, int error_fd) {
    const std::string who = "plugin " + runner.spawned().name + " (pid " + std::to_string(runner.pid()) + ")";
    const OutputPump& pump = runner.output();
    if (pump.dropped_lines() > 0) {
        write_waiting(error_fd, "airlock-host: " + who + ": " + std::to_string(pump.dropped_lines()) +
                                " output lines dropped\n");
    }
    if (exit.tasks_refused > 0) {
        // pthread_create/fork failed with EAGAIN inside the plugin; the host says why.
        write_waiting(error_fd, "airlock-host: " + who + ": reached its tasks limit of " +
                                std::to_string(limits.tasks.value_or(0)) + " (thread or process creations refused: " +
                                std::to_string(exit.tasks_refused) + ")\n");
    }
    if (exit.signaled && exit.signal == SIGSYS && runner.violations() == 0) {
        // Killed by the kernel's filter action without a notification: the exit signal is
        // all the host has observed.
        write_waiting(error_fd, "airlock-host: " + who + ": forbidden system call: killed (SIGSYS)\n");
    } else if (exit.signaled && !(exit.signal == SIGKILL && runner.violations() > 0)) {
        write_waiting(error_fd, "airlock-host: " + who + " " + exit.describe(limits) + "\n");
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

// Whether `fd` has `events` pending right now (edge-triggered reactors only report changes).
bool ready_now(int fd, short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

// Calls `handler` once `stream` is readable (POLLIN) or writable (POLLOUT).
template <class Handler>
void when_ready(asio::io_context& io, asio::posix::stream_descriptor& stream, short events, Handler handler) {
    if (ready_now(stream.native_handle(), events)) {
        asio::post(io, std::move(handler));
        return;
    }
    auto type = (events & POLLOUT) != 0 ? asio::posix::stream_descriptor::wait_write
                                        : asio::posix::stream_descriptor::wait_read;
    stream.async_wait(type, [handler = std::move(handler)](const boost::system::error_code& error) mutable {
        if (!error) handler();
    });
}

// A watcher on a duplicate of `fd`, which stays owned elsewhere.
std::unique_ptr<asio::posix::stream_descriptor> watch(asio::io_context& io, int fd) {
    int copy = fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return nullptr;
    return std::make_unique<asio::posix::stream_descriptor>(io, copy);
}

// A StreamRelay on the loop (stdio = "inherit" with a terminal), re-armed after every read
// and write. close() drops its watchers' duplicates too, so the plugin sees its pipe end.
class LoopRelay : public std::enable_shared_from_this<LoopRelay> {
public:
    LoopRelay(asio::io_context& io, int from, int to, std::function<void()> activity)
        : io_(io), relay_(from, to), from_watch_(watch(io, from)), to_watch_(watch(io, to)),
          activity_(std::move(activity)) {}
    [[nodiscard]] bool finished() const noexcept { return closed_ || relay_.finished(); }
    [[nodiscard]] bool destination_failed() const noexcept { return relay_.destination_failed(); }
    void close() {
        closed_ = true;
        from_watch_.reset();
        to_watch_.reset();
    }
    void arm() {
        if (closed_) return;
        if (relay_.finished() || !from_watch_ || !to_watch_) return close();
        std::weak_ptr<LoopRelay> weak = weak_from_this();
        if (!reading_ && relay_.read_events() != 0) {
            reading_ = true;
            when_ready(io_, *from_watch_, POLLIN, [weak]() {
                if (auto self = weak.lock(); self && !self->closed_) self->after([&] { self->reading_ = false; self->relay_.on_readable(); });
            });
        }
        if (!writing_ && relay_.write_events() != 0) {
            writing_ = true;
            when_ready(io_, *to_watch_, POLLOUT, [weak]() {
                if (auto self = weak.lock(); self && !self->closed_) self->after([&] { self->writing_ = false; self->relay_.on_writable(); });
            });
        }
    }

private:
    template <class Step>
    void after(Step step) {
        step();
        arm();
        if (activity_) activity_();
    }
    asio::io_context& io_;
    StreamRelay relay_;
    std::unique_ptr<asio::posix::stream_descriptor> from_watch_, to_watch_;
    std::function<void()> activity_;
    bool reading_ = false, writing_ = false, closed_ = false;
};

} // namespace

PluginExit run_in_foreground(const Spawner& spawner, const ForegroundOptions& options) {
    const PluginConfig& config = spawner.plugin();
    std::optional<ForwardedSignals> signals;
    if (options.forward_signals) signals.emplace();

    if (config.syscalls.learn) {
        // Never silent: this run is less confined than the config says.
        write_waiting(options.error_fd, "airlock-host: LEARN MODE for plugin " + config.name +
                                        ": every system call outside its policy is ALLOWED and recorded for this "
                                        "run (the sandbox's own denials and Landlock still hold); use trusted input "
                                        "only\n");
    }
    const LaunchOptions launch = launch_options_for(options);
    // What the plugin changes on the caller's descriptions (O_NONBLOCK, O_APPEND, SIGIO
    // owner) ends with it: the state is put back once it has gone.
    SharedDescriptionState shared_descriptions(launch.stdio);
    SpawnedPlugin spawned = spawner.launch(launch);
    std::optional<ViolationMonitor> monitor;
    monitor = make_violation_monitor(spawner, spawned);
    const int error_fd = options.error_fd;
    const std::string who = "plugin " + spawned.name + " (pid " + std::to_string(spawned.process.pid()) + ")";
    LearnedSyscalls learned(spawned.name, error_fd, config.syscalls.learn);

    asio::io_context io;
    std::optional<PluginExit> exit;
    std::shared_ptr<LoopRelay> relays[3];  // stdin, stdout, stderr (stdio = "inherit", terminals)
    auto relaying = [&]() { return (relays[1] && !relays[1]->finished()) || (relays[2] && !relays[2]->finished()); };
    // After the exit, relayed output is drained until it stops moving for kDrainAfterExit.
    Clock::time_point last_output = Clock::now();
    asio::steady_timer drain_timer(io);
    std::function<void()> check_done = [&]() {
        if (!exit) return;
        if (!relaying() || Clock::now() - last_output >= kDrainAfterExit) return io.stop();
        drain_timer.expires_at(last_output + kDrainAfterExit);
        drain_timer.async_wait([&](const boost::system::error_code& error) {
            if (!error) check_done();
        });
    };

    PluginRunner::Events events;
    events.report = [who, error_fd](const std::string& text) { write_waiting(error_fd, "airlock-host: " + who + ": " + text + "\n"); };
    // stdio = "log": the pipes are split into prefixed lines, written as they come (blocking:
    // the backpressure; the pump's limits keep the lines waiting bounded).
    events.output = [&options](const OutputLine& line, const std::string& formatted) {
        write_waiting(line.stream == OutputStream::Stdout ? options.output_fd : options.error_fd, formatted + "\n");
    };
    events.log_line = [error_fd](const std::string& line) { write_waiting(error_fd, line + "\n"); };
    events.progress = [name = spawned.name, error_fd](const protocol::ProgressReport& report) {
        write_waiting(error_fd, "[" + name + "] " + protocol::format_progress(report) + "\n");
    };
    events.violation = [&learned](const Violation& violation) { learned.record(violation); };
    events.violation_report = [error_fd](const std::string& line) { write_waiting(error_fd, "airlock-host: " + line + "\n"); };
    events.wall_limit = [error_fd](const std::string& message) { write_waiting(error_fd, "airlock-host: " + message + "\n"); };
    events.exited = [&](const PluginExit& ended) {
        exit = ended;
        last_output = std::max(last_output, Clock::now());  // the drain counts from the exit
        // Nobody reads the plugin's stdin any more: the caller's input stays unread.
        if (relays[0]) relays[0]->close();
        check_done();
    };
    PluginRunner::Options run_options;
    run_options.pump_output = !options.inherit_stdio;
    run_options.pump_limits = foreground_pump_limits();
    run_options.drain_after_exit = kDrainAfterExit;
    auto runner = PluginRunner::create(io, config, std::move(events), run_options);
    runner->start(std::move(spawned), std::move(monitor));
    SpawnedPlugin& plugin = runner->spawned();

    // stdio = "inherit": pipes exist only for a terminal, whose bytes are relayed unchanged.
    if (options.inherit_stdio) {
        const int from[3] = {options.input_fd, plugin.stdout_pipe.get(), plugin.stderr_pipe.get()};
        const int to[3] = {plugin.stdin_pipe.get(), options.output_fd, options.error_fd};
        for (int i = 0; i < 3; ++i) {
            if ((i == 0 ? to[i] : from[i]) < 0) continue;
            relays[i] = std::make_shared<LoopRelay>(io, from[i], to[i], [&, i]() {
                if (i > 0) last_output = Clock::now();
                // The plugin's stdin ends when the caller's does, or when the plugin closed it.
                if (i == 0 && relays[0]->finished()) {
                    relays[0]->close();
                    plugin.stdin_pipe.reset();
                }
                // A reader that went away: the plugin gets EPIPE on its next write, as it would directly.
                if (i > 0 && relays[i]->destination_failed()) {
                    relays[i]->close();
                    (i == 1 ? plugin.stdout_pipe : plugin.stderr_pipe).reset();
                }
                check_done();
            });
            relays[i]->arm();
        }
    }
    if (exit && relays[0]) relays[0]->close();

    // SIGINT/SIGTERM first become a stop request to a ready plugin; the signal itself follows
    // only if the plugin has not exited within the stop timeout. Others go through at once.
    std::unique_ptr<asio::posix::stream_descriptor> signal_watch = signals ? watch(io, signals->fd()) : nullptr;
    std::function<void()> wait_signals = [&]() {
        if (!signal_watch) return;
        when_ready(io, *signal_watch, POLLIN, [&]() {
            while (int signal_number = signals->take()) {
                const bool stop_first = signal_number == SIGINT || signal_number == SIGTERM;
                if (stop_first && !runner->stop_requested()) {
                    runner->stop(signal_number, {signal_number});
                } else {
                    runner->send_signal(signal_number);
                }
            }
            if (!exit) wait_signals();
        });
    };
    wait_signals();

    if (!exit) io.run();
    if (relays[0]) relays[0]->close();
    plugin.stdin_pipe.reset();
    for (auto& relay : relays) {
        if (relay) relay->close();
    }
    signal_watch.reset();
    if (!exit) exit = plugin.process.wait();  // the loop ran dry without seeing the exit (no pidfd watch)
    shared_descriptions.restore();

    report_exit(*runner, *exit, config.limits, error_fd);
    learned.write(config.syscalls);
    return *exit;
}

} // namespace airlock::host
