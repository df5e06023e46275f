// airlock-host: check a config, run one plugin in the foreground, supervise all of them.
#include <airlock/host/foreground_run.hpp>
#include <airlock/host/open_file_limit.hpp>
#include <airlock/host/spawner.hpp>

#include "exec_command_line.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/isolation_layers.hpp>
#include <airlock/host/seccomp_filter.hpp>
#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>
#include <airlock/host/control_server.hpp>
#include "journal_forwarding.hpp"  // host/src/systemd
#include "service_notifier.hpp"

#include <signal.h>
#include <sysexits.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace airlock::host;

std::string usage_text() {
    return "usage: airlock-host check [--verify] CONFIG\n" + exec_usage() +
           "       airlock-host run CONFIG\n"
           "       airlock-host --help | --version\n";
}

int usage() {
    std::cerr << usage_text();
    return EX_USAGE;
}

// --help / --version: to standard output, exit 0 (man airlock-host for the details).
int help() {
    std::cout << usage_text()
              << "\n"
                 "  check   validate CONFIG; print the isolation layers and each plugin's policy\n"
                 "  exec    run one plugin confined in the foreground\n"
                 "  run     supervise every plugin (SIGHUP reloads, SIGTERM stops; systemd Type=notify)\n"
                 "\n"
                 "See airlock-host(1), airlock.toml(5), airlockctl(1).\n";
    return EX_OK;
}

int version() {
    std::cout << "airlock-host " AIRLOCK_VERSION "\n";
    return EX_OK;
}

// Which layers the spawner will apply to this plugin (or why it would refuse to start).
int print_plugin_layers(const PluginConfig& plugin) {
    try {
        // Described only: no cgroup is created, changed or swept by a check.
        Spawner spawner(plugin, SpawnerUse::Describe);
        std::cout << "  layers applied at spawn:";
        for (const auto& layer : spawner.layers()) {
            const bool switched_off = layer.layer == IsolationLayer::Namespaces && plugin.namespaces == NamespacesMode::Off;
            std::cout << " " << isolation_layer_name(layer.layer) << (layer.applied ? "" : switched_off ? " (off)" : " (unavailable)");
        }
        std::cout << "\n";
        std::cout << "  memory limit: " << spawner.memory_enforcement().describe() << "\n";
        std::cout << "  tasks limit: " << spawner.tasks_enforcement().describe() << "\n";
        std::cout << "  cpu quota: " << spawner.cpu_enforcement().describe() << "\n";
        return EX_OK;
    } catch (const SpawnError& error) {
        std::cout << "  would not start: " << error.what() << "\n";
        return EX_UNAVAILABLE;
    }
}

// `check --verify`: compiles the plugin's seccomp filter (which verifies it) and prints
// what the verifier checked, decisions per architecture.
int print_filter_verification(const PluginConfig& plugin, bool notify) {
    auto filter = compile_seccomp_filter(plugin.syscalls, plugin.limits, seccomp_filter_options_for(plugin, notify));
    if (!filter) {
        std::cout << "  seccomp filter: NOT VERIFIED: " << filter.status().message() << "\n";
        return EX_SOFTWARE;
    }
    std::cout << "  seccomp filter: " << filter->instructions().size() << " BPF instructions, decisions per architecture:\n"
              << describe_verification(filter->verification());
    return EX_OK;
}

int check_command(const std::string& config_path, bool verify = false) {
    HostConfig config = load_config(config_path);
    std::cout << "isolation layers on this kernel:\n" << describe_isolation_layers(probe_isolation_layers()) << "\n";
    int status = EX_OK;
    for (const auto& [name, plugin] : config.plugins) {
        std::cout << describe_policy(plugin) << "\n";
        if (int plugin_status = print_plugin_layers(plugin); plugin_status != EX_OK) status = plugin_status;
        if (verify) {
            const bool notify = probe_isolation_layers().seccomp_user_notification.available;
            if (int verify_status = print_filter_verification(plugin, notify); verify_status != EX_OK)
                status = verify_status;
        }
    }
    return status;
}

