// PluginRunner: one plugin process's lifecycle on a Boost.Asio loop (see plugin_runner.hpp).
#include <airlock/host/plugin_runner.hpp>

#include <airlock/host/foreground_run.hpp>

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <cstring>

namespace airlock::host {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Notifications answered per turn: a plugin that violates again as soon as it is answered
// must not keep the loop from its output (or, in the supervisor, from the other plugins).
constexpr int kViolationsPerTurn = 64;

// Whether `fd` has `events` pending right now (edge-triggered reactors only report changes).
bool ready_now(int fd, short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

} // namespace

std::shared_ptr<PluginRunner> PluginRunner::create(asio::io_context& io, const PluginConfig& plugin, Events events,
                                                   Options options) {
    return std::shared_ptr<PluginRunner>(new PluginRunner(io, plugin, std::move(events), std::move(options)));
}

std::shared_ptr<PluginRunner> PluginRunner::create(asio::io_context& io, const PluginConfig& plugin, Events events) {
    return create(io, plugin, std::move(events), Options{});
}

PluginRunner::PluginRunner(asio::io_context& io, const PluginConfig& plugin, Events events, Options options)
    : io_(io),
      name_(plugin.name),
      protocol_(plugin.protocol),
      supervision_(plugin.supervision),
      wall_(plugin.limits.wall),
      events_(std::move(events)),
      options_(std::move(options)),
      pump_(plugin.name, options_.pump_limits),
      violation_reports_(plugin.name),
      ready_timer_(io),
      wall_timer_(io),
      reap_timer_(io),
      drain_timer_(io),
      summary_timer_(io) {
    if (options_.host_work_budget) budget_.emplace(io, *options_.host_work_budget);
    if (budget_ && options_.host_work_debt.count() > 0) budget_->owe(options_.host_work_debt, options_.host_work_debt_since);
    if (options_.host_log_budget) log_budget_.emplace(io, detail::HostLogAllowance::allowance(*options_.host_log_budget));
}

// The process (if it still runs) is killed and reaped by PluginProcess, whose blocking
// waitid() needs its pidfd blocking again: the reactor made the file description that the
// watch shares non-blocking, and waitid() then fails with EAGAIN, leaving a zombie.
PluginRunner::~PluginRunner() {
    for (auto& timer : escalations_) timer->cancel();  // their handlers hold them
    pidfd_watch_.reset();
    if (const int pidfd = spawned_.process.pidfd(); pidfd >= 0) {
        const int flags = ::fcntl(pidfd, F_GETFL);
        if (flags >= 0 && (flags & O_NONBLOCK) != 0) (void)::fcntl(pidfd, F_SETFL, flags & ~O_NONBLOCK);
    }
}

pid_t PluginRunner::pid() const noexcept { return started_ ? spawned_.process.pid() : 0; }

bool PluginRunner::send_signal(int signal) noexcept { return started_ && spawned_.process.send_signal(signal); }

// An asio watcher on a duplicate of a descriptor owned elsewhere (so that the reactor's
// registration never outlives the descriptor it refers to).
PluginRunner::Watch PluginRunner::watch(int fd, const char* what) {
    if (fd < 0) return nullptr;
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
        if (unwatched_.empty()) unwatched_ = std::string("the host cannot watch its ") + what + ": " + std::strerror(errno);
        return nullptr;
    }
    return std::make_unique<asio::posix::stream_descriptor>(io_, copy);
}

// Calls `handler` when `stream` is readable/writable; re-checks readiness first so that data
// left over from an earlier round is never missed. Not after the exit was reported.
template <class Handler>
void PluginRunner::when_ready(asio::posix::stream_descriptor& stream, short events, Handler handler) {
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    auto guarded = [weak, handler]() mutable {
        auto self = weak.lock();
        if (self && !self->finished_) handler(*self);
    };
    if (ready_now(stream.native_handle(), events)) {
        asio::post(io_, std::move(guarded));
        return;
    }
    auto type = (events & POLLOUT) != 0 ? asio::posix::stream_descriptor::wait_write
                                        : asio::posix::stream_descriptor::wait_read;
    stream.async_wait(type, [guarded](const boost::system::error_code& error) mutable {
        if (!error) guarded();
    });
}

