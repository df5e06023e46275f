#pragma once
// Helpers for the SDK tests: run a plugin under the real spawner (config loader, seccomp,
// Landlock, dropped uid) and talk to it through PluginClient.
#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/spawner.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
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

/// One confined plugin, started and connected; stopped (or killed) at scope exit.
class RunningPlugin {
public:
    RunningPlugin(host::PluginConfig config)
        : spawner_(std::move(config)), plugin_(spawner_.launch()) {
        auto client = host::PluginClient::connect(plugin_, std::chrono::seconds(10),
                                                  [this](const protocol::LogRecord& record) { logs_.push_back(record.text); });
        if (!client) FAIL("cannot connect to the plugin: " << client.status().to_string() << "\n" << drain_stderr());
        client_ = std::make_unique<host::PluginClient>(std::move(*client));
    }
    host::PluginClient& client() { return *client_; }
    host::SpawnedPlugin& process() { return plugin_; }
    const std::vector<std::string>& logs() const { return logs_; }

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
    std::vector<std::string> logs_;
    std::unique_ptr<host::PluginClient> client_;
};

inline std::string quoted(const std::string& text) { return "\"" + text + "\""; }

} // namespace airlock::sdk_test
