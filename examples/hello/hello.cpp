// hello: the smallest complete Airlock plugin. "greet" says hello, "echo" returns its input.
#include "hello_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <cstdio>
#include <stdexcept>

int main() try {
    airlock::plugin::Plugin plugin;  // adopts the host connection and receives the grants
    plugin.on<hello::GreetRequest, hello::GreetReply>("greet", [](hello::GreetRequest& request) {
        if (request.name.empty()) throw std::invalid_argument("greet needs a name");
        return hello::GreetReply{"hello, " + request.name};
    });
    plugin.on<hello::EchoMessage, hello::EchoMessage>("echo", [](hello::EchoMessage& message) { return message; });
    return plugin.run();  // reports ready, serves until the host says stop, returns 0
} catch (const airlock::plugin::PluginError& error) {  // e.g. not started by airlock-host
    std::fprintf(stderr, "hello: %s\n", error.what());
    return error.kind() == airlock::plugin::PluginErrorKind::NotUnderHost ? 78 : 1;
}
