// embed-demo: an application that hosts plugins itself, through the supervisor's C++ API
// (airlock/host/supervisor.hpp, target airlock::host_supervisor): describe the plugins in code
// (airlock/host/plugin_spec.hpp, no TOML),
// start hello and checksum confined, wait until both are ready, call typed methods (checksum's
// with a sealed shared-memory buffer as a descriptor member), stop.
//
// The supervisor runs on the application's own io_context; every call below is made on the
// thread running io.run(), and every callback runs there too. Host events and plugin output
// go to standard error here, so standard output holds only the results.
#include "checksum/checksum_api.hpp"
#include "hello/hello_api.hpp"

#include <airlock/connection/shared_memory.hpp>
#include <airlock/host/plugin_spec.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using airlock::host::PluginSpec;
using airlock::host::RestartPolicy;
using airlock::host::Supervisor;

namespace {

// The plugins, described in code with the typed builder (no TOML; the same checks and
// messages as a config file). Their absolute paths are compiled in by CMake.
std::vector<PluginSpec> plugins() {
    PluginSpec hello("hello");
    hello.exec(HELLO_EXE).restart(RestartPolicy::No).memory("256MiB").open_files(32).processes(1);
    PluginSpec checksum("checksum");
    checksum.exec(CHECKSUM_EXE).restart(RestartPolicy::No).memory("2GiB").open_files(32).processes(1);
    return {hello, checksum};
}

// The data for checksum's "sha256": a sealed shared-memory buffer holding `text`.
airlock::Result<checksum::ChecksumRequest> sealed_request(const std::string& text, std::size_t zeros = 0) {
    auto buffer = airlock::SealedBuffer::create(text.size() + zeros);
    if (!buffer) return buffer.status();
    std::memcpy(buffer->writable().data(), text.data(), text.size());  // the rest is already zero
    if (auto s = buffer->seal(); !s.ok()) return s;
    auto fd = buffer->share();
    if (!fd) return fd.status();
    return checksum::ChecksumRequest{std::move(*fd)};
}

} // namespace

int main() {
    boost::asio::io_context io;
    Supervisor supervisor(io, plugins());  // throws ConfigError for an invalid spec
    supervisor.set_output_fd(2);  // host events and plugin output to stderr
    int exit_code = 1;

    // Last step: stop every plugin gracefully (stop request, then SIGTERM, then SIGKILL).
    bool stopping = false;
    auto stop = [&](int code) {
        stopping = true;
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
        if (!stopping) stop(1);
    };
    std::function<void()> hash_data;

    // Once both plugins are ready: call them, one call after the other. Supervisor::call checks
    // our C++ types against the types each plugin announced, then encodes, calls and decodes.
    auto call_plugins = [&] {
        auto checksum_methods = supervisor.methods("checksum");
        if (!checksum_methods) return failed("checksum methods", checksum_methods.status());
        for (const auto& method : *checksum_methods) std::printf("checksum serves: %s\n", method.name.c_str());
        supervisor.call<hello::GreetRequest, hello::GreetReply>("hello", "greet", {"embedder"}, [&](auto greeting) {
            if (!greeting) return failed("greet", greeting.status());
            std::printf("greet: %s\n", greeting->text.c_str());

            hello::EchoMessage ping{std::vector<std::uint8_t>{'p', 'i', 'n', 'g'}};
            supervisor.call<hello::EchoMessage, hello::EchoMessage>("hello", "echo", ping, [&](auto echo) {
                if (!echo) return failed("echo", echo.status());
                std::printf("echo: %s\n", std::string(echo->data.begin(), echo->data.end()).c_str());

                // An exception in the plugin's handler arrives as an error value with its message.
                supervisor.call<hello::GreetRequest, hello::GreetReply>("hello", "greet", {""}, [&](auto refused) {
                    if (refused) return failed("greet with no name", airlock::Status());
                    std::printf("greet with no name: %s\n", refused.status().message().c_str());
                    hash_data();
                });
            });
        });
    };

    // Bulk data: the request carries a sealed memfd (a descriptor member); the supervisor sends
    // it along with the call. 128 MiB takes about a second, so give it a longer timeout than the
    // plugin's default call_timeout; the plugin reports progress meanwhile.
    hash_data = [&] {
        auto small = sealed_request("abc");
        if (!small) return failed("sealing a buffer", small.status());
        supervisor.call<checksum::ChecksumRequest, checksum::ChecksumReply>("checksum", "sha256", *small, [&](auto digest) {
            if (!digest) return failed("sha256 of \"abc\"", digest.status());
            std::printf("sha256(\"abc\"): %s\n", digest->sha256.c_str());
            auto big = sealed_request("", std::size_t{128} << 20);
            if (!big) return failed("sealing a buffer", big.status());
            airlock::host::CallOptions slow;
            slow.timeout = std::chrono::seconds(60);
            supervisor.call<checksum::ChecksumRequest, checksum::ChecksumReply>(
                "checksum", "sha256", *big,
                [&](auto big_digest) {
                    if (!big_digest) return failed("sha256 of 128 MiB", big_digest.status());
                    std::printf("sha256(128 MiB of zeros): %s (%llu bytes)\n", big_digest->sha256.c_str(),
                                static_cast<unsigned long long>(big_digest->size));
                    for (const auto& plugin : supervisor.status())
                        if (plugin.name == "checksum" && plugin.progress)
                            std::printf("checksum status, latest report: %s\n", airlock::protocol::format_progress(*plugin.progress).c_str());
                    stop(0);
                },
                slow);
        });
    };

    // Start both; when_ready calls back once a plugin is ready (or will not be).
    supervisor.start_all();
    auto ready_count = std::make_shared<int>(0);
    for (const char* name : {"hello", "checksum"}) {
        supervisor.when_ready(name, std::chrono::seconds(10), [&, name, ready_count](airlock::Status status) {
            if (!status.ok()) return failed((std::string("starting ") + name).c_str(), status);
            for (const auto& plugin : supervisor.status())
                if (plugin.name == name) std::printf("%s: ready (pid %d)\n", name, plugin.pid);
            if (++*ready_count == 2) call_plugins();
        });
    }

    io.run();
    return exit_code;
}
