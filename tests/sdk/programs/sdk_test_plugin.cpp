// A plugin exercising the SDK from inside the real sandbox. Every method reports what the
// SDK did (ok + value, or the PluginError's message) so the tests can check it exactly.
//   grant   {grant, as}  take the grant as that kind of handle
//   open    {text}       read a file beneath directory grant "data"
//   list    {text}       list a directory beneath grant "data"
//   append  {text}       append to grant "journal"
//   memory  {text}       write text into grant "scratch" (read-write mapping), read it back
//   fail    {text}       throws std::runtime_error(text)
//   late    {text}       registers a method while running
//   startup {text}       the errors collected before run() (duplicate registration)
#include "sdk_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>

using airlock::plugin::Plugin;
using airlock::plugin::PluginError;
using namespace sdk_test;

namespace {

template <class Action>
Outcome attempt(Action action) {
    try {
        return Outcome{true, action()};
    } catch (const PluginError& error) {
        return Outcome{false, error.what()};
    }
}

} // namespace

int main() {
    std::unique_ptr<Plugin> created;
    try {
        created = std::make_unique<Plugin>();
    } catch (const PluginError& error) {
        std::fprintf(stderr, "sdk-test-plugin: %s\n", error.what());
        return 78;
    }
    Plugin& plugin = *created;
    std::string startup_errors;

    plugin.on<GrantAttempt, Outcome>("grant", [&](GrantAttempt& request) {
        return attempt([&]() -> std::string {
            if (request.as == "file") return plugin.read_only_file(request.grant).read_all();
            if (request.as == "dir") return std::to_string(plugin.directory(request.grant).list().size()) + " entries";
            if (request.as == "log") return plugin.append_log(request.grant).name();
            if (request.as == "socket") return plugin.connected_socket(request.grant).name();
            if (request.as == "memory") return std::to_string(plugin.shared_memory(request.grant).size()) + " bytes";
            throw std::invalid_argument("unknown handle kind " + request.as);
        });
    });
    plugin.on<Text, Outcome>("open", [&](Text& request) {
        return attempt([&] { return plugin.directory("data").read_file(request.text); });
    });
    plugin.on<Text, Outcome>("list", [&](Text& request) {
        return attempt([&] {
            std::string names;
            for (const auto& entry : plugin.directory("data").list(request.text)) {
                names += entry.name + (entry.is_directory ? "/" : entry.is_symlink ? "@" : "") + " ";
            }
            return names;
        });
    });
    plugin.on<Text, Outcome>("append", [&](Text& request) {
        return attempt([&] {
            plugin.append_log("journal").append(request.text);
            return std::string("appended");
        });
    });
    plugin.on<Text, Outcome>("memory", [&](Text& request) {
        return attempt([&] {
            auto memory = plugin.shared_memory("scratch");
            auto mapping = memory.map_read_write();
            std::memcpy(mapping.writable_bytes().data(), request.text.data(), request.text.size());
            auto view = memory.map_read_only();
            return std::string(reinterpret_cast<const char*>(view.bytes().data()), request.text.size());
        });
    });
    plugin.on<Text, Text>("fail", [](Text& request) -> Text { throw std::runtime_error(request.text); });
    plugin.on<Text, Outcome>("late", [&](Text&) {
        return attempt([&] {
            plugin.on<Text, Text>("too-late", [](Text& t) { return t; });
            return std::string("registered");
        });
    });
    try {
        plugin.on<Text, Text>("fail", [](Text& t) { return t; });
    } catch (const PluginError& error) {
        startup_errors += error.what();
    }
    plugin.on<Text, Text>("startup", [&](Text&) { return Text{startup_errors}; });
    plugin.log(airlock::plugin::LogLevel::Warning, "sdk test plugin starting");
    return plugin.run();
}
