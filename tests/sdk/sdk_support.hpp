#pragma once
// Helpers for the SDK tests: run a plugin under the real spawner (config loader, seccomp,
// Landlock, dropped uid) and talk to it through PluginClient. The plugin's seccomp
// notifications are serviced on a background thread, as the supervisor does, so a forbidden
// call gets the configured on_violation answer instead of blocking the plugin forever.
#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawn_violations.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace airlock::sdk_test {

/// A temporary directory (world-readable, so a plugin running as nobody can use what it is
/// granted), removed with its content at scope exit.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/airlock-sdk-test-XXXXXX";
        path_ = ::mkdtemp(pattern);
        ::chmod(path_.c_str(), 0755);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name, const std::string& content, mode_t mode = 0644) const {
        std::string full = path_ + "/" + name;
        std::ofstream(full) << content;
        ::chmod(full.c_str(), mode);
        return full;
    }
    std::string read(const std::string& name) const {
        std::ifstream in(path_ + "/" + name);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    std::string path_;
};

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

    /// Asks the plugin to stop and waits for it to exit.
    host::PluginExit stop() {
        auto reply = client_->stop(std::chrono::seconds(5));
        INFO(reply.status().to_string());
        CHECK(reply.ok());
        return plugin_.process.wait();
    }
    /// What the plugin wrote to stderr so far.
    std::string drain_stderr() {
        std::string text;
        char buffer[4096];
        ssize_t got;
        while ((got = ::read(plugin_.stderr_pipe.get(), buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
        return text;
    }

private:
    host::Spawner spawner_;
    host::SpawnedPlugin plugin_;
    ViolationCollector violations_;  // after plugin_: stopped before the process is released
    std::vector<std::string> logs_;
    std::unique_ptr<host::PluginClient> client_;
};

inline std::string quoted(const std::string& text) { return "\"" + text + "\""; }

} // namespace airlock::sdk_test
