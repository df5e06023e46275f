#pragma once
// Helpers for the SDK tests: run a plugin under the real spawner (config loader, seccomp,
// Landlock, dropped uid) and talk to it through PluginClient, whose PluginRunner answers the
// plugin's seccomp notifications by its on_violation policy, as under the supervisor.
// Temp directories and text helpers come from tests/support.
#include "../support/read_fd.hpp"
#include "../support/temp_dir.hpp"
#include "../support/text.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace airlock::sdk_test {

using test_support::quoted;
using test_support::TempDir;

/// The host's reports of one plugin's forbidden system calls, e.g. `plugin journal (pid 42):
/// forbidden system call ftruncate (77): killed`, as its PluginClient's runner answered them
/// (by the plugin's on_violation policy, like the supervisor).
class ViolationLog {
public:
    /// The report lines seen so far.
    std::vector<std::string> lines() const { return lines_; }
    /// Drives the plugin's events until a report line containing `needle` was seen (the
    /// monitor records a violation only after acting on it, so the caller may see the
    /// plugin's answer first).
    bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) const {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (!seen(needle) && std::chrono::steady_clock::now() < end && client_ != nullptr) {
            Status polled = client_->poll_once(std::chrono::milliseconds(50));
            if (polled.code() == StatusCode::PeerClosed) break;
        }
        return seen(needle);
    }
    /// Why the monitor stopped early (its report), or empty.
    std::string error() const { return error_; }

private:
    friend class RunningPlugin;
    bool seen(const std::string& needle) const {
        return std::any_of(lines_.begin(), lines_.end(),
                           [&](const std::string& line) { return line.find(needle) != std::string::npos; });
    }

    host::PluginClient* client_ = nullptr;
    std::vector<std::string> lines_;
    std::string error_;
};

/// One confined plugin, started and run by a PluginClient (its PluginRunner answers the
/// plugin's seccomp notifications, as the supervisor does); killed at scope exit unless
/// stopped.
class RunningPlugin {
public:
    RunningPlugin(host::PluginConfig config) : spawner_(std::move(config)) {
        host::PluginClient::Events events;
        events.log = [this](const protocol::LogRecord& record) { logs_.push_back(record.text); };
        events.output = [this](const host::OutputLine& line, const std::string&) {
            if (line.stream == host::OutputStream::Stderr) stderr_ += line.text + "\n";
        };
        events.violation = [this](const std::string& report) { violations_->lines_.push_back(report); };
        events.report = [this](const std::string& text) {
            if (text.find("violation monitor") != std::string::npos) violations_->error_ = text;
        };
        auto client = host::PluginClient::start(spawner_, std::move(events));
        if (!client) FAIL("cannot start the plugin: " << client.status().to_string() << "\n" << stderr_);
        client_ = std::make_unique<host::PluginClient>(std::move(*client));
        violations_->client_ = client_.get();
    }
    host::PluginClient& client() { return *client_; }
    const std::vector<std::string>& logs() const { return logs_; }
    /// The host's reports of the plugin's forbidden system calls.
    const ViolationLog& violations() const { return *violations_; }

    /// Calls `method` and returns its reply; a call that fails fails the test (with its status).
    template <class Request, class Reply>
    Reply call_ok(const std::string& method, const Request& request,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        auto reply = client_->call<Request, Reply>(method, request, timeout);
        INFO(method << ": " << reply.status().to_string());
        REQUIRE(reply.ok());
        return std::move(*reply);
    }

    /// Stops the plugin (stop request, then signals) and returns its exit.
    host::PluginExit stop() { return client_->stop(); }
    /// Waits for the plugin to exit on its own.
    host::PluginExit wait() { return client_->wait(); }
    /// Handles the plugin's events for `duration` (e.g. to let reports that would come arrive).
    void settle(std::chrono::milliseconds duration) {
        const auto end = std::chrono::steady_clock::now() + duration;
        while (std::chrono::steady_clock::now() < end) {
            if (client_->poll_once(std::chrono::ceil<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()))
                    .code() == StatusCode::PeerClosed)
                return;
        }
    }
    /// What the plugin wrote to stderr so far.
    std::string drain_stderr() { return stderr_; }

private:
    host::Spawner spawner_;
    std::unique_ptr<ViolationLog> violations_ = std::make_unique<ViolationLog>();
    std::vector<std::string> logs_;
    std::string stderr_;
    std::unique_ptr<host::PluginClient> client_;
};

} // namespace airlock::sdk_test
