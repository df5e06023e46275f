#pragma once
// `#!` scripts as plugins (internal to the spawner). The kernel cannot run a script from a
// close-on-exec descriptor (its interpreter would get /dev/fd/N, already closed), so the
// host reads the `#!` line itself and launches exactly that interpreter on the script's
// path, as the kernel would: `INTERPRETER [ARG] SCRIPT ARGS...`. The interpreter is opened
// without following links (after resolving the system links on its way, like the Landlock
// rule that lets it execute); the script stays readable to it by path (Landlock rule,
// private root), and the launch is still the one tagged execveat.

#include <airlock/connection/unique_fd.hpp>

#include <optional>
#include <string>
#include <vector>

namespace airlock::host::detail {

/// What the kernel would run for a script.
struct ScriptInterpreter {
    std::string path;                   ///< as written on the #! line
    std::optional<std::string> argument;  ///< the one optional argument after it
    UniqueFd fd;                        ///< O_PATH, opened without following links
};

/// The interpreter of `executable` when it is a `#!` script (read without following links),
/// or nullopt for any other file. `plugin` names the plugin in errors.
/// @throws SpawnError when the #! line is malformed or the interpreter cannot be opened.
std::optional<ScriptInterpreter> script_interpreter(const std::string& executable, const std::string& plugin,
                                                    const std::vector<std::string>& writable_directories);

} // namespace airlock::host::detail
