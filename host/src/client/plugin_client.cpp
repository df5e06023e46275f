// PluginClient: one plugin's lifecycle through a PluginRunner on an io_context of the
// client's own, driven from the caller's thread while it waits; typed calls to the plugin's
// announced methods.
#include <airlock/host/plugin_client.hpp>

#include <airlock/connection/received_descriptors.hpp>
#include <airlock/host/plugin_runner.hpp>
#include <airlock/host/spawn_violations.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <signal.h>

#include <cstdio>
#include <exception>

namespace airlock::host {
namespace {

namespace asio = boost::asio;
namespace wire = airlock::protocol;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string method_list(const std::vector<PluginMethod>& methods) {
    std::string names;
    for (const auto& method : methods) names += (names.empty() ? "" : ", ") + method.name;
    return names.empty() ? "none" : names;
}

} // namespace

// The io_context comes first so that it outlives the runner, whose destructor kills and reaps
// a process that still runs.
struct PluginClient::State {
    asio::io_context io;
    std::string name;
    pid_t pid = 0;
    Limits limits;
    SupervisionConfig supervision;
    Events events;
    std::shared_ptr<PluginRunner> runner;
    std::vector<PluginMethod> methods;
    bool ready = false;
    std::optional<PluginExit> exit;

    ~State() { runner.reset(); }

    std::string who() const { return "plugin " + name + " (pid " + std::to_string(pid) + ")"; }

    // Runs one of the loop's handlers, waiting until `until` at most; false when none ran.
    bool turn(std::optional<Clock::time_point> until) {
        if (io.stopped()) io.restart();
        return (until ? io.run_one_until(*until) : io.run_one()) > 0;
    }

    // Runs the loop until the process is reaped.
    const PluginExit& wait_exit() {
        while (!exit && turn(std::nullopt)) {
        }
        // The loop ran dry without the exit (its pidfd could not be watched): wait directly.
        if (!exit) exit = runner->spawned().process.wait();
        return *exit;
    }

    // Why it is not (or no longer) there to be called.
    Status gone() const {
        if (!runner->fatal_violation().empty()) return Status(StatusCode::PeerClosed, runner->fatal_violation());
        if (!runner->failure().empty()) return Status(StatusCode::PeerClosed, who() + ": " + runner->failure());
        if (exit) return Status(StatusCode::PeerClosed, who() + " " + exit->describe(limits));
        return Status(StatusCode::PeerClosed, who() + " closed its connection");
    }