// Runs one plugin in the foreground; the host exits with its status (128 + signal).
int run_plugin(PluginConfig plugin, const ExecCommandLine& command_line) {
    if (command_line.learn) {
        plugin.syscalls.learn = true;
        plugin.syscalls.on_violation = ViolationAction::Log;
    }
    // Learning needs the host to see each call; without notification `log` would let the
    // calls through unrecorded.
    if (plugin.syscalls.learn && !probe_isolation_layers().seccomp_user_notification.available) {
        std::cerr << "airlock-host: learn mode needs seccomp user notification, which this kernel lacks\n";
        return EX_UNAVAILABLE;
    }
    const bool inherit_stdio = plugin.stdio == StdioMode::Inherit && !command_line.prefix;
    Spawner spawner(plugin, SpawnerUse::OneLaunch);
    ForegroundOptions options;
    options.extra_args = command_line.extra_args;
    options.forward_signals = true;
    options.inherit_stdio = inherit_stdio;
    return run_in_foreground(spawner, options).shell_status();
}
// The name config errors of a config-less command line are reported under.
constexpr const char* kCommandLineConfigName = "<exec command line>";

int exec_command(const ExecCommandLine& command_line) {
    if (command_line.config_less()) {
        // One validation path: the command line becomes TOML and goes through the loader.
        const std::string text = command_line_config(command_line);
        HostConfig config = load_config_text(text, kCommandLineConfigName);
        if (command_line.print_config) {
            std::cout << text;
            return EX_OK;
        }
        return run_plugin(config.plugins.begin()->second, command_line);
    }
    HostConfig config = load_config(command_line.config_path);
    auto found = config.plugins.find(command_line.plugin_name);
    if (found == config.plugins.end()) {
        std::cerr << "airlock-host: " << command_line.config_path << ": no plugin named '" << command_line.plugin_name
                  << "'\n";
        return EX_USAGE;
    }
    return run_plugin(found->second, command_line);
}

// How long READY=1 waits for a plugin that is neither ready nor given up on (it is reported
// in STATUS= by its state then); systemd's own start timeout is 90 s by default.
constexpr std::chrono::seconds kSettleLimit{60};

void host_line(const std::string& text) {
    const std::string line = "[host] " + text + "\n";
    (void)!::write(1, line.data(), line.size());
}

// `airlock-host run CONFIG`: supervise every configured plugin until SIGTERM/SIGINT.
// Learning loosens a filter for one foreground run: a supervised host never does it.
bool refuse_learning(const HostConfig& config) {
    for (const auto& [name, plugin] : config.plugins) {
        if (!plugin.syscalls.learn) continue;
        std::cerr << "airlock-host: plugin " << name << ": on_violation = \"learn\" is for airlock-host exec only, "
                  << "never for run\n";
        return true;
    }
    return false;
}

