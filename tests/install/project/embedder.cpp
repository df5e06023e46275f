// An application embedding the installed host (airlock::host / airlock-host.pc): loads the
// TOML config named on the command line, supervises its plugin "outside" (outside_plugin,
// confined by the real sandbox), calls "ping" once it is ready, prints the reply, stops.
// Exit status 0 only when the reply came back and the plugin stopped cleanly.
#include "ping_api.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: embedder CONFIG\n");
        return 64;
    }
    try {
        boost::asio::io_context io;
        airlock::host::Supervisor supervisor(io, airlock::host::load_config(argv[1]));
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
