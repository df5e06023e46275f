#pragma once
/// @file plugin_runner.hpp
/// One plugin process's lifecycle on a Boost.Asio event loop: the one place where a launched
/// plugin goes through handshake → ready → stop request → signal after `stop_timeout` → reap
/// (and its `limits.wall`). The supervisor (many plugins, restart policy, reload) and
/// `airlock-host exec` (run_in_foreground) are its users; they decide what the events mean
/// (log lines, states, exit reports); so does the blocking PluginClient, which drives it on an
/// io_context of its own.
///
/// Steps, all on the loop that drives the runner:
/// - `start()` adopts a launched process (Spawner::launch). Protocol "airlock": a
///   PluginSession does the pid-checked handshake and sends the grant table; a plugin that
///   does not report ready within `ready_timeout` is refused (SIGKILL). Protocol "none" is
///   ready at once.
/// - Its stdout/stderr are split into bounded lines (OutputPump), its log records and
///   progress reports are passed on, seccomp violations are answered (ViolationMonitor) and
///   their reports rate-limited (ViolationReportLimiter).
/// - `stop()` sends the stop request when the plugin is ready (otherwise a signal), then
///   further signals, each after another `stop_timeout`, while it still runs.
/// - `limits.wall`: after that long, a stop request (SIGTERM without one) and SIGKILL after
///   `stop_timeout`.
/// - Its pidfd tells when it exited; the runner reaps it, reads what is left of its output
///   and log records, and reports the exit once (`Events::exited`).
///
/// Create with `PluginRunner::create` (handlers hold weak references: dropping the last
/// `shared_ptr` ends the runner, and `PluginProcess` kills and reaps what still runs).
/// Errors in the plugin's behaviour are events, never exceptions.

#include <airlock/host/host_work_budget.hpp>
#include <airlock/host/output_pump.hpp>
#include <airlock/host/plugin_config.hpp>
#include <airlock/host/plugin_session.hpp>
#include <airlock/host/spawner.hpp>
#include <airlock/host/violation_monitor.hpp>
#include <airlock/host/violation_report_limiter.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace airlock::host {

/// One plugin process from its launch to its reaping. See the file comment.
class PluginRunner : public std::enable_shared_from_this<PluginRunner> {
public:
    using Clock = std::chrono::steady_clock;

    /// How the runner treats the plugin's output.
    struct Options {
        /// Split stdout/stderr into lines (Events::output). False: the owner handles the
        /// pipes itself (`stdio = "inherit"` relays them unchanged).
        bool pump_output = true;
        OutputPumpLimits pump_limits;
        /// After the exit, keep reading output until both pipes end or none arrived for this
        /// long (a descendant holding a pipe cannot keep the exit unreported for longer).
        /// Zero: read once what is there.
        std::chrono::milliseconds drain_after_exit{0};
        /// The host CPU time the plugin may cost the loop (host_work_budget.hpp): over it, its
        /// output pipes, seccomp notifications and unasked messages wait until it is back
        /// within it. None: unlimited (`exec`, one plugin and nothing else to serve).
        std::optional<detail::HostWorkAllowance> host_work_budget;
        /// What the plugin's previous process left unpaid of that budget, and when: the new
        /// process starts owing it, so a restart does not buy the plugin a fresh budget.
        std::chrono::nanoseconds host_work_debt{0};
        std::chrono::steady_clock::time_point host_work_debt_since{};
        /// Bytes per second of log lines the plugin may make the host write (its output lines
        /// and log records: detail::HostLogAllowance); over it, the same sources wait. None:
        /// unbounded (`exec`, whose output is the caller's).
        std::optional<std::size_t> host_log_budget;
    };

