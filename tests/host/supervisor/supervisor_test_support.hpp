#pragma once
// Helpers for the supervisor tests: TOML for supervised test plugins, running the io_context
// until a condition holds.
#include <airlock/host/config_loader.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace airlock::supervisor_test {

inline const std::string kPlugin = AIRLOCK_SUPERVISED_PLUGIN;

/// One `[plugin.NAME]` table for the supervised test plugin.
inline std::string plugin_toml(const std::string& name, const std::string& mode, const std::string& extra = "") {
    return "[plugin." + name + "]\n"
           "exec = \"" + kPlugin + "\"\n"
           "args = [\"" + mode + "\"]\n"
           "protocol = \"airlock\"\n" + extra + "\n";
}

inline std::string host_toml(const std::string& plugins) {
    return "[sandbox]\n"
           "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
           "user = \"nobody\"\n" + plugins;
}

inline host::HostConfig config_of(const std::string& plugins) {
    return host::load_config_text(host_toml(plugins), "/tmp/supervisor-test.toml");
}

/// Runs `io` until `done()` or `limit` passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
        io.run_one_for(std::chrono::milliseconds(20));
        if (io.stopped()) io.restart();
    }
    return done();
}

/// Whether the well-behaved plugin "good" (mode "serve") answers an echo call: the host still
/// serves others while a hostile plugin works on it. Test with REQUIRE.
inline bool good_plugin_answers(boost::asio::io_context& io, host::Supervisor& supervisor) {
    std::optional<Result<Message>> reply;
    const std::vector<std::uint8_t> body{4, 2};
    supervisor.call_raw("good", "echo", body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    return run_until(io, [&] { return reply.has_value(); }) && reply->ok();
}

inline host::PluginStatus status_of(const host::Supervisor& supervisor, const std::string& name) {
    for (auto& status : supervisor.status()) {
        if (status.name == name) return status;
    }
    return {};
}

inline bool in_state(const host::Supervisor& supervisor, const std::string& name, host::PluginState state) {
    return status_of(supervisor, name).state == state;
}

/// A temporary directory, removed with its files.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/airlock-sup-XXXXXX";
        path_ = ::mkdtemp(pattern);
    }
    ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
    const std::string& path() const { return path_; }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path_ + "/" + name) << text; }
    std::string read(const std::string& name) const {
        std::ifstream in(path_ + "/" + name);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    std::string path_;
};

} // namespace airlock::supervisor_test