// Runs `work`, charged to the plugin's budget when it has one.
template <class Work>
decltype(auto) PluginRunner::charged(Work&& work) {
    if (budget_) return budget_->charged(std::forward<Work>(work));
    return std::forward<Work>(work)();
}

// While a call of the owner is in flight, the plugin may run up a debt of this many intervals'
// allowance before its messages wait anyway (1 s of CPU time at the default 20 ms a second).
constexpr int kCallDebtIntervals = 50;

bool PluginRunner::in_debt_beyond_calls_allowance() {
    // Log lines get one interval's allowance of debt (640 KiB): a reply costs no log bytes, so
    // only a plugin flooding the log while a call waits reaches it.
    return (budget_ && budget_->in_debt_beyond(budget_->allowance().per_interval * kCallDebtIntervals)) ||
           (log_budget_ && log_budget_->in_debt_beyond(log_budget_->allowance().per_interval));
}

// Runs `next` (which waits for more of one of its sources) now, or, while the plugin costs
// the loop more than its budget, once it is back within it: until then the plugin waits on
// its full pipe, in its forbidden system call or on its full socket, using no CPU either.
void PluginRunner::continue_within_budget(const char* source, void (*next)(PluginRunner&)) {
    const bool over_cpu = budget_ && budget_->over();
    if (!over_cpu && !(log_budget_ && log_budget_->over())) return next(*this);
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    // Once this budget is paid back, the other one is checked again before `next`.
    (over_cpu ? *budget_ : *log_budget_).resume_later([weak, source, next] {
        auto self = weak.lock();
        if (self && !self->finished_) self->continue_within_budget(source, next);
    });
    if (!budget_reported_.insert(std::string(over_cpu ? "cpu " : "log ") + source).second || !events_.report) return;
    if (over_cpu) {
        const auto allowed = std::chrono::duration_cast<milliseconds>(budget_->allowance().per_interval);
        events_.report("costs the host more than its host_cpu_budget (" + ms_text(allowed) +
                       " of CPU time per second): its " + source +
                       " wait until it is back within it (reported once per process and kind)");
    } else {
        events_.report("makes the host log more than its host_log_budget (" +
                       std::to_string(*options_.host_log_budget) + " bytes a second): its " + source +
                       " wait until it is back within it (reported once per process and kind)");
    }
}

// Charges the bytes of one log line the host writes for the plugin.
void PluginRunner::charge_log_line(std::size_t bytes) {
    if (log_budget_) log_budget_->charge(std::chrono::nanoseconds(bytes + detail::HostLogAllowance::kLogLineCost));
}

// --- starting ------------------------------------------------------------------------------

void PluginRunner::start(SpawnedPlugin spawned, std::optional<ViolationMonitor> monitor) {
    spawned_ = std::move(spawned);
    started_ = true;
    start_time_ = Clock::now();
    pidfd_watch_ = watch(spawned_.process.pidfd(), "exit");
    if (stop_requested_) {
        // Stopped while it was being launched: it never ran the plugin's protocol.
        spawned_.process.send_signal(SIGKILL);
        wait_exit();
        return;
    }
    monitor_ = std::move(monitor);
    if (monitor_) violation_watch_ = watch(monitor_->fd(), "seccomp notifications");
    if (options_.pump_output) {
        stdout_watch_ = watch(spawned_.stdout_pipe.get(), "standard output");
        stderr_watch_ = watch(spawned_.stderr_pipe.get(), "standard error");
    }
    if (protocol_ == PluginProtocol::Airlock) {
        if (events_.handshaking) events_.handshaking();
        start_session();
    } else if (events_.ready) {
        events_.ready();
    }
    wait_output(OutputStream::Stdout);
    wait_output(OutputStream::Stderr);
    wait_violations();
    if (wall_) enforce_wall_limit();
    if (!unwatched_.empty()) {
        // Out of descriptors (EMFILE): unwatched, its exit would never be noticed, its forbidden
        // calls never answered, its output or messages never read. Killed, its end says why.
        if (failure_.empty()) failure_ = unwatched_;
        spawned_.process.send_signal(SIGKILL);
    }
    wait_exit();
}