    /// What the runner tells its owner, on the loop. Every callback is optional.
    struct Events {
        /// Protocol "airlock": the process runs, the handshake starts.
        std::function<void()> handshaking;
        /// It reported ready (protocol "none": it was started). Not after a stop().
        std::function<void()> ready;
        /// A host event about it: a refusal, a connection closed early, a monitor error.
        std::function<void(const std::string& text)> report;
        /// One line of its stdout/stderr, and that line formatted as `[name] text`.
        std::function<void(const OutputLine& line, const std::string& formatted)> output;
        /// One log record, formatted as `[name] text`.
        std::function<void(const std::string& line)> log_line;
        /// The same log record as received (for an owner that formats records itself).
        std::function<void(const protocol::LogRecord& record)> log_record;
        std::function<void(const protocol::ProgressReport& report)> progress;
        /// Each forbidden system call the monitor answered (a flood is reported per call).
        std::function<void(const Violation& violation)> violation;
        /// A rate-limited violation report line (or the summary of suppressed ones).
        std::function<void(const std::string& line)> violation_report;
        /// limits.wall passed: wall_limit_exceeded()'s message; the stop follows.
        std::function<void(const std::string& message)> wall_limit;
        /// It did not stop within `waited`: `signal` is sent now.
        std::function<void(int signal, std::chrono::milliseconds waited)> escalating;
        /// It exited and was reaped; called once, last. The owner may drop the runner here.
        std::function<void(const PluginExit& exit)> exited;
    };

    /// A runner for a process of `plugin` (its name, protocol, supervision timeouts and
    /// limits.wall) whose launch is under way; nothing happens until start().
    static std::shared_ptr<PluginRunner> create(boost::asio::io_context& io, const PluginConfig& plugin, Events events,
                                                Options options);
    /// The same with the default Options (the supervisor's).
    static std::shared_ptr<PluginRunner> create(boost::asio::io_context& io, const PluginConfig& plugin, Events events);
    PluginRunner(const PluginRunner&) = delete;
    PluginRunner& operator=(const PluginRunner&) = delete;
    ~PluginRunner();

    /// Adopts the launched process and runs its lifecycle (see the file comment). After a
    /// stop() it is killed at once instead (it never ran the plugin protocol).
    void start(SpawnedPlugin spawned, std::optional<ViolationMonitor> monitor);

    /// Stops it: the stop request when it is ready, otherwise `fallback` at once; then each
    /// signal of `escalation`, one per further `stop_timeout`, while it still runs (a leading
    /// `fallback` already sent is not repeated). Before start(): SIGKILL as soon as it starts.
    /// E.g. stop(SIGTERM, {SIGTERM, SIGKILL}) is the supervisor's stop. Returns whether the
    /// stop request was sent.
    bool stop(int fallback, std::vector<int> escalation);
    /// Sends `signal` now (false once it is reaped).
    bool send_signal(int signal) noexcept;

    /// start() was called.
    [[nodiscard]] bool started() const noexcept { return started_; }
    /// stop() was called.
    [[nodiscard]] bool stop_requested() const noexcept { return stop_requested_; }
    /// Its pid (0 before start()).
    [[nodiscard]] pid_t pid() const noexcept;
    /// When start() adopted it.
    [[nodiscard]] Clock::time_point start_time() const noexcept { return start_time_; }
    /// The launched process (its pipes, for an owner that relays them itself).
    [[nodiscard]] SpawnedPlugin& spawned() noexcept { return spawned_; }
    /// The protocol session (null for protocol "none", before start() and after a kill
    /// before start); queue calls on it, then call flush_writes().
    [[nodiscard]] PluginSession* session() noexcept { return session_ ? &*session_ : nullptr; }
    /// Writes what was queued on session() as the socket allows.
    void flush_writes();
    /// Why the host ended it ("did not report ready within 5000 ms", "refused: ...", the wall
    /// limit), empty otherwise.
    [[nodiscard]] const std::string& failure() const noexcept { return failure_; }
    /// The description of the violation the host killed it for, empty otherwise.
    [[nodiscard]] const std::string& fatal_violation() const noexcept { return fatal_violation_; }
    /// Violations answered so far.
    [[nodiscard]] std::uint64_t violations() const noexcept { return violations_; }
    /// Its output pump (dropped_lines(), truncated_lines()).
    [[nodiscard]] const OutputPump& output() const noexcept { return pump_; }
    /// The owner sent it a call / got the reply (or gave up): while a call is in flight its
    /// messages are read beyond its budget, into a debt of up to 50 intervals' allowance, so a
    /// reply is not held back for a burst; a plugin flooding the host while a call waits has
    /// its messages wait like any other once that debt is reached.
    void call_started() noexcept { ++calls_in_flight_; }
    void call_finished() noexcept {
        if (calls_in_flight_ > 0) --calls_in_flight_;
    }
    /// Host CPU time charged to it so far (zero without Options::host_work_budget).
    [[nodiscard]] std::chrono::nanoseconds host_cpu() const noexcept {
        return budget_ ? budget_->spent() : std::chrono::nanoseconds(0);
    }
    /// The CPU time over its budget not yet paid back (zero without Options::host_work_budget).
    [[nodiscard]] std::chrono::nanoseconds host_work_debt() {
        return budget_ ? budget_->debt() : std::chrono::nanoseconds(0);
    }
    /// Times one of its sources waited because it was over its budget.
    [[nodiscard]] std::uint64_t budget_pauses() const noexcept {
        return (budget_ ? budget_->pauses() : 0) + (log_budget_ ? log_budget_->pauses() : 0);
    }
    /// Bytes of log lines charged to it so far (zero without Options::host_log_budget).
    [[nodiscard]] std::uint64_t log_bytes() const noexcept {
        return log_budget_ ? static_cast<std::uint64_t>(log_budget_->spent().count()) : 0;
    }

private:
    using Watch = std::unique_ptr<boost::asio::posix::stream_descriptor>;
    PluginRunner(boost::asio::io_context& io, const PluginConfig& plugin, Events events, Options options);

