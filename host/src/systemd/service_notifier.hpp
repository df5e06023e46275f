#pragma once
// ServiceNotifier: tells systemd where `airlock-host run` is (a `Type=notify` service) through
// sd_notify, which sends to the datagram socket named by NOTIFY_SOCKET; without that variable
// (not started by systemd) every call does nothing. Plugins never see NOTIFY_SOCKET: their
// environment is built from scratch. libsystemd is loaded (dlopen) at the first notification,
// so a host not started by systemd never maps it.

#include <airlock/host/supervisor.hpp>

#include <functional>
#include <string>
#include <vector>

namespace airlock::host::systemd {

class ServiceNotifier {
public:
    ServiceNotifier();
    /// NOTIFY_SOCKET is set.
    [[nodiscard]] bool active() const { return active_; }
    /// READY=1 with STATUS=`status`: every plugin has been started (or given up on).
    void ready(const std::string& status);
    /// RELOADING=1 (with MONOTONIC_USEC, as systemd asks): a SIGHUP reload begins; `ready` ends it.
    void reloading();
    /// STOPPING=1 with STATUS=`status`.
    void stopping(const std::string& status);
    /// STATUS=`status` alone.
    void status(const std::string& status);

private:
    void send(const std::string& state);
    bool active_ = false;
};

/// "3 plugins: 2 ready, 1 failed" — the plugin counts per state, for STATUS=.
std::string plugin_counts(const std::vector<PluginStatus>& plugins);

/// Runs `done` once every plugin configured now is ready or will not become ready (failed,
/// exited, removed, or still not ready after `limit`), each judged by Supervisor::when_ready.
void when_all_settled(Supervisor& supervisor, std::chrono::milliseconds limit, std::function<void()> done);

} // namespace airlock::host::systemd