int run_command(const std::string& config_path) {
    HostConfig config = load_config(config_path);
    if (refuse_learning(config)) return EX_CONFIG;
    boost::asio::io_context io;
    const std::optional<std::string> control_path = config.control_path;
    const std::vector<uid_t> control_users(config.control_users.begin(), config.control_users.end());
    const std::optional<std::uint32_t> control_group = config.control_group;
    const mode_t control_mode = config.control_mode;
    Supervisor supervisor(io, std::move(config));
    // Under systemd: Type=notify readiness, and log records to the journal with their fields.
    systemd::ServiceNotifier notifier;
    bool stopping = false;
    auto notify_ready_once_settled = [&]() {
        systemd::when_all_settled(supervisor, kSettleLimit, [&]() {
            if (!stopping) notifier.ready(systemd::plugin_counts(supervisor.status()));
        });
    };
    std::unique_ptr<systemd::JournalWriter> journal = systemd::JournalWriter::open_if_journal_stream();
    if (journal) systemd::forward_logs_to_journal(supervisor, *journal);
    std::optional<ControlServer> control;
    if (control_path) {
        control.emplace(io, supervisor, *control_path, control_users);
        if (control_group) control->set_group(*control_group);
        if (airlock::Status status = control->start(control_mode); !status.ok()) {
            std::cerr << "airlock-host: " << status.message() << "\n";  // names the socket once
            return EX_UNAVAILABLE;
        }
        host_line("control socket " + *control_path);
    }
    boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    std::function<void()> wait_for_signal = [&]() {
        signals.async_wait([&](const boost::system::error_code& error, int signal_number) {
            if (error) return;
            if (signal_number == SIGHUP && stopping) {
                host_line("stopping: SIGHUP ignored");
            } else if (signal_number == SIGHUP) {
                notifier.reloading();
                try {
                    HostConfig reloaded = load_config(config_path);
                    if (refuse_learning(reloaded)) {
                        std::cerr << "airlock-host: reload refused, keeping the running configuration\n";
                    } else if (airlock::Status status = supervisor.reload(std::move(reloaded)); !status.ok()) {
                        std::cerr << "airlock-host: reload failed, keeping the running configuration: "
                                  << status.message() << std::endl;
                    } else {
                        host_line("reloaded " + config_path);
                    }
                } catch (const std::exception& error) {
                    std::cerr << "airlock-host: reload failed, keeping the running configuration: " << error.what()
                              << std::endl;
                }
                notify_ready_once_settled();
            } else if (!stopping) {
                stopping = true;
                notifier.stopping("stopping " + systemd::plugin_counts(supervisor.status()));
                host_line(std::string("received ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") +
                          ": stopping all plugins");
                if (control) control->stop();
                supervisor.stop_all([&]() {
                    host_line("all plugins stopped");
                    io.stop();
                });
            } else {
                host_line("second termination signal: killing all plugins");
                io.stop();
            }
            wait_for_signal();
        });
    };
    wait_for_signal();
    host_line("supervising " + config_path);
    supervisor.start_all();
    // What the namespaces probe kept for a first private root that was not built by now
    // (no plugin with the layer) must not pin a copy of the host's mounts for the host's life.
    release_probed_namespaces();
    notify_ready_once_settled();
    io.run();
    return EX_OK;
}

int dispatch(const std::vector<std::string>& words) {
    if (words.empty()) return usage();
    const std::string& command = words[0];
    if ((command == "--help" || command == "-h") && words.size() == 1) return help();
    if (command == "--version" && words.size() == 1) return version();
    if (command == "check" && words.size() == 2) return check_command(words[1]);
    if (command == "check" && words.size() == 3 && words[1] == "--verify") return check_command(words[2], true);
    if (command == "exec") {
        ExecCommandLine command_line;
        try {
            command_line = parse_exec_command_line({words.begin() + 1, words.end()});
            return exec_command(command_line);
        } catch (const UsageError& error) {
            std::cerr << "airlock-host: " << error.what() << "\n";
            return usage();
        }
    }
    if (command == "run" && words.size() == 2) return run_command(words[1]);
    return usage();
}

} // namespace

int main(int argc, char** argv) {
    // A closed stdout must end in a write error, not kill the host (plugins get SIG_DFL back).
    ::signal(SIGPIPE, SIG_IGN);
    // Many plugins need many descriptors; plugins still get the limit the host was started with.
    (void)airlock::host::raise_open_file_limit();
    std::vector<std::string> words(argv + 1, argv + argc);
    try {
        return dispatch(words);
    } catch (const ConfigError& error) {
        std::cerr << "airlock-host: " << error.what() << "\n";
        return EX_CONFIG;
    } catch (const SpawnError& error) {
        std::cerr << "airlock-host: " << error.what() << "\n";
        return EX_UNAVAILABLE;
    } catch (const GrantError& error) {
        std::cerr << "airlock-host: " << error.what() << "\n";
        return EX_NOINPUT;
    } catch (const std::exception& error) {
        std::cerr << "airlock-host: " << error.what() << "\n";
        return EX_SOFTWARE;
    }
}