void PluginRunner::start_session() {
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    PluginSession::Callbacks callbacks;
    callbacks.report = [weak](const std::string& text) {
        auto self = weak.lock();
        if (self && self->events_.report) self->events_.report(text);
    };
    callbacks.log_line = [weak](const std::string& line) {
        auto self = weak.lock();
        if (!self) return;
        self->charge_log_line(line.size());
        if (self->events_.log_line) self->events_.log_line(line);
    };
    callbacks.log_record = [weak](const protocol::LogRecord& record) {
        auto self = weak.lock();
        if (self && self->events_.log_record) self->events_.log_record(record);
    };
    callbacks.progress = [weak](const protocol::ProgressReport& report) {
        auto self = weak.lock();
        if (self && self->events_.progress) self->events_.progress(report);
    };
    callbacks.ready = [weak]() {
        auto self = weak.lock();
        if (!self || self->stop_requested_) return;
        self->ready_timer_.cancel();
        if (self->events_.ready) self->events_.ready();
    };
    session_.emplace(spawned_, supervision_, std::move(callbacks));
    connection_read_ = watch(session_->fd(), "connection");
    connection_write_ = watch(session_->fd(), "connection");  // made now: the handshake writes at once
    ready_timer_.expires_after(supervision_.ready_timeout);
    ready_timer_.async_wait([weak](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->finished_ || !self->session_ || !self->session_->waiting_for_ready()) return;
        self->failure_ = "did not report ready within " + ms_text(self->supervision_.ready_timeout);
        self->session_->check_deadline(Clock::time_point::max());  // refuses and kills it
        if (!self->session_->refused()) self->spawned_.process.send_signal(SIGKILL);
    });
    wait_connection();
}

// --- the connection ------------------------------------------------------------------------

void PluginRunner::wait_connection() {
    if (!session_ || session_->fd() < 0 || !connection_read_) return;
    when_ready(*connection_read_, POLLIN, [](PluginRunner& self) {
        if (!self.session_) return;
        self.charged([&] {
            self.session_->on_events(POLLIN);
            self.after_connection_activity();
        });
        // What it sends unasked (log records, progress, requests) waits while it is over its
        // budget. While the owner waits for a reply, reading goes on into a bounded debt, so a
        // reply is not held back for a burst; a plugin that keeps a call open while it floods
        // the host has its messages (that reply too) wait until the debt is paid back.
        if (self.calls_in_flight_ > 0 && !self.in_debt_beyond_calls_allowance()) return self.wait_connection();
        self.continue_within_budget("messages", [](PluginRunner& runner) { runner.wait_connection(); });
    });
    flush_writes();
}

void PluginRunner::after_connection_activity() {
    if (session_ && session_->refused() && failure_.empty()) failure_ = "refused: " + session_->refusal();
    if (!session_ || session_->fd() < 0) {
        // Closed (refused, or the plugin hung up): let go of the socket entirely.
        connection_read_.reset();
        connection_write_.reset();
        writing_ = false;
    }
}

void PluginRunner::flush_writes() {
    if (finished_ || !session_ || writing_ || session_->fd() < 0 || !session_->wants_write()) return;
    if (!connection_write_) connection_write_ = watch(session_->fd(), "connection");
    if (!connection_write_) return;
    writing_ = true;
    when_ready(*connection_write_, POLLOUT, [](PluginRunner& self) {
        if (!self.session_) return;
        self.writing_ = false;
        self.charged([&] {
            self.session_->on_events(POLLOUT);
            self.after_connection_activity();
        });
        self.flush_writes();
    });
}

// --- output --------------------------------------------------------------------------------

// One read of `stream` into lines, passed on; false at its end.
bool PluginRunner::pump_output(OutputStream stream) {
    const int fd = stream == OutputStream::Stdout ? spawned_.stdout_pipe.get() : spawned_.stderr_pipe.get();
    bool end = false;
    try {
        end = fd < 0 || pump_.pump(fd, stream).end_of_stream;
    } catch (const std::exception&) {
        end = true;
    }
    last_output_ = Clock::now();
    forward_output();
    return !end;
}

