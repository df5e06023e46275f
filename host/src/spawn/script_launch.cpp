// See script_launch.hpp.
#include "script_launch.hpp"

#include <airlock/connection/printable_text.hpp>
#include <airlock/host/no_follow_open.hpp>
#include <airlock/host/shebang_line.hpp>
#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host::detail {
namespace {

// `what` may quote the #! line, written by whoever wrote the script: made printable.
[[noreturn]] void fail(const std::string& plugin, const std::string& executable, const std::string& what) {
    throw SpawnError("plugin '" + plugin + "': cannot start: script " + executable + ": " + printable_text(what));
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
    if (size < 0) size = 0;

    // As the kernel splits it: the interpreter, then the rest of the line as one optional
    // argument (parse_shebang_line, shared with executable_interpreter()).
    ShebangLine line = parse_shebang_line(std::string_view(buffer, static_cast<std::size_t>(size)));
    if (line.kind == ShebangLine::Kind::NotScript) return std::nullopt;
    if (line.kind == ShebangLine::Kind::Malformed) fail(plugin, executable, line.problem);
    ScriptInterpreter script;
    script.path = std::move(line.interpreter);
    script.argument = std::move(line.argument);
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
