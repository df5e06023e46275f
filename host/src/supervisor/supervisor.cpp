// Supervisor: every plugin's lifecycle on one Boost.Asio io_context (see docs/supervisor.md).
#include <airlock/host/supervisor.hpp>
#include <airlock/host/foreground_run.hpp>

#include <airlock/host/output_pump.hpp>
#include <airlock/host/plugin_session.hpp>
#include <airlock/host/spawner.hpp>

#ifdef AIRLOCK_HAVE_SANDBOX
#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/violation_report_limiter.hpp>
#endif

#include "config_compare.hpp"
#include "cpu_weight.hpp"
#include "host_work_budget.hpp"
#include "launcher.hpp"
#include "log_writer.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace airlock::host {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* plugin_state_name(PluginState state) noexcept {
    switch (state) {
    case PluginState::Starting: return "starting";
    case PluginState::Handshaking: return "handshaking";
    case PluginState::Ready: return "ready";
    case PluginState::Stopping: return "stopping";
    case PluginState::Exited: return "exited";
    case PluginState::Failed: return "failed";
    }
    return "?";
}

namespace {

constexpr std::size_t kLogRingLines = 512;
constexpr int kViolationsPerTurn = 64;
// A plugin that keeps failing must not keep the launcher busy: an automatic restart waits, on
// top of its configured delay, this many times as long as the plugin's last launch took (at
// most kLaunchCostCap more), so one crash loop holds the launcher thread for at most about a
// tenth of the time whatever its restart_delay.
constexpr int kLaunchCostFactor = 10;
constexpr milliseconds kLaunchCostCap{250};

// Whether `fd` has `events` pending right now (edge-triggered reactors only report changes).
bool ready_now(int fd, short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

// An asio watcher on a duplicate of a descriptor owned elsewhere (so that the reactor's
// registration never outlives the descriptor it refers to).
std::unique_ptr<asio::posix::stream_descriptor> watch(asio::io_context& io, int fd) {
    if (fd < 0) return nullptr;
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return nullptr;
    return std::make_unique<asio::posix::stream_descriptor>(io, copy);
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

} // namespace

// One process of a plugin: everything that lives from launch to reaping.
struct Run {
    Run(asio::io_context& io, std::string name, milliseconds host_cpu_budget)
        : pump(name),
#ifdef AIRLOCK_HAVE_SANDBOX
          violation_reports(name), violation_summary_timer(io),
#endif
          ready_timer(io), stop_timer(io), wall_timer(io), reap_timer(io),
          budget(io, {host_cpu_budget, std::chrono::seconds(1)}) {}

    SpawnedPlugin spawned;
    bool launching = true;  ///< Spawner::launch still runs on the launcher thread
    OutputPump pump;
    std::optional<PluginSession> session;
#ifdef AIRLOCK_HAVE_SANDBOX
    std::optional<ViolationMonitor> monitor;
    ViolationReportLimiter violation_reports;  // bounds the report lines of a violation flood
    asio::steady_timer violation_summary_timer;  // writes the flood's summary line when due
    bool summary_pending = false;
#endif
    std::unique_ptr<asio::posix::stream_descriptor> pidfd_watch, stdout_watch, stderr_watch, violation_watch;
    std::unique_ptr<asio::posix::stream_descriptor> connection_read, connection_write;
    bool writing = false;
    asio::steady_timer ready_timer;
    asio::steady_timer stop_timer;
    asio::steady_timer wall_timer;  ///< limits.wall
    asio::steady_timer reap_timer;  ///< another look when its exit was not collectable yet
    Clock::time_point started = Clock::now();
    bool stop_requested = false;  ///< the supervisor asked it to stop (no restart follows)
    int violations = 0;
    std::string fatal_violation;  ///< the report of the violation the host killed it for
    std::string failure;          ///< why the supervisor killed it (ready timeout, refusal)
    detail::HostWorkBudget budget;  ///< the loop's CPU time spent on it; pauses its floods
    unsigned calls_in_flight = 0;   ///< calls of the host waiting for its reply
    std::set<std::string_view> budget_reported;  ///< sources whose first budget pause was reported
};

// Someone waiting in when_ready().
struct ReadyWaiter {
    explicit ReadyWaiter(asio::io_context& io) : timer(io) {}
    std::function<void(Status)> done;
    asio::steady_timer timer;
    bool finished = false;
};

struct Plugin {
    Plugin(asio::io_context& io, PluginConfig c)
        : name(c.name), config(std::move(c)), restart_timer(io), next_delay(config.supervision.restart_delay) {}

    std::string name;
    PluginConfig config;
    std::shared_ptr<const Spawner> spawner;  ///< shared with a launch in progress
    PluginState state = PluginState::Exited;
    unsigned restarts = 0;
    std::string last_exit;
    std::string last_violation;
#ifdef AIRLOCK_HAVE_SANDBOX
    std::optional<Violation> latest_violation;  ///< described when asked (a flood is not formatted)
#endif
    std::uint64_t violations = 0;  ///< over all its processes, reported as a line or not
    std::chrono::nanoseconds host_cpu{0};  ///< HostWorkBudget::spent of its earlier processes
    std::uint64_t budget_pauses = 0;       ///< HostWorkBudget::pauses of its earlier processes
    // Call counters (PluginStatus::calls ...), over all its processes.
    std::uint64_t calls = 0, call_errors = 0, bytes_out = 0, bytes_in = 0;
    std::deque<std::string> ring;
    std::deque<Clock::time_point> starts;
    asio::steady_timer restart_timer;
    milliseconds next_delay;
    Clock::duration last_launch{};  ///< how long its last launch took (the restart floor)
    std::shared_ptr<Run> run;       ///< the current process, or the launch that makes it
    bool restart_pending = false;             ///< waiting on restart_timer
    std::vector<std::function<void()>> when_down;  ///< run once the current process is gone
    bool removed = false;                     ///< dropped by a reload: erase once down
    std::optional<protocol::ProgressReport> progress;  ///< the current process's latest report
    Clock::time_point progress_at{};
    Clock::time_point progress_logged{};
    std::vector<std::shared_ptr<ReadyWaiter>> ready_waiters;
};

struct Supervisor::Impl {
    Impl(asio::io_context& io_context, HostConfig c) : io(io_context), config(std::move(c)) {
        for (auto& [name, plugin] : config.plugins) {
            plugins.emplace(name, std::make_shared<Plugin>(io, plugin));
        }
    }

    ~Impl() {
        launcher.reset();  // no launch runs or posts after this
        alive.reset();
        for (auto& [name, plugin] : plugins) {
            finish_ready_waiters(*plugin, Status(StatusCode::Cancelled, "the supervisor was destroyed"));
            plugin->restart_timer.cancel();
            plugin->run.reset();  // PluginProcess kills and reaps what still runs
        }
    }

    asio::io_context& io;
    HostConfig config;
    std::map<std::string, std::shared_ptr<Plugin>> plugins;
    std::map<std::uint64_t, LogSubscriber> subscribers;
    std::uint64_t next_subscriber = 1;
    // Log lines to standard output (or set_output_fd's choice) through a bounded queue, so a
    // reader that does not keep up never blocks the loop.
    std::unique_ptr<detail::LogWriter> writer = std::make_unique<detail::LogWriter>(1);
    std::shared_ptr<int> alive = std::make_shared<int>(0);  // posted work checks the supervisor exists
    std::unique_ptr<detail::Launcher> launcher = std::make_unique<detail::Launcher>();

    // --- logging -----------------------------------------------------------------------------

    void log_line(Plugin& plugin, const std::string& line) {
        plugin.ring.push_back(line);
        while (plugin.ring.size() > kLogRingLines) plugin.ring.pop_front();
        if (writer) writer->write(line + "\n");
        auto copy = subscribers;  // a subscriber may unsubscribe while being called
        for (auto& [id, subscriber] : copy) {
            if (subscriber) subscriber(plugin.name, line);
        }
    }
    void host_event(Plugin& plugin, const std::string& text) { log_line(plugin, "[host] plugin " + plugin.name + ": " + text); }

    void set_state(Plugin& plugin, PluginState state, const std::string& detail = "") {
        plugin.state = state;
        host_event(plugin, std::string("state ") + plugin_state_name(state) + (detail.empty() ? "" : " (" + detail + ")"));
        if (state == PluginState::Ready) finish_ready_waiters(plugin, Status());
    }

    // --- waiting for ready -------------------------------------------------------------------

    void finish_ready_waiters(Plugin& plugin, const Status& status) {
        auto waiters = std::move(plugin.ready_waiters);
        plugin.ready_waiters.clear();
        for (auto& waiter : waiters) {
            if (waiter->finished) continue;
            waiter->finished = true;
            waiter->timer.cancel();
            asio::post(io, [waiter, status]() { waiter->done(status); });
        }
    }

    // After the plugin went down: waiters give up unless something brings it back (a restart
    // scheduled, or a `restart` that runs from the when_down callbacks posted before this).
    void settle_ready_waiters_later(const std::shared_ptr<Plugin>& plugin) {
        std::weak_ptr<Plugin> weak_plugin = plugin;
        asio::post(io, guarded([this, weak_plugin]() {
            auto p = weak_plugin.lock();
            if (!p || p->run || p->restart_pending || p->ready_waiters.empty()) return;
            std::string why = std::string("plugin '") + p->name + "' will not become ready: it is " +
                              plugin_state_name(p->state) + (p->last_exit.empty() ? "" : " (" + p->last_exit + ")");
            finish_ready_waiters(*p, Status(StatusCode::InvalidState, why));
        }));
    }

    // --- progress ----------------------------------------------------------------------------

    // Keeps the latest report; logs a line when a task starts or completes or changes, and
    // otherwise at most once a second (a plugin may report thousands of times).
    void record_progress(Plugin& plugin, const protocol::ProgressReport& report) {
        const auto now = Clock::now();
        const bool new_task = !plugin.progress || plugin.progress->task != report.task;
        const bool complete = report.total > 0 && report.done >= report.total;
        plugin.progress = report;
        plugin.progress_at = now;
        if (new_task || complete || report.done == 0 || now - plugin.progress_logged >= std::chrono::seconds(1)) {
            plugin.progress_logged = now;
            log_line(plugin, "[" + plugin.name + "] " + protocol::format_progress(report));
        }
    }

    // --- launching ---------------------------------------------------------------------------

    // What a launch on the launcher thread produced.
    struct LaunchOutcome {
        SpawnedPlugin spawned;
#ifdef AIRLOCK_HAVE_SANDBOX
        std::optional<ViolationMonitor> monitor;
#endif
        std::string monitor_error;  ///< why there is no violation monitor (empty: no need)
        std::string error;          ///< why the launch failed (empty: it succeeded)
        Clock::duration took{};
    };

    // Starts a launch on the launcher thread; `launched` continues on the loop. Until then the
    // plugin is `starting` with a Run whose `launching` is set.
    void launch(const std::shared_ptr<Plugin>& plugin) {
        plugin->restart_pending = false;
        set_state(*plugin, PluginState::Starting);
        if (!plugin->spawner) {
            try {
                plugin->spawner = std::make_shared<const Spawner>(plugin->config);
            } catch (const std::exception& error) {
                plugin->last_exit = std::string("cannot start: ") + error.what();
                set_state(*plugin, PluginState::Failed, plugin->last_exit);
                settle_ready_waiters_later(plugin);
                return;
            }
        }
        plugin->starts.push_back(Clock::now());
        auto run = std::make_shared<Run>(io, plugin->name, plugin->config.supervision.host_cpu_budget);
        plugin->run = run;
        plugin->progress.reset();
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        std::weak_ptr<int> weak_alive = alive;
        launcher->run([this, spawner = plugin->spawner, weak_plugin, weak_run, weak_alive]() {
            // The launcher thread: only the spawner (shared, thread-safe) and the outcome.
            auto outcome = std::make_shared<LaunchOutcome>();
            const auto began = Clock::now();
            try {
                outcome->spawned = spawner->launch();
                detail::lower_plugin_cpu_weight(outcome->spawned.process.pid());
#ifdef AIRLOCK_HAVE_SANDBOX
                try {
                    outcome->monitor = make_violation_monitor(*spawner, outcome->spawned);
                } catch (const std::exception& error) {
                    outcome->monitor_error = error.what();
                }
#endif
            } catch (const std::exception& error) {
                outcome->error = error.what();
                if (outcome->error.empty()) outcome->error = "unknown error";
            }
            outcome->took = Clock::now() - began;
            // Not run (the supervisor is gone): the outcome's process is killed and reaped.
            asio::post(io, [this, weak_plugin, weak_run, weak_alive, outcome]() {
                if (!weak_alive.lock()) return;
                auto p = weak_plugin.lock();
                auto r = weak_run.lock();
                if (p && r && p->run == r) launched(p, r, std::move(*outcome));
            });
        });
    }

    // On the loop: the launch of `run` finished.
    void launched(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run, LaunchOutcome outcome) {
        run->launching = false;
        plugin->last_launch = outcome.took;
        if (!outcome.error.empty()) {
            plugin->run.reset();
            plugin->last_exit = "cannot start: " + outcome.error;
            host_event(*plugin, plugin->last_exit);
            after_down(plugin, /*failure=*/true, /*stopped=*/run->stop_requested);
            return;
        }
        run->spawned = std::move(outcome.spawned);
        run->started = Clock::now();
        if (run->stop_requested) {
            // Stopped while it was being launched: it never ran the plugin's protocol.
            run->pidfd_watch = watch(io, run->spawned.process.pidfd());
            run->spawned.process.send_signal(SIGKILL);
            wait_exit(plugin, run);
            return;
        }
#ifdef AIRLOCK_HAVE_SANDBOX
        run->monitor = std::move(outcome.monitor);
        if (!outcome.monitor_error.empty()) host_event(*plugin, "violation monitor: " + outcome.monitor_error);
        if (run->monitor) run->violation_watch = watch(io, run->monitor->fd());
#endif
        run->pidfd_watch = watch(io, run->spawned.process.pidfd());
        run->stdout_watch = watch(io, run->spawned.stdout_pipe.get());
        run->stderr_watch = watch(io, run->spawned.stderr_pipe.get());
        const std::string pid_text = "pid " + std::to_string(run->spawned.process.pid());
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;

        if (plugin->config.protocol == PluginProtocol::Airlock) {
            set_state(*plugin, PluginState::Handshaking, pid_text);
            PluginSession::Callbacks callbacks;
            callbacks.report = [this, weak_plugin](const std::string& text) {
                if (auto p = weak_plugin.lock()) host_event(*p, text);
            };
            callbacks.log_line = [this, weak_plugin](const std::string& line) {
                if (auto p = weak_plugin.lock()) log_line(*p, line);
            };
            callbacks.progress = [this, weak_plugin](const protocol::ProgressReport& report) {
                if (auto p = weak_plugin.lock()) record_progress(*p, report);
            };
            callbacks.ready = [this, weak_plugin, weak_run]() {
                auto p = weak_plugin.lock();
                auto r = weak_run.lock();
                if (!p || !r || p->run != r || r->stop_requested) return;
                r->ready_timer.cancel();
                set_state(*p, PluginState::Ready,
                          "pid " + std::to_string(r->spawned.process.pid()) + ", " +
                              std::to_string(r->session->methods().size()) +
                              (r->session->methods().size() == 1 ? " method" : " methods"));
            };
            run->session.emplace(run->spawned, plugin->config.supervision, std::move(callbacks));
            run->connection_read = watch(io, run->session->fd());
            run->ready_timer.expires_after(plugin->config.supervision.ready_timeout);
            run->ready_timer.async_wait([this, weak_plugin, weak_run](const boost::system::error_code& error) {
                auto p = weak_plugin.lock();
                auto r = weak_run.lock();
                if (error || !p || !r || !r->session || !r->session->waiting_for_ready()) return;
                r->failure = "did not report ready within " + ms_text(p->config.supervision.ready_timeout);
                r->session->check_deadline(Clock::time_point::max());  // refuses and kills it
                if (!r->session->refused()) r->spawned.process.send_signal(SIGKILL);
            });
            wait_connection(plugin, run);
        } else {
            set_state(*plugin, PluginState::Ready, pid_text);
        }
        wait_output(plugin, run, OutputStream::Stdout);
        wait_output(plugin, run, OutputStream::Stderr);
        wait_violations(plugin, run);
        if (plugin->config.limits.wall) enforce_wall_limit(plugin, run);
        wait_exit(plugin, run);
    }

    void collect_exit_later(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        run->reap_timer.expires_after(milliseconds(5));
        run->reap_timer.async_wait([this, weak_plugin, weak_run](const boost::system::error_code& error) {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (error || !p || !r || p->run != r) return;
            process_exited(p);
        });
    }

    void wait_exit(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
        if (!run->pidfd_watch) return;
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        run->pidfd_watch->async_wait(asio::posix::stream_descriptor::wait_read,
                                     [this, weak_plugin, weak_run](const boost::system::error_code& error) {
                                         auto p = weak_plugin.lock();
                                         auto r = weak_run.lock();
                                         if (error || !p || !r || p->run != r) return;
                                         process_exited(p);
                                     });
    }

    // Calls `handler` when `fd` (watched by `stream`) is readable/writable; re-checks readiness
    // first so that data left over from an earlier round is never missed.
    template <class Handler>
    void rearm(asio::posix::stream_descriptor& stream, short events, const std::shared_ptr<Run>& run, Handler handler) {
        std::weak_ptr<Run> weak_run = run;
        if (ready_now(stream.native_handle(), events)) {
            asio::post(io, [weak_run, handler]() mutable {
                if (weak_run.lock()) handler();
            });
            return;
        }
        auto type = (events & POLLOUT) != 0 ? asio::posix::stream_descriptor::wait_write
                                            : asio::posix::stream_descriptor::wait_read;
        stream.async_wait(type, [weak_run, handler](const boost::system::error_code& error) mutable {
            if (!error && weak_run.lock()) handler();
        });
    }

    void wait_output(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run, OutputStream stream) {
        auto& watcher = stream == OutputStream::Stdout ? run->stdout_watch : run->stderr_watch;
        if (!watcher) return;
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        rearm(*watcher, POLLIN, run, [this, weak_plugin, weak_run, stream]() {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (!p || !r) return;
            const int fd = stream == OutputStream::Stdout ? r->spawned.stdout_pipe.get() : r->spawned.stderr_pipe.get();
            bool end = false;
            r->budget.charged([&] {
                try {
                    end = r->pump.pump(fd, stream).end_of_stream;
                } catch (const std::exception&) {
                    end = true;
                }
                forward_output(*p, *r);
            });
            if (end) {
                (stream == OutputStream::Stdout ? r->stdout_watch : r->stderr_watch).reset();
                return;
            }
            continue_within_budget(p, r, "output pipes", [this, stream](const auto& p2, const auto& r2) { wait_output(p2, r2, stream); });
        });
    }

    void forward_output(Plugin& plugin, Run& run) {
        for (const auto& line : run.pump.take_pending()) log_line(plugin, run.pump.format(line));
    }

    void wait_connection(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
        if (!run->session || run->session->fd() < 0 || !run->connection_read) return;
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        rearm(*run->connection_read, POLLIN, run, [this, weak_plugin, weak_run]() {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (!p || !r || !r->session) return;
            r->budget.charged([&] {
                r->session->on_events(POLLIN);
                after_connection_activity(p, r);
            });
            // What it sends unasked (log records, progress, requests) waits while it is over its
            // budget; the replies to the host's own calls never do.
            if (r->calls_in_flight > 0) {
                wait_connection(p, r);
            } else {
                continue_within_budget(p, r, "messages", [this](const auto& p2, const auto& r2) { wait_connection(p2, r2); });
            }
        });
        update_writing(plugin, run);
    }

    void after_connection_activity(const std::shared_ptr<Plugin>&, const std::shared_ptr<Run>& run) {
        if (run->session && run->session->refused() && run->failure.empty()) run->failure = "refused: " + run->session->refusal();
        if (!run->session || run->session->fd() < 0) {
            // Closed (refused, or the plugin hung up): let go of the socket entirely.
            run->connection_read.reset();
            run->connection_write.reset();
            run->writing = false;
        }
    }

    void update_writing(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
        if (!run->session || run->writing || run->session->fd() < 0 || !run->session->wants_write()) return;
        if (!run->connection_write) run->connection_write = watch(io, run->session->fd());
        if (!run->connection_write) return;
        run->writing = true;
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        rearm(*run->connection_write, POLLOUT, run, [this, weak_plugin, weak_run]() {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (!p || !r || !r->session) return;
            r->writing = false;
            r->budget.charged([&] {
                r->session->on_events(POLLOUT);
                after_connection_activity(p, r);
            });
            update_writing(p, r);
        });
    }

    void wait_violations(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
#ifdef AIRLOCK_HAVE_SANDBOX
        if (!run->violation_watch) return;
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        rearm(*run->violation_watch, POLLIN, run, [this, weak_plugin, weak_run]() {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (!p || !r) return;
            const bool more = r->budget.charged([&] { return handle_violations(*p, *r); });
            schedule_violation_summaries(p, r);
            if (more) continue_within_budget(p, r, "seccomp notifications", [this](const auto& p2, const auto& r2) { wait_violations(p2, r2); });
        });
#else
        (void)plugin;
        (void)run;
#endif
    }

    // Runs `next` (which waits for more of the plugin's output or violations) now, or, while the
    // plugin costs the loop more than its HostWorkBudget, once it is back within it: until then
    // the plugin waits on its full pipe or in its forbidden system call, using no CPU either.
    void continue_within_budget(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run,
                                const char* source, std::function<void(const std::shared_ptr<Plugin>&, const std::shared_ptr<Run>&)> next) {
        if (!run->budget.over()) {
            next(plugin, run);
            return;
        }
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        run->budget.resume_later([weak_plugin, weak_run, next = std::move(next)] {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (p && r && p->run == r) next(p, r);
        });
        if (run->budget_reported.insert(source).second) {
            const auto budget = std::chrono::duration_cast<milliseconds>(run->budget.allowance().per_interval);
            host_event(*plugin, "costs the host more than its host_cpu_budget (" + ms_text(budget) +
                                    " of CPU time per second): its " + source +
                                    " wait until it is back within it (reported once per process and kind)");
        }
    }

    // Handles pending violation notifications; false once the monitor is gone. At most
    // kViolationsPerTurn at a time: a plugin that violates again as soon as it is answered
    // must not keep the loop from serving the others.
    bool handle_violations([[maybe_unused]] Plugin& plugin, [[maybe_unused]] Run& run) {
#ifdef AIRLOCK_HAVE_SANDBOX
        for (int handled = 0; run.monitor; ++handled) {
            if (handled == kViolationsPerTurn) return true;
            auto violation = run.monitor->handle_one(0);
            if (!violation) {
                if (violation.status().code() != StatusCode::PeerClosed) {
                    host_event(plugin, "violation monitor: " + violation.status().message());
                }
                run.violation_watch.reset();
                run.monitor.reset();
                return false;
            }
            if (!*violation) return true;
            ++run.violations;
            ++plugin.violations;
            plugin.latest_violation = std::move(**violation);
            // The report a caller of a killed plugin gets back (only kills are formatted here:
            // a flood of errno/log violations is described when asked).
            if (plugin.latest_violation->action == ViolationAction::Kill)
                run.fatal_violation = plugin.latest_violation->describe(plugin.name);
            for (const std::string& line : run.violation_reports.record(*plugin.latest_violation))
                log_line(plugin, "[host] " + line);
        }
#endif
        return false;
    }

#ifdef AIRLOCK_HAVE_SANDBOX
    // Arms the timer that writes the summary line of suppressed violation reports.
    void schedule_violation_summaries(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
        const auto due = run->violation_reports.next_due();
        if (!due || run->summary_pending) return;
        run->summary_pending = true;
        run->violation_summary_timer.expires_at(*due);
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        run->violation_summary_timer.async_wait([this, weak_plugin, weak_run](const boost::system::error_code& error) {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (error || !p || !r) return;
            r->summary_pending = false;
            for (const std::string& line : r->violation_reports.take_due()) log_line(*p, "[host] " + line);
            schedule_violation_summaries(p, r);
        });
    }
#endif

    // --- ending ------------------------------------------------------------------------------

    void process_exited(const std::shared_ptr<Plugin>& plugin) {
        std::shared_ptr<Run> run = plugin->run;
        std::optional<PluginExit> exit = run->spawned.process.try_wait();
        if (!exit) {
            // Readable, yet not collectable (seen once under TSan with 100 plugins, where the
            // blocking waitid then failed with EAGAIN on the non-blocking pidfd): look again
            // shortly instead of blocking the loop.
            collect_exit_later(plugin, run);
            return;
        }
        handle_violations(*plugin, *run);
#ifdef AIRLOCK_HAVE_SANDBOX
        for (const std::string& line : run->violation_reports.take_all()) log_line(*plugin, "[host] " + line);
        run->violation_summary_timer.cancel();
#endif
        if (run->session) {
            run->session->drain();
            run->session->close(Status(StatusCode::PeerClosed, "plugin " + plugin->name + " exited"));
        }
        for (auto stream : {OutputStream::Stdout, OutputStream::Stderr}) {
            const int fd = stream == OutputStream::Stdout ? run->spawned.stdout_pipe.get() : run->spawned.stderr_pipe.get();
            try {
                if (fd >= 0) (void)run->pump.pump(fd, stream);
            } catch (const std::exception&) {
            }
            run->pump.flush(stream);
        }
        forward_output(*plugin, *run);
        if (run->pump.dropped_lines() > 0) {
            host_event(*plugin, std::to_string(run->pump.dropped_lines()) + " output lines dropped");
        }
        if (exit->tasks_refused > 0) {
            host_event(*plugin, "reached its tasks limit of " + std::to_string(plugin->config.limits.tasks.value_or(0)) +
                                    " (thread or process creations refused: " + std::to_string(exit->tasks_refused) + ")");
        }
        plugin->last_exit = exit->describe(plugin->config.limits);
        if (!run->failure.empty()) plugin->last_exit += " (" + run->failure + ")";
        if (exit->signaled && exit->signal == SIGSYS && run->violations == 0) {
            plugin->last_violation = "plugin " + plugin->name + ": forbidden system call: killed (SIGSYS)";
#ifdef AIRLOCK_HAVE_SANDBOX
            plugin->latest_violation.reset();
#endif
        }
        host_event(*plugin, plugin->last_exit);
        const bool failure = exit->signaled || exit->exit_code != 0 || !run->failure.empty();
        const bool stopped = run->stop_requested;
        // Long enough up to count as a fresh start: the backoff starts over.
        if (Clock::now() - run->started >= plugin->config.supervision.start_limit_interval) {
            plugin->next_delay = plugin->config.supervision.restart_delay;
        }
        plugin->host_cpu += run->budget.spent();
        plugin->budget_pauses += run->budget.pauses();
        plugin->run.reset();
        after_down(plugin, failure, stopped);
    }

    void after_down(const std::shared_ptr<Plugin>& plugin, bool failure, bool stopped) {
        auto waiters = std::move(plugin->when_down);
        plugin->when_down.clear();
        const auto& supervision = plugin->config.supervision;
        const bool restart = !stopped && !plugin->removed && waiters.empty() &&
                             (supervision.restart == RestartPolicy::Always ||
                              (supervision.restart == RestartPolicy::OnFailure && failure));
        if (!restart) {
            set_state(*plugin, failure && !stopped ? PluginState::Failed : PluginState::Exited);
        } else {
            schedule_restart(plugin);
        }
        for (auto& waiter : waiters) asio::post(io, guarded(std::move(waiter)));
        settle_ready_waiters_later(plugin);
    }

    void schedule_restart(const std::shared_ptr<Plugin>& plugin) {
        const auto& supervision = plugin->config.supervision;
        const auto now = Clock::now();
        while (!plugin->starts.empty() && now - plugin->starts.front() >= supervision.start_limit_interval) {
            plugin->starts.pop_front();
        }
        if (plugin->starts.size() >= supervision.start_limit_burst) {
            set_state(*plugin, PluginState::Failed,
                      "start limit hit: " + std::to_string(plugin->starts.size()) + " starts within " +
                          ms_text(supervision.start_limit_interval) + "; not restarting");
            return;
        }
        const auto launch_cost = std::chrono::duration_cast<milliseconds>(plugin->last_launch * kLaunchCostFactor);
        const milliseconds delay = plugin->next_delay + std::min(launch_cost, kLaunchCostCap);
        plugin->next_delay = std::min(plugin->next_delay * 2, std::max(supervision.restart_max_delay, supervision.restart_delay));
        plugin->state = PluginState::Starting;
        host_event(*plugin, "restarting in " + ms_text(delay));
        plugin->restart_pending = true;
        plugin->restart_timer.expires_after(delay);
        std::weak_ptr<Plugin> weak_plugin = plugin;
        plugin->restart_timer.async_wait([this, weak_plugin](const boost::system::error_code& error) {
            auto p = weak_plugin.lock();
            if (error || !p || !p->restart_pending) return;
            ++p->restarts;
            launch(p);
        });
    }

    std::function<void()> guarded(std::function<void()> work) {
        std::weak_ptr<int> weak_alive = alive;
        return [weak_alive, work = std::move(work)]() {
            if (weak_alive.lock() && work) work();
        };
    }

    // Graceful stop of the running process; `done` runs once it is down.
    void stop_plugin(const std::shared_ptr<Plugin>& plugin, std::function<void()> done) {
        if (plugin->restart_pending) {
            plugin->restart_pending = false;
            plugin->restart_timer.cancel();
            set_state(*plugin, PluginState::Exited, "restart cancelled");
        }
        std::shared_ptr<Run> run = plugin->run;
        if (!run) {
            if (done) asio::post(io, guarded(std::move(done)));
            return;
        }
        if (done) plugin->when_down.push_back(std::move(done));
        if (run->stop_requested) return;
        run->stop_requested = true;
        if (run->launching) {
            set_state(*plugin, PluginState::Stopping, "killed as soon as its launch completes");
            return;
        }
        run->ready_timer.cancel();
        const milliseconds timeout = plugin->config.supervision.stop_timeout;
        const bool asked = run->session && run->session->request_stop();
        set_state(*plugin, PluginState::Stopping, asked ? "stop request sent" : "SIGTERM sent");
        if (asked) {
            update_writing(plugin, run);
        } else {
            run->spawned.process.send_signal(SIGTERM);
        }
        escalate(plugin, run, asked ? SIGTERM : SIGKILL, timeout);
    }

    // limits.wall: a stop request (SIGTERM without a session), SIGKILL after stop_timeout. Not
    // a stop the supervisor asked for: the exit is a failure for the restart policy.
    void enforce_wall_limit(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run) {
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        run->wall_timer.expires_after(*plugin->config.limits.wall);
        run->wall_timer.async_wait([this, weak_plugin, weak_run](const boost::system::error_code& error) {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (error || !p || !r || p->run != r || r->stop_requested) return;
            const std::string message =
                wall_limit_exceeded(p->name, r->spawned.process.pid(), *p->config.limits.wall);
            r->failure = message.substr(message.find(": ") + 2);
            log_line(*p, "[host] " + message);
            r->ready_timer.cancel();
            const bool asked = r->session && r->session->request_stop();
            if (asked) {
                update_writing(p, r);
            } else {
                r->spawned.process.send_signal(SIGTERM);
            }
            escalate(p, r, SIGKILL, p->config.supervision.stop_timeout);
        });
    }

    void escalate(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<Run>& run, int signal_number,
                  milliseconds timeout) {
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<Run> weak_run = run;
        run->stop_timer.expires_after(timeout);
        run->stop_timer.async_wait([this, weak_plugin, weak_run, signal_number, timeout](const boost::system::error_code& error) {
            auto p = weak_plugin.lock();
            auto r = weak_run.lock();
            if (error || !p || !r || p->run != r) return;
            host_event(*p, std::string("did not stop within ") + ms_text(timeout) + ": sending " +
                               (signal_number == SIGTERM ? "SIGTERM" : "SIGKILL"));
            r->spawned.process.send_signal(signal_number);
            if (signal_number == SIGTERM) escalate(p, r, SIGKILL, timeout);
        });
    }

    std::shared_ptr<Plugin> find(const std::string& name) const {
        auto found = plugins.find(name);
        return found == plugins.end() ? nullptr : found->second;
    }

    static Status not_found(const std::string& name) { return Status(StatusCode::NotFound, "no plugin named '" + name + "'"); }

    Status start(const std::string& name) {
        auto plugin = find(name);
        if (!plugin || plugin->removed) return not_found(name);
        if (plugin->run) {
            if (plugin->run->stop_requested) return Status(StatusCode::InvalidState, "plugin '" + name + "' is stopping");
            return {};
        }
        plugin->restart_timer.cancel();
        plugin->starts.clear();
        plugin->next_delay = plugin->config.supervision.restart_delay;
        launch(plugin);
        return {};
    }

    void restart_plugin(const std::shared_ptr<Plugin>& plugin) {
        std::weak_ptr<Plugin> weak_plugin = plugin;
        stop_plugin(plugin, [this, weak_plugin]() {
            auto p = weak_plugin.lock();
            if (!p || p->removed || p->run) return;
            ++p->restarts;
            p->starts.clear();
            p->next_delay = p->config.supervision.restart_delay;
            launch(p);
        });
    }
};

Supervisor::Supervisor(boost::asio::io_context& io, HostConfig config)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}

Supervisor::~Supervisor() = default;

void Supervisor::start_all() {
    for (auto& [name, plugin] : impl_->plugins) {
        if (!plugin->run && !plugin->restart_pending && !plugin->removed) impl_->launch(plugin);
    }
}

std::vector<PluginStatus> Supervisor::status() const {
    std::vector<PluginStatus> result;
    const auto now = Clock::now();
    for (const auto& [name, plugin] : impl_->plugins) {
        PluginStatus status;
        status.name = name;
        status.state = plugin->state;
        if (plugin->run && !plugin->run->launching) {
            status.pid = plugin->run->spawned.process.pid();
            status.uptime = std::chrono::duration_cast<milliseconds>(now - plugin->run->started);
        }
        status.restarts = plugin->restarts;
        status.last_exit = plugin->last_exit;
        status.last_violation = plugin->last_violation;
#ifdef AIRLOCK_HAVE_SANDBOX
        if (plugin->latest_violation) status.last_violation = plugin->latest_violation->describe(name);
#endif
        status.violations = plugin->violations;
        status.calls = plugin->calls;
        status.call_errors = plugin->call_errors;
        status.bytes_out = plugin->bytes_out;
        status.bytes_in = plugin->bytes_in;
        status.host_cpu = plugin->host_cpu;
        status.budget_pauses = plugin->budget_pauses;
        if (plugin->run) {
            status.host_cpu += plugin->run->budget.spent();
            status.budget_pauses += plugin->run->budget.pauses();
        }
        if (plugin->progress) {
            status.progress = plugin->progress;
            status.progress_age = std::chrono::duration_cast<milliseconds>(now - plugin->progress_at);
        }
        result.push_back(std::move(status));
    }
    return result;
}

Status Supervisor::start(const std::string& name) { return impl_->start(name); }

Status Supervisor::stop(const std::string& name) {
    auto plugin = impl_->find(name);
    if (!plugin || plugin->removed) return Impl::not_found(name);
    impl_->stop_plugin(plugin, nullptr);
    return {};
}

Status Supervisor::restart(const std::string& name) {
    auto plugin = impl_->find(name);
    if (!plugin || plugin->removed) return Impl::not_found(name);
    impl_->restart_plugin(plugin);
    return {};
}

std::vector<std::string> Supervisor::recent_logs(const std::string& name) const {
    auto plugin = impl_->find(name);
    if (!plugin) return {};
    return {plugin->ring.begin(), plugin->ring.end()};
}

std::uint64_t Supervisor::subscribe_logs(LogSubscriber subscriber) {
    const std::uint64_t id = impl_->next_subscriber++;
    impl_->subscribers.emplace(id, std::move(subscriber));
    return id;
}

void Supervisor::unsubscribe_logs(std::uint64_t id) { impl_->subscribers.erase(id); }

Result<std::vector<protocol::MethodAnnouncement>> Supervisor::methods(const std::string& name) const {
    auto plugin = impl_->find(name);
    if (!plugin || plugin->removed) return Impl::not_found(name);
    if (plugin->state != PluginState::Ready || !plugin->run) {
        return Status(StatusCode::InvalidState,
                      "plugin '" + name + "' is not ready (state: " + plugin_state_name(plugin->state) + ")");
    }
    if (!plugin->run->session) return std::vector<protocol::MethodAnnouncement>{};
    return plugin->run->session->methods();
}

void Supervisor::post(std::function<void()> work) { asio::post(impl_->io, std::move(work)); }

void Supervisor::when_ready(const std::string& name, milliseconds timeout, std::function<void(Status)> done) {
    auto plugin = impl_->find(name);
    if (!plugin || plugin->removed) {
        return post([done = std::move(done), status = Impl::not_found(name)]() { done(status); });
    }
    auto waiter = std::make_shared<ReadyWaiter>(impl_->io);
    waiter->done = std::move(done);
    std::erase_if(plugin->ready_waiters, [](const auto& w) { return w->finished; });  // timed out earlier
    plugin->ready_waiters.push_back(waiter);
    if (plugin->state == PluginState::Ready) {
        impl_->finish_ready_waiters(*plugin, Status());
        return;
    }
    if (!plugin->run && !plugin->restart_pending) impl_->settle_ready_waiters_later(plugin);
    waiter->timer.expires_after(timeout);
    waiter->timer.async_wait([waiter, name, timeout](const boost::system::error_code& error) {
        if (error || waiter->finished) return;
        waiter->finished = true;
        waiter->done(Status(StatusCode::Timeout, "plugin '" + name + "' did not become ready within " + ms_text(timeout)));
    });
}

Status Supervisor::check_method_types(const std::string& name, const std::string& method,
                                      const std::string& request_type, const std::string& reply_type) const {
    auto methods = this->methods(name);
    if (!methods) return methods.status();
    for (const auto& announced : *methods) {
        if (announced.name != method) continue;
        return protocol::check_announced_types(name + "." + method, announced.request_type, announced.reply_type,
                                               request_type, reply_type);
    }
    return Status(StatusCode::NotFound, "plugin '" + name + "' has no method '" + method + "'");
}

void Supervisor::call_raw(const std::string& name, const std::string& method, std::span<const std::uint8_t> body,
                          std::span<const int> fds, std::function<void(Result<Message>)> done, CallOptions options) {
    auto& io = impl_->io;
    auto fail = [&](Status status) {
        asio::post(io, [done = std::move(done), status = std::move(status)]() mutable { done(std::move(status)); });
    };
    auto plugin = impl_->find(name);
    if (!plugin || plugin->removed) return fail(Impl::not_found(name));
    // Counted here, on the io thread, once per call: errors in `fail` and in `finish` below.
    ++plugin->calls;
    auto fail_counted = [&](Status status) {
        ++plugin->call_errors;
        fail(std::move(status));
    };
    std::shared_ptr<Run> run = plugin->run;
    if (plugin->state != PluginState::Ready || !run || !run->session) {
        return fail_counted(Status(StatusCode::InvalidState,
                           "plugin '" + name + "' is not ready (state: " + plugin_state_name(plugin->state) + ")"));
    }
    const auto& methods = run->session->methods();
    auto found = std::find_if(methods.begin(), methods.end(), [&](const auto& m) { return std::string(m.name) == method; });
    if (found == methods.end()) {
        return fail_counted(Status(StatusCode::NotFound, "plugin '" + name + "' has no method '" + method + "'"));
    }
    struct Pending {
        explicit Pending(asio::io_context& io) : timer(io) {}
        std::function<void(Result<Message>)> done;
        asio::steady_timer timer;
        bool finished = false;
    };
    auto pending = std::make_shared<Pending>(io);
    pending->done = std::move(done);
    // Not guarded: a call cancelled by the supervisor's destruction still completes (Cancelled).
    auto finish = [&io, pending, weak_run = std::weak_ptr<Run>(run),
                   counted = std::weak_ptr<Plugin>(plugin)](Result<Message> result) {
        if (pending->finished) return;
        pending->finished = true;
        if (auto r = weak_run.lock()) --r->calls_in_flight;
        // The plugin was killed for a violation: the caller learns why, not only that the
        // connection closed (the monitor reports before the plugin's end can be read).
        if (auto killed = weak_run.lock(); killed && !result.ok() && result.status().code() == StatusCode::PeerClosed &&
                                           !killed->fatal_violation.empty())
            result = Status(StatusCode::PeerClosed, killed->fatal_violation);
        if (auto p = counted.lock()) {
            if (result) p->bytes_in += result->body.size();
            else ++p->call_errors;
        }
        pending->timer.cancel();
        asio::post(io, [pending, result = std::move(result)]() mutable { pending->done(std::move(result)); });
    };
    const milliseconds timeout = options.timeout.value_or(plugin->config.supervision.call_timeout);
    ++run->calls_in_flight;  // before the call: `finish` may run within it
    Status status = run->session->call_raw_async(found->tag, body, fds, [finish](Result<Message> reply) { finish(std::move(reply)); });
    if (!status.ok()) {
        finish(std::move(status));
        return;
    }
    plugin->bytes_out += body.size();
    impl_->update_writing(plugin, run);
    pending->timer.expires_after(timeout);
    pending->timer.async_wait([finish, name, method, timeout](const boost::system::error_code& error) {
        if (error) return;
        finish(Status(StatusCode::Timeout, "call " + name + "." + method + " did not complete within " + ms_text(timeout)));
    });
}

void Supervisor::stop_all(std::function<void()> done) {
    auto remaining = std::make_shared<std::size_t>(impl_->plugins.size() + 1);
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    auto one_down = [remaining, shared_done]() {
        if (--*remaining == 0 && *shared_done) (*shared_done)();
    };
    for (auto& [name, plugin] : impl_->plugins) impl_->stop_plugin(plugin, one_down);
    asio::post(impl_->io, impl_->guarded(one_down));
}

Status Supervisor::reload(HostConfig config) {
    auto& plugins = impl_->plugins;
    // Removed plugins: stop, then forget.
    for (auto& [name, plugin] : plugins) {
        if (config.plugins.count(name) != 0 || plugin->removed) continue;
        plugin->removed = true;
        impl_->host_event(*plugin, "removed from the configuration");
        std::weak_ptr<Plugin> weak_plugin = plugin;
        impl_->stop_plugin(plugin, [this, weak_plugin]() {
            auto p = weak_plugin.lock();
            if (p && p->removed && !p->run) impl_->plugins.erase(p->name);
        });
    }
    for (auto& [name, plugin_config] : config.plugins) {
        auto plugin = impl_->find(name);
        if (!plugin) {
            plugin = std::make_shared<Plugin>(impl_->io, plugin_config);
            plugins.emplace(name, plugin);
            impl_->host_event(*plugin, "added by the configuration");
            impl_->launch(plugin);
            continue;
        }
        if (plugin->removed) {
            // Back before it was gone: keep it, with the new config.
            plugin->removed = false;
        }
        if (detail::same_plugin_config(plugin->config, plugin_config)) continue;
        plugin->config = plugin_config;
        plugin->spawner.reset();
        plugin->next_delay = plugin->config.supervision.restart_delay;
        impl_->host_event(*plugin, "configuration changed");
        if (plugin->run || plugin->restart_pending || plugin->state == PluginState::Failed) {
            impl_->restart_plugin(plugin);
        }
    }
    impl_->config = std::move(config);
    return {};
}

void Supervisor::set_output_fd(int fd) {
    impl_->writer.reset();  // finishes what it holds for the old output first
    if (fd >= 0) impl_->writer = std::make_unique<detail::LogWriter>(fd);
}

} // namespace airlock::host