void PluginRunner::wait_output(OutputStream stream) {
    auto& watcher = stream == OutputStream::Stdout ? stdout_watch_ : stderr_watch_;
    if (!watcher) return;
    when_ready(*watcher, POLLIN, [stream](PluginRunner& self) {
        if (!self.charged([&] { return self.pump_output(stream); })) {
            (stream == OutputStream::Stdout ? self.stdout_watch_ : self.stderr_watch_).reset();
            if (self.exit_ && !self.output_open()) return self.finish();
            return;
        }
        self.continue_within_budget("output pipes",
                                    stream == OutputStream::Stdout
                                        ? +[](PluginRunner& runner) { runner.wait_output(OutputStream::Stdout); }
                                        : +[](PluginRunner& runner) { runner.wait_output(OutputStream::Stderr); });
    });
}

void PluginRunner::forward_output() {
    for (const auto& line : pump_.take_pending()) {
        std::string formatted = pump_.format(line);
        charge_log_line(formatted.size());
        if (events_.output) events_.output(line, formatted);
    }
}

// --- violations ----------------------------------------------------------------------------

void PluginRunner::wait_violations() {
    if (!violation_watch_) return;
    when_ready(*violation_watch_, POLLIN, [](PluginRunner& self) {
        const bool more = self.charged([&] { return self.handle_violations(); });
        self.schedule_violation_summaries();
        if (more) self.continue_within_budget("seccomp notifications", [](PluginRunner& runner) { runner.wait_violations(); });
    });
}

// Handles pending violation notifications (at most kViolationsPerTurn); false once the
// monitor is gone.
bool PluginRunner::handle_violations() {
    for (int handled = 0; monitor_; ++handled) {
        if (handled == kViolationsPerTurn) return true;
        auto violation = monitor_->handle_one(0);
        if (!violation) {
            if (violation.status().code() != StatusCode::PeerClosed && events_.report) {
                events_.report("violation monitor: " + violation.status().message());
            }
            violation_watch_.reset();
            monitor_.reset();
            return false;
        }
        if (!*violation) return true;
        const Violation& answered = **violation;
        ++violations_;
        // The report a caller of a killed plugin gets back (only kills are formatted here:
        // a flood of errno/log violations is described when asked).
        if (answered.action == ViolationAction::Kill) fatal_violation_ = answered.describe(name_);
        if (events_.violation) events_.violation(answered);
        for (const std::string& line : violation_reports_.record(answered)) {
            if (events_.violation_report) events_.violation_report(line);
        }
    }
    return false;
}

// Arms the timer that writes the summary line of suppressed violation reports.
void PluginRunner::schedule_violation_summaries() {
    const auto due = violation_reports_.next_due();
    if (!due || summary_pending_) return;
    summary_pending_ = true;
    summary_timer_.expires_at(*due);
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    summary_timer_.async_wait([weak](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->finished_) return;
        self->summary_pending_ = false;
        for (const std::string& line : self->violation_reports_.take_due()) {
            if (self->events_.violation_report) self->events_.violation_report(line);
        }
        self->schedule_violation_summaries();
    });
}

// --- stopping ------------------------------------------------------------------------------

bool PluginRunner::stop(int fallback, std::vector<int> escalation) {
    stop_requested_ = true;
    if (std::find(escalation.begin(), escalation.end(), SIGKILL) != escalation.end() || fallback == SIGKILL)
        killing_ = true;
    if (!started_ || finished_ || exit_) return false;  // start() kills it; or it is already gone
    ready_timer_.cancel();
    const bool asked = session_ && session_->request_stop();
    if (asked) {
        flush_writes();
    } else {
        spawned_.process.send_signal(fallback);
        while (!escalation.empty() && escalation.front() == fallback) escalation.erase(escalation.begin());
    }
    escalate(std::make_shared<asio::steady_timer>(io_), std::move(escalation), 0);
    return asked;
}

// Sends signals[next] after stop_timeout, then the rest the same way.
void PluginRunner::escalate(std::shared_ptr<asio::steady_timer> timer, std::vector<int> signals, std::size_t next) {
    if (next >= signals.size()) return;
    if (std::find(escalations_.begin(), escalations_.end(), timer) == escalations_.end()) escalations_.push_back(timer);
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    timer->expires_after(supervision_.stop_timeout);
    timer->async_wait([weak, timer, signals = std::move(signals), next](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->finished_ || self->exit_) return;
        if (self->events_.escalating) self->events_.escalating(signals[next], self->supervision_.stop_timeout);
        self->spawned_.process.send_signal(signals[next]);
        self->escalate(timer, signals, next + 1);
    });
}

