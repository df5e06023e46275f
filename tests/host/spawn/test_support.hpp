#pragma once
// Helpers shared by the spawner tests: probe configs through the real config loader,
// running a probe to completion, reading its report lines, temp files (tests/support).

#include "../../support/read_fd.hpp"
#include "../../support/temp_dir.hpp"
#include "../../support/text.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/foreground_run.hpp>
#include <airlock/host/spawner.hpp>

#include <sys/mman.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace airlock::test {

using test_support::quoted;
using test_support::quoted_list;
using test_support::read_available;
using test_support::read_file;
using test_support::read_memfd;
using test_support::split_lines;
using test_support::TempDir;

inline const std::string kProbe = AIRLOCK_SPAWN_PROBE;

/// The parts of a `[plugin.probe]` config the tests vary.
struct ProbeConfig {
    std::string protocol = "none";
    std::vector<std::string> args;
    std::string env = R"({ LANG = "C.UTF-8", GREETING = "hello world" })";
    std::string limits;    ///< lines of [plugin.probe.limits]
    std::string syscalls;  ///< lines of [plugin.probe.syscalls]
    std::string grants;    ///< lines of [plugin.probe.grants]
    std::string exec = kProbe;
    /// [sandbox] system_paths (read-only for the plugin; the loader checks they exist).
    std::vector<std::string> system_paths = {"/usr", "/lib", "/lib64", "/etc/ld.so.cache"};
    /// [sandbox] namespaces; empty = the default ("auto"). Tests of Landlock itself say
    /// "off": the private root would answer ENOENT before Landlock is asked.
    std::string namespaces;
};

inline std::string probe_toml(const ProbeConfig& probe) {
    std::string text = "[sandbox]\n"
                       "system_paths = " + quoted_list(probe.system_paths) + "\n"
                       "user = \"nobody\"\n" +
                       (probe.namespaces.empty() ? "" : "namespaces = " + quoted(probe.namespaces) + "\n") +
                       "[plugin.probe]\n"
                       "exec = " + quoted(probe.exec) + "\n"
                       "args = " + quoted_list(probe.args) + "\n"
                       "env = " + probe.env + "\n"
                       "protocol = " + quoted(probe.protocol) + "\n";
    if (!probe.limits.empty()) text += "[plugin.probe.limits]\n" + probe.limits + "\n";
    if (!probe.syscalls.empty()) text += "[plugin.probe.syscalls]\n" + probe.syscalls + "\n";
    if (!probe.grants.empty()) text += "[plugin.probe.grants]\n" + probe.grants + "\n";
    return text;
}

/// The plugin config the real loader makes of `probe`.
inline host::PluginConfig probe_config(const ProbeConfig& probe) {
    host::HostConfig config = host::load_config_text(probe_toml(probe), "/tmp/spawn-test.toml");
    return config.plugins.at("probe");
}

/// What a probe printed and how it ended.
struct ProbeRun {
    host::PluginExit exit;
    std::vector<std::string> out;   ///< stdout lines without the "[probe] " prefix
    std::vector<std::string> err;   ///< stderr lines and host reports, as written
    std::map<std::string, std::string> env;  ///< from `env K=V` report lines

    /// The rest of the first stdout line starting with `key + " "`, or "<missing>".
    std::string value(const std::string& key) const {
        for (const auto& line : out) {
            if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
        }
        return "<missing>";
    }
    std::vector<std::string> lines_starting(const std::string& key) const {
        std::vector<std::string> found;
        for (const auto& line : out) {
            if (line.rfind(key + " ", 0) == 0) found.push_back(line.substr(key.size() + 1));
        }
        return found;
    }
    std::string all_err() const {
        std::string text;
        for (const auto& line : err) text += line + "\n";
        return text;
    }
};

/// Runs the plugin in the foreground with stdout/stderr captured in memfds.
inline ProbeRun run_probe(const host::Spawner& spawner, std::vector<std::string> extra_args = {}) {
    UniqueFd out(::memfd_create("probe-out", MFD_CLOEXEC));
    UniqueFd err(::memfd_create("probe-err", MFD_CLOEXEC));
    host::ForegroundOptions options;
    options.extra_args = std::move(extra_args);
    options.output_fd = out.get();
    options.error_fd = err.get();
    ProbeRun run;
    run.exit = host::run_in_foreground(spawner, options);
    const std::string prefix = "[" + spawner.plugin().name + "] ";
    for (auto& line : split_lines(read_memfd(out.get()))) {
        if (line.rfind(prefix, 0) == 0) line = line.substr(prefix.size());
        run.out.push_back(line);
        if (line.rfind("env ", 0) == 0) {
            auto equals = line.find('=');
            run.env[line.substr(4, equals - 4)] = line.substr(equals + 1);
        }
    }
    run.err = split_lines(read_memfd(err.get()));
    return run;
}

inline ProbeRun run_probe(const ProbeConfig& probe) {
    host::Spawner spawner(probe_config(probe));
    return run_probe(spawner);
}

/// A field of /proc/self/status given in kB ("VmHWM", "VmRSS"), or -1 when it is missing.
inline long proc_status_kib(const std::string& field) {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    }
    return -1;
}

/// VmHWM (peak resident set) of this process in KiB.
inline long peak_rss_kib() { return proc_status_kib("VmHWM"); }

/// VmRSS of this process in KiB.
inline long rss_kib() { return proc_status_kib("VmRSS"); }

/// Resident memory the instrumented allocator itself keeps, in KiB, to add to a memory bound:
/// under AddressSanitizer freed blocks stay resident in its quarantine (make test-sanitize sets
/// quarantine_size_mb=8), so a bound that holds for the real allocator would otherwise measure
/// ASan's cache. Zero in every other build.
inline long sanitizer_allocator_slack_kib() {
#if defined(__SANITIZE_ADDRESS__)
    return 8 * 1024;
#else
    return 0;
#endif
}

} // namespace airlock::test
