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
//   wait    {text}       asynchronous: a timer thread replies "waited <text>", only after
//                        "poke" has been served (so a blocked plugin could never answer)
//   poke    {text}       replies at once
//   hold    {text}       asynchronous: kept pending; records whether it had a deadline and
//                        whether the host cancelled it
//   held    {text}       "deadline=<0|1> cancelled=<n>" for the held calls so far
#include "sdk_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

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

    std::mutex mutex;
    std::condition_variable poked;
    bool was_poked = false;
    std::vector<std::thread> timers;
    plugin.on<Text, Text>("wait", [&](Text& request, airlock::plugin::PendingReply<Text> reply) {
        timers.emplace_back([&, reply = std::move(reply), text = std::string(request.text)]() mutable {
            {
                std::unique_lock lock(mutex);
                poked.wait(lock, [&] { return was_poked; });
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the timer
            (void)reply.complete(Text{"waited " + text});
        });
    });
    plugin.on<Text, Text>("poke", [&](Text& request) {
        {
            std::lock_guard lock(mutex);
            was_poked = true;
        }
        poked.notify_all();
        return Text{"poked " + std::string(request.text)};
    });
    std::vector<airlock::plugin::PendingReply<Text>> held;
    bool held_deadline = false;
    int held_cancelled = 0;
    plugin.on<Text, Text>("hold", [&](Text&, airlock::plugin::PendingReply<Text> reply) {
        held_deadline = reply.deadline().has_value();
        reply.on_cancel([&] { ++held_cancelled; });
        held.push_back(std::move(reply));
    });
    plugin.on<Text, Text>("held", [&](Text&) {
        return Text{"deadline=" + std::to_string(held_deadline) + " cancelled=" + std::to_string(held_cancelled)};
    });
    plugin.log(airlock::plugin::LogLevel::Warning, "sdk test plugin starting");
    int code = plugin.run();
    for (auto& timer : timers) timer.join();
    return code;
}
