// Supervisor: every plugin's lifecycle on one Boost.Asio io_context (see docs/supervisor.md).
#include <airlock/host/supervisor.hpp>

#include <airlock/connection/received_descriptors.hpp>

#include <airlock/host/plugin_runner.hpp>
#include <airlock/host/spawner.hpp>

#include <airlock/host/spawn_violations.hpp>

#include "config_compare.hpp"
#include "cpu_weight.hpp"
#include "launcher.hpp"
#include "log_writer.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <signal.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

namespace airlock::host {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kLogRingLines = 512;
// A plugin that keeps failing must not keep the launcher busy: an automatic restart waits, on
// top of its configured delay, this many times as long as the plugin's last launch took (at
// most kLaunchCostCap more), so one crash loop holds the launcher thread for at most about a
// tenth of the time whatever its restart_delay.
constexpr int kLaunchCostFactor = 10;
constexpr milliseconds kLaunchCostCap{250};

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

} // namespace

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
    std::optional<Violation> latest_violation;  ///< described when asked (a flood is not formatted)
    std::uint64_t violations = 0;  ///< over all its processes, reported as a line or not
    std::chrono::nanoseconds host_cpu{0};  ///< HostWorkBudget::spent of its earlier processes
    std::uint64_t budget_pauses = 0;       ///< HostWorkBudget::pauses of its earlier processes
    std::chrono::nanoseconds host_work_debt{0};  ///< what its last process left unpaid of host_cpu_budget
    Clock::time_point host_work_debt_since{};    ///< when (its exit)
    // Call counters (PluginStatus::calls ...), over all its processes.
    std::uint64_t calls = 0, call_errors = 0, bytes_out = 0, bytes_in = 0;
    std::deque<std::string> ring;
    std::deque<Clock::time_point> starts;
    asio::steady_timer restart_timer;
    milliseconds next_delay;
    Clock::duration last_launch{};  ///< how long its last launch took (the restart floor)
    std::shared_ptr<PluginRunner> run;  ///< the current process, or the launch that makes it
    bool restart_pending = false;             ///< waiting on restart_timer
    std::vector<std::function<void()>> when_down;  ///< run once the current process is gone
    bool removed = false;                     ///< dropped by a reload: erase once down
    unsigned stops = 0;  ///< explicit stops so far: a restart asked for before the latest one does not launch
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
        // Given up on: what its Spawner holds (namespaces, Landlock ruleset, spare cgroups, the
        // dynamic uid's lock) goes now rather than with the host; a `start` prepares it anew.
        if (state == PluginState::Failed) plugin.spawner.reset();
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
        std::optional<ViolationMonitor> monitor;
        std::string monitor_error;  ///< why there is no violation monitor (empty: no need)
        std::string error;          ///< why the launch failed (empty: it succeeded)
        Clock::duration took{};
    };

    // Starts a launch on the launcher thread; `launched` continues on the loop. Until then the
    // plugin is `starting` with a runner that is not started yet.
    void launch(const std::shared_ptr<Plugin>& plugin) {
        plugin->restart_pending = false;
        set_state(*plugin, PluginState::Starting);
        if (!plugin->spawner) {
            try {
                // A standby child waits for a restart; one that is never restarted goes without.
                const SpawnerUse use = plugin->config.supervision.restart == RestartPolicy::No
                                           ? SpawnerUse::LaunchesWithoutStandby
                                           : SpawnerUse::Launches;
                plugin->spawner = std::make_shared<const Spawner>(plugin->config, use);
            } catch (const std::exception& error) {
                plugin->last_exit = std::string("cannot start: ") + error.what();
                set_state(*plugin, PluginState::Failed, plugin->last_exit);
                settle_ready_waiters_later(plugin);
                return;
            }
        }
        plugin->starts.push_back(Clock::now());
        PluginRunner::Options options;
        options.host_work_budget = detail::HostWorkAllowance{plugin->config.supervision.host_cpu_budget};
        // The next process owes what the last one left unpaid, so a restart (an operator's, or
        // its own within the backoff) does not buy a fresh budget: restarting a plugin that
        // announces 3.2 MiB of types cost the loop 64 ms a cycle (round 9). At most what half
        // of ready_timeout pays back, so the handshake's wait cannot fail its readiness.
        const auto& supervision = plugin->config.supervision;
        options.host_work_debt = std::min(plugin->host_work_debt,
                                          std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              supervision.host_cpu_budget * supervision.ready_timeout.count() / 2000));
        options.host_work_debt_since = plugin->host_work_debt_since;
        options.host_log_budget = plugin->config.supervision.host_log_budget;
        auto run = PluginRunner::create(io, plugin->config, runner_events(plugin), std::move(options));
        plugin->run = run;
        plugin->progress.reset();
        std::weak_ptr<Plugin> weak_plugin = plugin;
        std::weak_ptr<PluginRunner> weak_run = run;
        std::weak_ptr<int> weak_alive = alive;
        launcher->run([this, spawner = plugin->spawner, weak_plugin, weak_run, weak_alive]() {
            // The launcher thread: only the spawner (shared, thread-safe) and the outcome.
            auto outcome = std::make_shared<LaunchOutcome>();
            const auto began = Clock::now();
            try {
                outcome->spawned = spawner->launch();
                detail::lower_plugin_cpu_weight(outcome->spawned.process.pid(), outcome->spawned.process.own_pidfd());
                try {
                    outcome->monitor = make_violation_monitor(*spawner, outcome->spawned);
                } catch (const std::exception& error) {
                    outcome->monitor_error = error.what();
                }
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

    // What the runner of `plugin`'s current process reports becomes its state, log and counters.
    // (A runner's events stop with the runner, which only the plugin holds.)
    PluginRunner::Events runner_events(const std::shared_ptr<Plugin>& plugin) {
        std::weak_ptr<Plugin> weak_plugin = plugin;
        auto with_plugin = [this, weak_plugin](auto action) {
            return [this, weak_plugin, action](auto&&... args) {
                if (auto p = weak_plugin.lock()) action(*this, *p, args...);
            };
        };
        PluginRunner::Events events;
        events.handshaking = with_plugin([](Impl& self, Plugin& p) {
            self.set_state(p, PluginState::Handshaking, "pid " + std::to_string(p.run->pid()));
        });
        events.ready = with_plugin([](Impl& self, Plugin& p) {
            std::string detail = "pid " + std::to_string(p.run->pid());
            if (const PluginSession* session = p.run->session()) {
                const std::size_t count = session->methods().size();
                detail += ", " + std::to_string(count) + (count == 1 ? " method" : " methods");
            }
            self.set_state(p, PluginState::Ready, detail);
        });
        events.report = with_plugin([](Impl& self, Plugin& p, const std::string& text) { self.host_event(p, text); });
        events.output = with_plugin([](Impl& self, Plugin& p, const OutputLine&, const std::string& formatted) {
            self.log_line(p, formatted);
        });
        events.log_line = with_plugin([](Impl& self, Plugin& p, const std::string& line) { self.log_line(p, line); });
        events.progress = with_plugin(
            [](Impl& self, Plugin& p, const protocol::ProgressReport& report) { self.record_progress(p, report); });
        events.violation = with_plugin([](Impl&, Plugin& p, const Violation& violation) {
            ++p.violations;
            p.latest_violation = violation;
        });
        events.violation_report =
            with_plugin([](Impl& self, Plugin& p, const std::string& line) { self.log_line(p, "[host] " + line); });
        events.wall_limit =
            with_plugin([](Impl& self, Plugin& p, const std::string& message) { self.log_line(p, "[host] " + message); });
        events.escalating = with_plugin([](Impl& self, Plugin& p, int signal_number, milliseconds waited) {
            self.host_event(p, escalation_text(signal_number, waited));
        });
        std::weak_ptr<Plugin> exited_plugin = plugin;
        events.exited = [this, exited_plugin](const PluginExit& exit) {
            if (auto p = exited_plugin.lock()) process_exited(p, exit);
        };
        return events;
    }

    // On the loop: the launch of `run` finished.
    void launched(const std::shared_ptr<Plugin>& plugin, const std::shared_ptr<PluginRunner>& run,
                  LaunchOutcome outcome) {
        plugin->last_launch = outcome.took;
        if (!outcome.error.empty()) {
            plugin->run.reset();
            plugin->last_exit = "cannot start: " + outcome.error;
            host_event(*plugin, plugin->last_exit);
            after_down(plugin, /*failure=*/true, /*stopped=*/run->stop_requested());
            return;
        }
        if (!outcome.monitor_error.empty() && !run->stop_requested())
            host_event(*plugin, "violation monitor: " + outcome.monitor_error);
        run->start(std::move(outcome.spawned), std::move(outcome.monitor));
    }

    // --- ending ------------------------------------------------------------------------------

    void process_exited(const std::shared_ptr<Plugin>& plugin, const PluginExit& exit) {
        std::shared_ptr<PluginRunner> run = plugin->run;
        if (run->output().dropped_lines() > 0) {
            host_event(*plugin, std::to_string(run->output().dropped_lines()) + " output lines dropped");
        }
        if (exit.tasks_refused > 0) {
            host_event(*plugin, "reached its tasks limit of " + std::to_string(plugin->config.limits.tasks.value_or(0)) +
                                    " (thread or process creations refused: " + std::to_string(exit.tasks_refused) + ")");
        }
        plugin->last_exit = exit.describe(plugin->config.limits);
        if (!run->failure().empty()) plugin->last_exit += " (" + run->failure() + ")";
        if (exit.signaled && exit.signal == SIGSYS && run->violations() == 0) {
            plugin->last_violation = "plugin " + plugin->name + ": forbidden system call: killed (SIGSYS)";
            plugin->latest_violation.reset();
        }
        host_event(*plugin, plugin->last_exit);
        const bool failure = exit.signaled || exit.exit_code != 0 || !run->failure().empty();
        const bool stopped = run->stop_requested();
        // Long enough up to count as a fresh start: the backoff starts over.
        if (Clock::now() - run->start_time() >= plugin->config.supervision.start_limit_interval) {
            plugin->next_delay = plugin->config.supervision.restart_delay;
        }
        plugin->host_cpu += run->host_cpu();
        plugin->budget_pauses += run->budget_pauses();
        plugin->host_work_debt = run->host_work_debt();
        plugin->host_work_debt_since = Clock::now();
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
        const milliseconds backoff = plugin->next_delay;
        const milliseconds delay = backoff + std::min(launch_cost, kLaunchCostCap);
        plugin->next_delay = std::min(plugin->next_delay * 2, std::max(supervision.restart_max_delay, supervision.restart_delay));
        plugin->state = PluginState::Starting;
        host_event(*plugin, "restarting in " + ms_text(delay) + " (backoff " + ms_text(backoff) + ")");
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
        std::shared_ptr<PluginRunner> run = plugin->run;
        if (!run) {
            if (done) asio::post(io, guarded(std::move(done)));
            return;
        }
        if (done) plugin->when_down.push_back(std::move(done));
        if (run->stop_requested()) return;
        const bool asked = run->stop(SIGTERM, {SIGTERM, SIGKILL});
        if (!run->started()) {
            set_state(*plugin, PluginState::Stopping, "killed as soon as its launch completes");
            return;
        }
        set_state(*plugin, PluginState::Stopping, asked ? "stop request sent" : "SIGTERM sent");
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
            if (plugin->run->stop_requested()) return Status(StatusCode::InvalidState, "plugin '" + name + "' is stopping");
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
        stop_plugin(plugin, [this, weak_plugin, stops = plugin->stops]() {
            auto p = weak_plugin.lock();
            if (!p || p->removed || p->run || p->stops != stops) return;
            ++p->restarts;
            p->starts.clear();
            p->next_delay = p->config.supervision.restart_delay;
            launch(p);
        });
    }
};

Supervisor::Supervisor(boost::asio::io_context& io, HostConfig config)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {
    // A plugin's descriptor whose close() waits (a lingering socket) must not stop the loop.
    airlock::close_received_descriptors_off_thread();
}

Supervisor::Supervisor(boost::asio::io_context& io, const std::vector<PluginSpec>& plugins)
    : Supervisor(io, build_host_config(plugins)) {}

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
        if (plugin->run && plugin->run->started()) {
            status.pid = plugin->run->pid();
            status.uptime = std::chrono::duration_cast<milliseconds>(now - plugin->run->start_time());
        }
        status.restarts = plugin->restarts;
        status.last_exit = plugin->last_exit;
        status.last_violation = plugin->last_violation;
        if (plugin->latest_violation) status.last_violation = plugin->latest_violation->describe(name);
        status.violations = plugin->violations;
        status.calls = plugin->calls;
        status.call_errors = plugin->call_errors;
        status.bytes_out = plugin->bytes_out;
        status.bytes_in = plugin->bytes_in;
        status.host_cpu = plugin->host_cpu;
        status.budget_pauses = plugin->budget_pauses;
        if (plugin->run) {
            status.host_cpu += plugin->run->host_cpu();
            status.budget_pauses += plugin->run->budget_pauses();
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
    ++plugin->stops;  // the latest of stop and restart wins (a reload's restart included)
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
    auto shared = announcements(name);
    if (!shared) return shared.status();
    return **shared;
}

Result<std::shared_ptr<const std::vector<protocol::MethodAnnouncement>>> Supervisor::announcements(
    const std::string& name) const {
    auto plugin = impl_->find(name);
    if (!plugin || plugin->removed) return Impl::not_found(name);
    if (plugin->state != PluginState::Ready || !plugin->run) {
        return Status(StatusCode::InvalidState,
                      "plugin '" + name + "' is not ready (state: " + plugin_state_name(plugin->state) + ")");
    }
    if (!plugin->run->session()) return std::make_shared<const std::vector<protocol::MethodAnnouncement>>();
    return plugin->run->session()->announcements();
}

void Supervisor::post(std::function<void()> work) { asio::post(impl_->io, std::move(work)); }

std::size_t Supervisor::ready_waiters(const std::string& name) const {
    auto plugin = impl_->find(name);
    if (!plugin) return 0;
    return static_cast<std::size_t>(
        std::count_if(plugin->ready_waiters.begin(), plugin->ready_waiters.end(), [](const auto& w) { return !w->finished; }));
}

void Supervisor::when_ready(const std::string& name, milliseconds timeout, std::function<void(Status)> done,
                            std::shared_ptr<CallCanceller> canceller) {
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
    if (canceller) {
        std::weak_ptr<ReadyWaiter> weak_waiter = waiter;
        std::weak_ptr<Plugin> weak_plugin = plugin;
        canceller->arm([weak_waiter, weak_plugin, &io = impl_->io] {
            auto w = weak_waiter.lock();
            if (!w || w->finished) return;
            w->finished = true;
            w->timer.cancel();
            if (auto p = weak_plugin.lock()) std::erase(p->ready_waiters, w);
            asio::post(io, [w] { w->done(Status(StatusCode::Cancelled, "the wait was cancelled")); });
        });
    }
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
    std::shared_ptr<PluginRunner> run = plugin->run;
    if (plugin->state != PluginState::Ready || !run || !run->session()) {
        return fail_counted(Status(StatusCode::InvalidState,
                           "plugin '" + name + "' is not ready (state: " + plugin_state_name(plugin->state) + ")"));
    }
    const auto& methods = run->session()->methods();
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
    milliseconds timeout = options.timeout.value_or(plugin->config.supervision.call_timeout);
    if (options.deadline)
        timeout = std::clamp(std::chrono::ceil<milliseconds>(*options.deadline - std::chrono::steady_clock::now()),
                             milliseconds(0), timeout);
    const std::string timed_out = "call " + name + "." + method + " did not complete within " + ms_text(timeout);
    // Not guarded: a call cancelled by the supervisor's destruction still completes (Cancelled).
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto finish = [&io, pending, weak_run = std::weak_ptr<PluginRunner>(run), counted = std::weak_ptr<Plugin>(plugin),
                   timed_out, deadline](Result<Message> result) {
        if (pending->finished) return;
        pending->finished = true;
        // The session's own deadline (the same one) can pass before the timer below on a busy
        // machine: the caller gets one message whichever clock noticed it. (A plugin's own
        // Timeout error before the deadline keeps its text.)
        if (!result.ok() && result.status().code() == StatusCode::Timeout &&
            std::chrono::steady_clock::now() >= deadline)
            result = Status(StatusCode::Timeout, timed_out);
        if (auto r = weak_run.lock()) r->call_finished();
        // The plugin was killed for a violation: the caller learns why, not only that the
        // connection closed (the monitor reports before the plugin's end can be read).
        if (auto killed = weak_run.lock(); killed && !result.ok() && result.status().code() == StatusCode::PeerClosed &&
                                           !killed->fatal_violation().empty())
            result = Status(StatusCode::PeerClosed, killed->fatal_violation());
        if (auto p = counted.lock()) {
            if (result) p->bytes_in += result->body.size();
            else ++p->call_errors;
        }
        pending->timer.cancel();
        asio::post(io, [pending, result = std::move(result)]() mutable { pending->done(std::move(result)); });
    };
    run->call_started();  // before the call: `finish` may run within it
    // The deadline travels with the request, so the plugin knows when the caller gives up.
    Result<CallId> started = run->session()->call_raw_async(
        found->tag, body, fds, [finish](Result<Message> reply) { finish(std::move(reply)); }, timeout);
    if (!started) {
        finish(started.status());
        return;
    }
    if (options.canceller)
        options.canceller->arm([weak_run = std::weak_ptr<PluginRunner>(run), id = *started, finish] {
            if (auto live = weak_run.lock(); live && live->session()) (void)live->session()->cancel_call(id);
            finish(Status(StatusCode::Cancelled, "the caller cancelled the call"));
        });
    plugin->bytes_out += body.size();
    run->flush_writes();
    pending->timer.expires_after(timeout);
    pending->timer.async_wait([finish, timed_out, weak_run = std::weak_ptr<PluginRunner>(run),
                               id = *started](const boost::system::error_code& error) {
        if (error) return;
        finish(Status(StatusCode::Timeout, timed_out));
        // The session's record of the call ends with it (the plugin is told, as by
        // PluginClient): the session checks its deadlines only when the plugin sends
        // something, so one that never answers kept a record per timed-out call.
        if (auto live = weak_run.lock(); live && live->session() && live->session()->cancel_call(id)) live->flush_writes();
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

Status Supervisor::reload(const std::vector<PluginSpec>& plugins) { return reload(build_host_config(plugins)); }

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
