// An application embedding the installed host (airlock::host / airlock-host.pc): loads the
// TOML config named on the command line, or with `--exec PLUGIN` describes the plugin in code
// (PluginSpec, no TOML), supervises its plugin "outside" (outside_plugin,
// confined by the real sandbox), calls "ping" once it is ready, prints the reply, stops.
// With `--client PLUGIN` it runs the same plugin through the blocking PluginClient instead.
// Exit status 0 only when the reply came back and the plugin stopped cleanly.
#include "ping_api.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/plugin_client.hpp>
#include <airlock/host/plugin_spec.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

// The blocking client: start, one call, the stop request, the exit.
int run_client(const char* plugin) {
    airlock::host::PluginSpec outside("outside");
    outside.exec(plugin);
    airlock::host::Spawner spawner(outside.build());
    auto client = airlock::host::PluginClient::start(spawner);
    if (!client) {
        std::printf("not ready: %s\n", client.status().to_string().c_str());
        return 1;
    }
    auto reply = client->call<Ping, Ping>("ping", Ping{"from the embedder"});
    if (!reply) {
        std::printf("ping failed: %s\n", reply.status().to_string().c_str());
        return 1;
    }
    std::printf("ping: %s\n", reply->text.c_str());
    const airlock::host::PluginExit exit = client->stop();
    if (exit.signaled || exit.exit_code != 0) {
        std::printf("stop: %s\n", exit.describe().c_str());
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    const bool in_code = argc == 3 && std::string(argv[1]) == "--exec";
    const bool client = argc == 3 && std::string(argv[1]) == "--client";
    if (argc != 2 && !in_code && !client) {
        std::fprintf(stderr, "usage: embedder CONFIG | embedder --exec PLUGIN | embedder --client PLUGIN\n");
        return 64;
    }
    try {
        if (client) return run_client(argv[2]);
        boost::asio::io_context io;
        airlock::host::PluginSpec outside("outside");
        outside.exec(in_code ? argv[2] : "").restart(airlock::host::RestartPolicy::No);
        std::optional<airlock::host::Supervisor> holder;
        if (in_code)
            holder.emplace(io, std::vector<airlock::host::PluginSpec>{outside});
        else
            holder.emplace(io, airlock::host::load_config(argv[1]));
        airlock::host::Supervisor& supervisor = *holder;
        supervisor.set_output_fd(2);
        int exit_code = 1;
        auto stop = [&](int code) {
            exit_code = code;
            supervisor.stop_all([&] { io.stop(); });
        };
        supervisor.start_all();
        supervisor.when_ready("outside", std::chrono::seconds(30), [&](airlock::Status ready) {
            if (!ready.ok()) {
                std::printf("not ready: %s\n", ready.to_string().c_str());
                return stop(1);
            }
            supervisor.call<Ping, Ping>("outside", "ping", Ping{"from the embedder"}, [&](airlock::Result<Ping> reply) {
                if (!reply) {
                    std::printf("ping failed: %s\n", reply.status().to_string().c_str());
                    return stop(1);
                }
                std::printf("ping: %s\n", reply->text.c_str());
                stop(0);
            });
        });
        io.run();
        return exit_code;
    } catch (const std::exception& error) {
        std::printf("embedder: %s\n", error.what());
        return 1;
    }
}
