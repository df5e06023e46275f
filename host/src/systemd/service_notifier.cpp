#include "service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>

namespace airlock::host::systemd {

namespace {

using SdNotify = decltype(&::sd_notify);

// libsystemd's sd_notify, loaded the first time a host started by systemd notifies. The
// library is not linked: it and the six libraries behind it (libgcrypt, liblzma, libzstd,
// liblz4, libgpg-error, libcap) cost every `airlock-host exec` and `check` their loading and
// relocation although only `run` under systemd uses it. nullptr (reported once) when it
// cannot be loaded.
SdNotify load_sd_notify() {
    static const SdNotify loaded = []() -> SdNotify {
        void* library = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        void* symbol = library != nullptr ? ::dlsym(library, "sd_notify") : nullptr;
        if (symbol == nullptr) {
            const char* error = ::dlerror();
            std::fprintf(stderr, "airlock-host: NOTIFY_SOCKET is set but libsystemd cannot be loaded (%s): "
                                 "systemd is not told the service's state\n",
                         error != nullptr ? error : "no sd_notify");
            return nullptr;
        }
        return reinterpret_cast<SdNotify>(symbol);
    }();
    return loaded;
}

} // namespace

ServiceNotifier::ServiceNotifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket != nullptr && *socket != '\0';
}

void ServiceNotifier::send(const std::string& state) {
    // unset_environment = 0: reloads notify again. A failed send is not the host's problem to
    // solve (systemd then times the start out), so its result is ignored.
    if (!active_) return;
    if (SdNotify notify = load_sd_notify()) (void)notify(0, state.c_str());
}

void ServiceNotifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }

void ServiceNotifier::reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
    send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }

void ServiceNotifier::status(const std::string& status) { send("STATUS=" + status); }

std::string plugin_counts(const std::vector<PluginStatus>& plugins) {
    std::map<std::string, std::size_t> per_state;
    for (const auto& plugin : plugins) ++per_state[plugin_state_name(plugin.state)];
    std::string text = std::to_string(plugins.size()) + (plugins.size() == 1 ? " plugin" : " plugins");
    const char* separator = ": ";
    for (const auto& [state, count] : per_state) {
        text += separator + std::to_string(count) + " " + state;
        separator = ", ";
    }
    return text;
}

void when_all_settled(Supervisor& supervisor, std::chrono::milliseconds limit, std::function<void()> done) {
    const auto plugins = supervisor.status();
    if (plugins.empty()) return done();
    auto pending = std::make_shared<std::size_t>(plugins.size());
    auto finish = std::make_shared<std::function<void()>>(std::move(done));
    for (const auto& plugin : plugins) {
        supervisor.when_ready(plugin.name, limit, [pending, finish](airlock::Status) {
            if (--*pending == 0) (*finish)();
        });
    }
}

} // namespace airlock::host::systemd