    PluginRunner::Events runner_events() {
        PluginRunner::Events on;
        on.ready = [this] { ready = true; };
        on.report = [this](const std::string& text) {
            if (events.report) events.report(text);
        };
        on.log_record = [this](const wire::LogRecord& record) {
            if (events.log) events.log(record);
        };
        on.output = [this](const OutputLine& line, const std::string& formatted) {
            if (events.output) return events.output(line, formatted);
            std::fprintf(stderr, "%s\n", formatted.c_str());
        };
        on.violation = [this](const Violation& violation) {
            if (events.violation) events.violation(violation.describe(name));
        };
        on.wall_limit = [this](const std::string& message) {
            if (events.report) events.report(message);
        };
        on.escalating = [this](int signal, milliseconds waited) {
            if (events.report) events.report(who() + ": " + escalation_text(signal, waited));
        };
        on.exited = [this](const PluginExit& ended) { exit = ended; };
        return on;
    }
};

PluginClient::PluginClient(std::unique_ptr<State> state) : state_(std::move(state)) {
    airlock::close_received_descriptors_off_thread();  // a plugin's descriptor whose close() waits
}
PluginClient::PluginClient(PluginClient&&) noexcept = default;
PluginClient& PluginClient::operator=(PluginClient&&) noexcept = default;
PluginClient::~PluginClient() = default;

Result<PluginClient> PluginClient::start(const Spawner& spawner, Events events) {
    const PluginConfig& plugin = spawner.plugin();
    if (plugin.protocol != PluginProtocol::Airlock) {
        return Status(StatusCode::InvalidParameter,
                      "plugin " + plugin.name + ": a PluginClient needs protocol \"airlock\" (it has \"none\")");
    }
    auto state = std::make_unique<State>();
    state->name = plugin.name;
    state->limits = plugin.limits;
    state->supervision = plugin.supervision;
    state->events = std::move(events);
    // Exec-like: one plugin and nothing else on this loop, so no host-work budget.
    state->runner = PluginRunner::create(state->io, plugin, state->runner_events(), PluginRunner::Options{});

    SpawnedPlugin spawned;
    std::optional<ViolationMonitor> monitor;
    try {
        spawned = spawner.launch();
        monitor = make_violation_monitor(spawner, spawned);
    } catch (const std::exception& error) {
        return Status(StatusCode::SystemError, "plugin " + plugin.name + ": cannot start: " + error.what());
    }
    state->pid = spawned.process.pid();
    state->runner->start(std::move(spawned), std::move(monitor));
    while (!state->ready && !state->exit && state->turn(std::nullopt)) {
    }
    if (state->ready) {
        state->methods.assign(state->runner->session()->methods().begin(), state->runner->session()->methods().end());
        return PluginClient(std::move(state));
    }
    // Refused (and killed by the runner) or exited: reap it before reporting why.
    state->wait_exit();
    const PluginSession* session = state->runner->session();
    if (session && session->refused() && state->runner->fatal_violation().empty())
        return session->refusal_status().with_context(state->who());
    Status gone = state->gone();
    return Status(gone.code(), gone.message() + " before it reported ready");
}

const std::string& PluginClient::name() const noexcept { return state_->name; }
pid_t PluginClient::pid() const noexcept { return state_->pid; }
const std::vector<PluginMethod>& PluginClient::methods() const noexcept { return state_->methods; }
bool PluginClient::running() const noexcept { return !state_->exit; }
const std::string& PluginClient::fatal_violation() const noexcept { return state_->runner->fatal_violation(); }
std::uint64_t PluginClient::violations() const noexcept { return state_->runner->violations(); }

const PluginMethod* PluginClient::find(std::string_view name) const noexcept {
    for (const auto& method : state_->methods) {
        if (method.name == name) return &method;
    }
    return nullptr;
}

Result<const PluginMethod*> PluginClient::check(std::string_view method, const std::string& request_type,
                                                const std::string& reply_type) const {
    const PluginMethod* found = find(method);
    if (found == nullptr) {
        return Status(StatusCode::NotFound, "the plugin has no method \"" + std::string(method) +
                                                "\"; it serves: " + method_list(state_->methods));
    }
    if (Status s = wire::check_announced_types(found->name, found->request_type, found->reply_type, request_type, reply_type);
        !s.ok())
        return s;
    return found;
}

// As the supervisor's calls: the deadline travels with the request, a call that outlives it
// completes with Timeout and is cancelled, and the caller of a plugin killed for a violation
// learns which.
Result<CallId> PluginClient::start_call_raw(std::string_view method, std::span<const std::uint8_t> body,
                                            std::span<const int> fds, CallSession::RawCompletion done,
                                            std::optional<milliseconds> timeout) {
    const PluginMethod* found = find(method);
    if (found == nullptr) {
        return Status(StatusCode::NotFound, "the plugin has no method \"" + std::string(method) +
                                                "\"; it serves: " + method_list(state_->methods));
    }
    State& state = *state_;
    PluginSession* session = state.runner->session();
    if (state.exit || !session || !session->ready()) return state.gone().with_context(std::string(method));

    struct Pending {
        explicit Pending(asio::io_context& io) : timer(io) {}
        asio::steady_timer timer;
        CallSession::RawCompletion done;
        bool finished = false;
    };
    auto pending = std::make_shared<Pending>(state.io);
    pending->done = std::move(done);
    std::weak_ptr<PluginRunner> weak_run = state.runner;
    const milliseconds limit = timeout.value_or(state.supervision.call_timeout);
    const std::string timed_out = "call " + state.name + "." + std::string(method) + " did not complete within " +
                                  std::to_string(limit.count()) + " ms";
    // `own`: a status of the client's (the timeout), passed on as it is.
    const auto deadline = Clock::now() + limit;
    auto finish = [pending, weak_run, &state, context = std::string(method), timed_out, deadline](Result<Message> result,
                                                                                                 bool own = false) {
        if (pending->finished) return;
        pending->finished = true;
        pending->timer.cancel();
        // The plugin's end names the plugin and why (e.g. the violation it was killed for),
        // like the supervisor's; other errors name the method.
        auto run = weak_run.lock();  // (null while the client is being destroyed)
        if (run) run->call_finished();
        if (!own && run && !result && result.status().code() == StatusCode::PeerClosed) {
            result = state.gone();
        } else if (!own && !result && result.status().code() == StatusCode::Timeout && Clock::now() >= deadline) {
            // The session's own deadline (the same one) can pass first on a busy machine:
            // the caller gets one message whichever clock noticed it. (A plugin's own
            // Timeout error before the deadline keeps its text.)
            result = Status(StatusCode::Timeout, timed_out);
        } else if (!own && !result) {
            result = result.status().with_context(context);
        }
        pending->done(std::move(result));
    };
    state.runner->call_started();  // before the call: `finish` may run within it
    Result<CallId> started = session->call_raw_async(
        found->tag, body, fds, [finish](Result<Message> reply) { finish(std::move(reply)); }, limit);
    if (!started) {
        pending->finished = true;
        state.runner->call_finished();
        return started.status().with_context(std::string(method));
    }
    state.runner->flush_writes();
    pending->timer.expires_after(limit);
    pending->timer.async_wait([finish, weak_run, id = *started, timed_out](const boost::system::error_code& error) {
        if (error) return;
        finish(Status(StatusCode::Timeout, timed_out), true);
        if (auto run = weak_run.lock(); run && run->session()) (void)run->session()->cancel_call(id);
    });
    return started;
}

Result<Message> PluginClient::call_raw(std::string_view method, std::span<const std::uint8_t> body,
                                       std::span<const int> fds, std::optional<milliseconds> timeout) {
    auto reply = std::make_shared<std::optional<Result<Message>>>();
    Result<CallId> started =
        start_call_raw(method, body, fds, [reply](Result<Message> result) { reply->emplace(std::move(result)); }, timeout);
    if (!started) return started.status();
    while (!*reply && state_->turn(std::nullopt)) {
    }
    if (!*reply) return state_->gone().with_context(std::string(method));
    return std::move(**reply);
}

bool PluginClient::cancel(CallId id) {
    PluginSession* session = state_->runner->session();
    if (!session || !session->cancel_call(id)) return false;
    state_->runner->flush_writes();
    return true;
}

Status PluginClient::poll_once(milliseconds timeout) {
    if (state_->turn(Clock::now() + timeout)) return Status();
    if (state_->exit) return state_->gone();
    return Status(StatusCode::Timeout, "nothing happened within " + std::to_string(timeout.count()) + " ms");
}

PluginExit PluginClient::wait() { return state_->wait_exit(); }

PluginExit PluginClient::stop() {
    if (!state_->exit) state_->runner->stop(SIGTERM, {SIGTERM, SIGKILL});
    return state_->wait_exit();
}

} // namespace airlock::host
