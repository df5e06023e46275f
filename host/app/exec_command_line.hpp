#pragma once
// The command line of `airlock-host exec` (internal to airlock-host): the config-file form
// `exec [OPTIONS] CONFIG PLUGIN [-- ARGS...]` and the config-less form
// `exec [OPTIONS] -- COMMAND [ARGS...]`, which becomes an equivalent TOML config
// (`--print-config` shows it) loaded by the one config loader.
//
// Options are one table (kExecOptions in exec_command_line.cpp): adding one is one row and
// one field here.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace airlock::host {

/// A malformed command line; what() says what is wrong (the caller prints the usage).
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What `airlock-host exec ...` asked for.
struct ExecCommandLine {
    // Both forms.
    bool prefix = false;        ///< --prefix: stdio = "log" ("[name] line" output, stdin /dev/null)
    bool learn = false;         ///< --learn: on_violation = "learn" for this run (docs/sandbox.md)
    // The config-file form.
    std::string config_path;    ///< CONFIG (empty: the config-less form)
    std::string plugin_name;    ///< PLUGIN
    std::vector<std::string> extra_args;  ///< after "--"
    // The config-less form.
    bool print_config = false;  ///< --print-config: print the equivalent TOML, run nothing
    std::vector<std::string> read_only;   ///< --ro PATH
    std::vector<std::string> read_write;  ///< --rw PATH
    std::vector<std::string> append;      ///< --append FILE
    std::vector<std::string> device;      ///< --device FILE (a file grant with device = true)
    std::optional<std::string> profile;   ///< --profile NAME
    std::vector<std::string> allow;       ///< --allow SYSCALL|@group
    std::optional<std::string> memory;    ///< --memory SIZE
    std::optional<std::string> wall;      ///< --wall DURATION
    std::vector<std::string> env;         ///< --env NAME=VALUE
    std::vector<std::string> command;     ///< COMMAND [ARGS...]

    [[nodiscard]] bool config_less() const noexcept { return config_path.empty(); }
};

/// Parses the words after `exec`.
/// @throws UsageError
ExecCommandLine parse_exec_command_line(const std::vector<std::string>& words);

/// The `exec` lines of the usage text, one option per line.
std::string exec_usage();

/// The TOML config equivalent to a config-less command line: one plugin with protocol
/// "none", the command resolved to an absolute path without links ($PATH searched when it
/// has no '/'), each --ro/--rw/--append path a grant (`by_path = true` for --ro/--rw), a
/// small environment (PATH, HOME, LANG, then --env). Values are checked by the loader.
/// @throws UsageError when the command cannot be found or an --env has no '='.
std::string command_line_config(const ExecCommandLine& command_line);

} // namespace airlock::host
