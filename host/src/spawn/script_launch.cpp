// See script_launch.hpp.
#include "script_launch.hpp"

#include <airlock/host/no_follow_open.hpp>
#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {
namespace {

// The kernel reads at most this much of a #! line (BINPRM_BUF_SIZE).
constexpr std::size_t kShebangBytes = 256;

[[noreturn]] void fail(const std::string& plugin, const std::string& executable, const std::string& what) {
    throw SpawnError("plugin '" + plugin + "': cannot start: script " + executable + ": " + what);
}

} // namespace

std::optional<ScriptInterpreter> script_interpreter(const std::string& executable, const std::string& plugin,
                                                    const std::vector<std::string>& writable_directories) {
    auto opened = open_no_follow(executable, O_RDONLY, 0, ExpectedType::RegularFile,
                                 "the executable is never reached through a link");
    if (!opened) fail(plugin, executable, opened.status().message());
    char buffer[kShebangBytes];
    ssize_t size;
    do {
        size = ::pread(opened->fd.get(), buffer, sizeof buffer, 0);
    } while (size < 0 && errno == EINTR);
    if (size < 2 || buffer[0] != '#' || buffer[1] != '!') return std::nullopt;

    // As the kernel splits it: the interpreter, then everything up to the line's end (trimmed)
    // as one optional argument.
    std::string line(buffer + 2, static_cast<std::size_t>(size) - 2);
    const auto newline = line.find('\n');
    if (newline == std::string::npos) fail(plugin, executable, "the #! line is longer than 255 bytes");
    line.resize(newline);
    const char* blanks = " \t";
    const auto begin = line.find_first_not_of(blanks);
    if (begin == std::string::npos) fail(plugin, executable, "the #! line names no interpreter");
    const auto end = line.find_first_of(blanks, begin);
    ScriptInterpreter script;
    script.path = line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (end != std::string::npos) {
        const auto argument_begin = line.find_first_not_of(blanks, end);
        if (argument_begin != std::string::npos) {
            const auto argument_end = line.find_last_not_of(blanks);
            script.argument = line.substr(argument_begin, argument_end - argument_begin + 1);
        }
    }
    if (script.path.empty() || script.path[0] != '/') {
        fail(plugin, executable, "the #! interpreter " + script.path + " is not an absolute path");
    }
    // System links on its way (/bin -> usr/bin) are resolved, as for the Landlock rule that
    // lets exactly this file execute; then opened without following any link.
    auto resolved = resolve_trusted_path(script.path, writable_directories);
    if (!resolved) fail(plugin, executable, "interpreter " + script.path + ": " + resolved.status().message());
    auto interpreter = open_no_follow(*resolved, O_PATH, 0, ExpectedType::RegularFile,
                                      "the interpreter is resolved once");
    if (!interpreter) fail(plugin, executable, "interpreter " + script.path + ": " + interpreter.status().message());
    script.fd = std::move(interpreter->fd);
    return script;
}

} // namespace airlock::host::detail
