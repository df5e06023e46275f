// embed-demo: an application that hosts plugins itself, through the supervisor's C++ API
// (airlock/host/supervisor.hpp, target airlock::host_supervisor): build a config in code,
// start hello and checksum confined, wait until both are ready, call typed methods, stop.
//
// The supervisor runs on the application's own io_context; every call below is made on the
// thread running io.run(), and every callback runs there too. Host events and plugin output
// go to standard error here, so standard output holds only the results.
#include "hello/hello_api.hpp"

#include <airlock/connection/codec.hpp>
#include <airlock/connection/type_spec.hpp>
#include <airlock/host/config_loader.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

using airlock::host::PluginState;
using airlock::host::Supervisor;

namespace {

// The config, in code (the same TOML as a file; load_config(path) would do too). The
// plugins' absolute paths are compiled in by CMake.
const std::string kConfig = R"(
[plugin.hello]
exec = ")" HELLO_EXE R"("
restart = "no"

[plugin.hello.limits]
memory = "256MiB"
open_files = 32
processes = 1

[plugin.checksum]
exec = ")" CHECKSUM_EXE R"("
restart = "no"

[plugin.checksum.limits]
memory = "2GiB"
open_files = 32
processes = 1
)";

// A typed call on top of Supervisor::call_raw (which takes and returns encoded bodies):
// check our C++ types against the types the plugin announced, encode, call, decode.
template <class Request, class Reply>
void call(Supervisor& supervisor, const std::string& plugin, const std::string& method, const Request& request,
          std::function<void(airlock::Result<Reply>)> done) {
    auto methods = supervisor.methods(plugin);
    if (!methods) return done(methods.status());
    bool matches = false;
    for (const auto& announced : *methods)
        if (announced.name == method)
            matches = announced.request_type == airlock::describe(airlock::spec_of<Request>()) &&
                      announced.reply_type == airlock::describe(airlock::spec_of<Reply>());
    if (!matches) return done(airlock::Status(airlock::StatusCode::ProtocolMismatch, plugin + "." + method +
                                              ": not announced with these request/reply types"));
    std::vector<std::uint8_t> body;
    std::vector<int> fds;  // call_raw sends no descriptors: a request holding one cannot go this way
    if (auto s = airlock::encode_value(request, body, fds); !s.ok() || !fds.empty())
        return done(s.ok() ? airlock::Status(airlock::StatusCode::InvalidParameter, "descriptors not supported") : s);
    supervisor.call_raw(plugin, method, std::move(body), [done](airlock::Result<airlock::Message> reply) {
        if (!reply) return done(reply.status());
        done(airlock::decode_value<Reply>(reply->body, std::move(reply->fds)));
    });
}

} // namespace

int main() {
    boost::asio::io_context io;
    Supervisor supervisor(io, airlock::host::load_config_text(kConfig, "embed-demo.toml"));
    supervisor.set_output_fd(2);  // host events and plugin output to stderr
    int exit_code = 1;

    // Last step: stop every plugin gracefully (stop request, then SIGTERM, then SIGKILL).
    auto stop = [&](int code) {
        exit_code = code;
        supervisor.stop_all([&] {
            for (const auto& plugin : supervisor.status())
                std::printf("%s: %s (%s)\n", plugin.name.c_str(), airlock::host::plugin_state_name(plugin.state),
                            plugin.last_exit.c_str());
            io.stop();
        });
    };
    auto failed = [&](const char* what, const airlock::Status& status) {
        std::printf("%s failed: %s\n", what, status.to_string().c_str());
        stop(1);
    };

    // Once both plugins are ready: call them, one call after the other.
    auto call_plugins = [&] {
        auto checksum_methods = supervisor.methods("checksum");
        if (!checksum_methods) return failed("checksum methods", checksum_methods.status());
        for (const auto& method : *checksum_methods) std::printf("checksum serves: %s\n", method.name.c_str());
        // checksum's "sha256" takes a sealed memfd, but Supervisor::call_raw carries no
        // descriptors, so it cannot be called through the supervisor; call hello's "echo" instead.
        call<hello::GreetRequest, hello::GreetReply>(supervisor, "hello", "greet", {"embedder"}, [&](auto greeting) {
            if (!greeting) return failed("greet", greeting.status());
            std::printf("greet: %s\n", greeting->text.c_str());

            hello::EchoMessage ping{std::vector<std::uint8_t>{'p', 'i', 'n', 'g'}};
            call<hello::EchoMessage, hello::EchoMessage>(supervisor, "hello", "echo", ping, [&](auto echo) {
                if (!echo) return failed("echo", echo.status());
                std::printf("echo: %s\n", std::string(echo->data.begin(), echo->data.end()).c_str());

                // An exception in the plugin's handler arrives as an error value with its message.
                call<hello::GreetRequest, hello::GreetReply>(supervisor, "hello", "greet", {""}, [&](auto refused) {
                    if (refused) return failed("greet with no name", airlock::Status());
                    std::printf("greet with no name: %s\n", refused.status().message().c_str());
                    stop(0);
                });
            });
        });
    };

    // Start both and wait until both are ready (at most 10 s). The supervisor has no "state
    // changed" callback, so check the states again whenever it logs something: every state
    // change is logged.
    boost::asio::steady_timer deadline(io, std::chrono::seconds(10));
    bool waiting = true;
    auto check_ready = [&] {
        if (!waiting) return;
        auto plugins = supervisor.status();
        for (const auto& plugin : plugins) {
            if (plugin.state == PluginState::Failed || plugin.state == PluginState::Exited) {
                waiting = false;
                deadline.cancel();
                return failed(("starting " + plugin.name).c_str(),
                              airlock::Status(airlock::StatusCode::InvalidState, plugin.last_exit));
            }
        }
        for (const auto& plugin : plugins)
            if (plugin.state != PluginState::Ready) return;
        waiting = false;
        deadline.cancel();
        for (const auto& plugin : plugins) std::printf("%s: ready (pid %d)\n", plugin.name.c_str(), plugin.pid);
        call_plugins();
    };
    supervisor.subscribe_logs([&](const std::string&, const std::string&) { boost::asio::post(io, check_ready); });
    deadline.async_wait([&](boost::system::error_code error) {
        if (error || !waiting) return;
        waiting = false;
        failed("waiting for ready", airlock::Status(airlock::StatusCode::Timeout, "not ready after 10 s"));
    });
    supervisor.start_all();

    io.run();
    return exit_code;
}
