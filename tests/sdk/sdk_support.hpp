#pragma once
// Helpers for the SDK tests: run a plugin under the real spawner (config loader, seccomp,
// Landlock, dropped uid) and talk to it through PluginClient. The plugin's seccomp
// notifications are serviced on a background thread, as the supervisor does, so a forbidden
// call gets the configured on_violation answer instead of blocking the plugin forever.
// Temp directories and text helpers come from tests/support.
#include "../support/read_fd.hpp"
#include "../support/temp_dir.hpp"
#include "../support/text.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace airlock::sdk_test {

using test_support::quoted;
using test_support::TempDir;

/// Services one plugin's seccomp listener on a background thread (applying the plugin's
/// on_violation policy through ViolationMonitor) and keeps the report lines, e.g.
/// `plugin journal (pid 42): forbidden system call ftruncate (77): killed`.
/// Stopped and joined at scope exit.
class ViolationCollector {
public:
    ViolationCollector(const host::Spawner& spawner, host::SpawnedPlugin& plugin) : plugin_name_(plugin.name) {
        std::optional<host::ViolationMonitor> monitor;
        try {
            monitor = host::make_violation_monitor(spawner, plugin);
        } catch (const std::exception& error) {
            FAIL("cannot monitor the plugin's seccomp notifications: " << error.what());
        }
        if (!monitor) return;  // no notifying filter: nothing to service
        thread_ = std::thread([this, monitor = std::move(*monitor)]() mutable { run(monitor); });
    }
    ViolationCollector(const ViolationCollector&) = delete;
    ViolationCollector& operator=(const ViolationCollector&) = delete;
    ~ViolationCollector() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }

    /// The report lines seen so far.
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    /// Waits until a report line containing `needle` was seen (the monitor records a
    /// violation only after acting on it, so the caller may see the plugin's answer first).
    bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] {
            return std::any_of(lines_.begin(), lines_.end(),
                               [&](const std::string& line) { return line.find(needle) != std::string::npos; });
        });
    }
    /// Why the monitor stopped early (anything but "every process left the filter"), or empty.
    std::string error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }

private:
    void run(host::ViolationMonitor& monitor) {
        while (!stopping_) {
            auto violation = monitor.handle_one(50);
            if (!violation) {
                if (violation.status().code() != StatusCode::PeerClosed) {
                    std::lock_guard lock(mutex_);
                    error_ = violation.status().to_string();
                }
                return;  // PeerClosed: no process uses the filter any more
            }
            if (!*violation) continue;  // timeout, or the thread went away first
            {
                std::lock_guard lock(mutex_);
                lines_.push_back((*violation)->describe(plugin_name_));
            }
            changed_.notify_all();
        }
    }

    std::string plugin_name_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<std::string> lines_;
    std::string error_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// One confined plugin, started and connected; stopped (or killed) at scope exit.
class RunningPlugin {
public:
    RunningPlugin(host::PluginConfig config)
        : spawner_(std::move(config)), plugin_(spawner_.launch()), violations_(spawner_, plugin_) {
        auto client = host::PluginClient::connect(plugin_, std::chrono::seconds(10),
                                                  [this](const protocol::LogRecord& record) { logs_.push_back(record.text); });
        if (!client) FAIL("cannot connect to the plugin: " << client.status().to_string() << "\n" << drain_stderr());
        client_ = std::make_unique<host::PluginClient>(std::move(*client));
    }
    host::PluginClient& client() { return *client_; }
    host::SpawnedPlugin& process() { return plugin_; }
    const std::vector<std::string>& logs() const { return logs_; }
    /// The host's reports of the plugin's forbidden system calls.
    const ViolationCollector& violations() const { return violations_; }

    /// Calls `method` and returns its reply; a call that fails fails the test (with its status).
    template <class Request, class Reply>
    Reply call_ok(const std::string& method, const Request& request,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        auto reply = client_->call<Request, Reply>(method, request, timeout);
        INFO(method << ": " << reply.status().to_string());
        REQUIRE(reply.ok());
        return std::move(*reply);
    }

    /// Asks the plugin to stop and waits for it to exit.
    host::PluginExit stop() {
        auto reply = client_->stop(std::chrono::seconds(5));
        INFO(reply.status().to_string());
        CHECK(reply.ok());
        return plugin_.process.wait();
    }
    /// What the plugin wrote to stderr so far.
    std::string drain_stderr() {
        return test_support::read_available(plugin_.stderr_pipe.get());
    }

private:
    host::Spawner spawner_;
    host::SpawnedPlugin plugin_;
    ViolationCollector violations_;  // after plugin_: stopped before the process is released
    std::vector<std::string> logs_;
    std::unique_ptr<host::PluginClient> client_;
};

} // namespace airlock::sdk_test