    /// A watcher on a duplicate of `fd`; null when `fd` is closed, or when no descriptor is left
    /// for the duplicate (then `unwatched_` says which, and start() kills the process).
    Watch watch(int fd, const char* what);
    template <class Handler>
    void when_ready(boost::asio::posix::stream_descriptor& stream, short events, Handler handler);
    void start_session();
    void wait_exit();
    void wait_output(OutputStream stream);
    bool pump_output(OutputStream stream);
    void forward_output();
    void wait_connection();
    void after_connection_activity();
    void wait_violations();
    bool handle_violations();
    void schedule_violation_summaries();
    void enforce_wall_limit();
    void escalate(std::shared_ptr<boost::asio::steady_timer> timer, std::vector<int> signals, std::size_t next);
    void process_exited();
    void drain_output();
    void finish();
    bool output_open() const noexcept { return stdout_watch_ || stderr_watch_; }
    template <class Work>
    decltype(auto) charged(Work&& work);
    void continue_within_budget(const char* source, void (*next)(PluginRunner&));
    /// Whether a call in flight no longer lets its messages be read beyond the budget.
    [[nodiscard]] bool in_debt_beyond_calls_allowance();

    boost::asio::io_context& io_;
    std::string name_;
    PluginProtocol protocol_;
    SupervisionConfig supervision_;
    std::optional<std::chrono::milliseconds> wall_;
    Events events_;
    Options options_;

    SpawnedPlugin spawned_;
    bool started_ = false;
    bool stop_requested_ = false;
    bool killing_ = false;   ///< an escalation to SIGKILL is under way (the wall limit waits no more)
    bool finished_ = false;  ///< Events::exited was called
    Clock::time_point start_time_ = Clock::now();
    OutputPump pump_;
    std::optional<PluginSession> session_;
    std::optional<ViolationMonitor> monitor_;
    ViolationReportLimiter violation_reports_;
    bool summary_pending_ = false;
    std::uint64_t violations_ = 0;
    std::string fatal_violation_;
    std::string failure_;
    std::string unwatched_;  ///< the first watcher start() could not make, and why
    std::optional<PluginExit> exit_;
    Clock::time_point last_output_ = Clock::now();

    Watch pidfd_watch_, stdout_watch_, stderr_watch_, violation_watch_, connection_read_, connection_write_;
    bool writing_ = false;
    boost::asio::steady_timer ready_timer_, wall_timer_, reap_timer_, drain_timer_, summary_timer_;
    std::vector<std::shared_ptr<boost::asio::steady_timer>> escalations_;
    void charge_log_line(std::size_t bytes);
    std::optional<detail::HostWorkBudget> budget_;  ///< with Options::host_work_budget
    std::optional<detail::HostWorkBudget> log_budget_;  ///< with Options::host_log_budget: bytes as ns
    unsigned calls_in_flight_ = 0;
    std::set<std::string> budget_reported_;  ///< sources whose first pause was reported
};

/// The words for an `escalating` event, the same wherever it is reported:
/// "did not stop within 300 ms: sending SIGTERM".
std::string escalation_text(int signal, std::chrono::milliseconds waited);

} // namespace airlock::host
