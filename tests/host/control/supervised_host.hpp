#pragma once
// A real Supervisor and ControlServer on their own io thread, for control tests that run
// real confined plugins from a TOML text.
#include <airlock/host/config_loader.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/host/supervisor.hpp>

#include "../../support/io_thread.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

namespace control_test {

/// A `[plugin.NAME]` section speaking protocol "airlock", with one argument when `mode` is set.
inline std::string plugin_toml(const std::string& name, const std::string& exec, const std::string& mode = {}) {
    return "[plugin." + name + "]\nexec = \"" + exec + "\"\n" + (mode.empty() ? "" : "args = [\"" + mode + "\"]\n") +
           "protocol = \"airlock\"\n\n";
}

/// The supervisor (running the plugins of `plugins_toml`) and the control server on their
/// own io thread; stops everything at scope exit.
struct SupervisedHost : airlock::test_support::IoThread {
    SupervisedHost(const std::string& plugins_toml, const std::string& tag)
        : config(airlock::host::load_config_text(
              "[sandbox]\nsystem_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\nuser = \"nobody\"\n" +
                  plugins_toml,
              "/tmp/control-" + tag + "-test.toml")),
          socket("/tmp/airlock-ctl-" + tag + "-" + std::to_string(::getpid()) + ".sock"),
          supervisor(io, config),
          server(io, supervisor, socket, {}) {
        supervisor.set_output_fd(-1);
        REQUIRE(server.start().ok());
        supervisor.start_all();
        start_io_thread();
    }
    ~SupervisedHost() {
        std::promise<void> stopped;
        on_io([&] {
            supervisor.stop_all([&] { stopped.set_value(); });
            return 0;
        });
        (void)stopped.get_future().wait_for(std::chrono::seconds(20));
        on_io([&] {
            server.stop();
            return 0;
        });
        stop_io_thread();
    }
    bool ready(const std::string& name) {
        return on_io([&] {
            for (const auto& status : supervisor.status())
                if (status.name == name) return status.state == airlock::host::PluginState::Ready;
            return false;
        });
    }
    /// Calls made to plugin `name` through the supervisor so far.
    std::uint64_t calls(const std::string& name) {
        return on_io([&] {
            for (const auto& status : supervisor.status())
                if (status.name == name) return status.calls;
            return std::uint64_t{0};
        });
    }

    airlock::host::HostConfig config;
    std::string socket;
    airlock::host::Supervisor supervisor;
    airlock::host::ControlServer server;
};

} // namespace control_test