// limits.wall: a stop request (SIGTERM without a session), SIGKILL after stop_timeout.
void PluginRunner::enforce_wall_limit() {
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    wall_timer_.expires_after(*wall_);
    wall_timer_.async_wait([weak](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->finished_ || self->exit_ || self->killing_) return;
        const std::string message = wall_limit_exceeded(self->name_, self->spawned_.process.pid(), *self->wall_);
        self->failure_ = message.substr(message.find(": ") + 2);
        if (self->events_.wall_limit) self->events_.wall_limit(message);
        self->killing_ = true;
        self->ready_timer_.cancel();
        const bool asked = self->session_ && self->session_->request_stop();
        if (asked) {
            self->flush_writes();
        } else {
            self->spawned_.process.send_signal(SIGTERM);
        }
        self->escalate(std::make_shared<asio::steady_timer>(self->io_), {SIGKILL}, 0);
    });
}

// --- ending --------------------------------------------------------------------------------

void PluginRunner::wait_exit() {
    if (!pidfd_watch_) return process_exited();  // no watcher (EMFILE): polled, see process_exited
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    pidfd_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [weak](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!error && self && !self->finished_) self->process_exited();
    });
}

void PluginRunner::process_exited() {
    exit_ = spawned_.process.try_wait();
    if (!exit_) {
        // Readable, yet not collectable (seen once under TSan with 100 plugins, where the
        // blocking waitid then failed with EAGAIN on the non-blocking pidfd): look again
        // shortly instead of blocking the loop.
        std::weak_ptr<PluginRunner> weak = weak_from_this();
        reap_timer_.expires_after(milliseconds(5));
        reap_timer_.async_wait([weak](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!error && self && !self->finished_) self->process_exited();
        });
        return;
    }
    pidfd_watch_.reset();
    ready_timer_.cancel();
    wall_timer_.cancel();
    for (auto& timer : escalations_) timer->cancel();
    if (options_.drain_after_exit.count() > 0 && output_open()) {
        last_output_ = Clock::now();  // the drain counts from the exit at the earliest
        return drain_output();
    }
    finish();
}

// Output after the exit (from a descendant, or still in the pipe): read on until both pipes
// end (wait_output finishes then) or nothing came for drain_after_exit.
void PluginRunner::drain_output() {
    std::weak_ptr<PluginRunner> weak = weak_from_this();
    drain_timer_.expires_at(last_output_ + options_.drain_after_exit);
    drain_timer_.async_wait([weak](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (error || !self || self->finished_) return;
        if (Clock::now() - self->last_output_ >= self->options_.drain_after_exit) return self->finish();
        self->drain_output();
    });
}

// Everything it left behind, then the exit, once.
void PluginRunner::finish() {
    if (finished_) return;
    auto keep = shared_from_this();  // the owner may drop the runner in `exited`
    handle_violations();
    if (session_) {
        session_->drain();  // log records sent just before the exit
        session_->close(Status(StatusCode::PeerClosed, "plugin " + name_ + " exited"));
    }
    if (options_.pump_output) {
        for (auto stream : {OutputStream::Stdout, OutputStream::Stderr}) {
            const auto& watcher = stream == OutputStream::Stdout ? stdout_watch_ : stderr_watch_;
            if (watcher || options_.drain_after_exit.count() == 0) (void)pump_output(stream);
            pump_.flush(stream);
        }
        forward_output();
    }
    for (const std::string& line : violation_reports_.take_all()) {
        if (events_.violation_report) events_.violation_report(line);
    }
    finished_ = true;
    drain_timer_.cancel();
    summary_timer_.cancel();
    stdout_watch_.reset();
    stderr_watch_.reset();
    violation_watch_.reset();
    connection_read_.reset();
    connection_write_.reset();
    if (events_.exited) events_.exited(*exit_);
}

std::string escalation_text(int signal, std::chrono::milliseconds waited) {
    const char* name = sigabbrev_np(signal);
    return "did not stop within " + std::to_string(waited.count()) + " ms: sending " +
           (name ? std::string("SIG") + name : "signal " + std::to_string(signal));
}

} // namespace airlock::host
