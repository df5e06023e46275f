// `airlock-host exec` command line: one option table, and the TOML a config-less command
// line stands for (see exec_command_line.hpp).
#include "exec_command_line.hpp"

#include <airlock/host/no_follow_open.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace airlock::host {
namespace {

namespace fs = std::filesystem;

struct ExecOption {
    const char* name;
    const char* value_name;  ///< nullptr: a flag without a value
    bool config_less_only;   ///< refused with CONFIG PLUGIN
    void (*apply)(ExecCommandLine&, const std::string&);
    const char* help;
};

// Every option of `exec`, in the order the usage lists them.
const ExecOption kExecOptions[] = {
    {"--ro", "PATH", true, [](ExecCommandLine& c, const std::string& v) { c.read_only.push_back(v); },
     "readable, by path and as a descriptor (dir or file)"},
    {"--rw", "PATH", true, [](ExecCommandLine& c, const std::string& v) { c.read_write.push_back(v); },
     "readable and writable, by path and as a descriptor"},
    {"--append", "FILE", true, [](ExecCommandLine& c, const std::string& v) { c.append.push_back(v); },
     "append-only descriptor (created if missing; not by path)"},
    {"--device", "FILE", true, [](ExecCommandLine& c, const std::string& v) { c.device.push_back(v); },
     "a device, read-write, as a descriptor: every ioctl of it allowed"},
    {"--profile", "NAME", true, [](ExecCommandLine& c, const std::string& v) { c.profile = v; },
     "system call profile: default or minimal"},
    {"--allow", "SYSCALL|@GROUP", true, [](ExecCommandLine& c, const std::string& v) { c.allow.push_back(v); },
     "allow one more system call or group"},
    {"--memory", "SIZE", true, [](ExecCommandLine& c, const std::string& v) { c.memory = v; },
     "memory limit, e.g. 256MiB"},
    {"--wall", "DURATION", true, [](ExecCommandLine& c, const std::string& v) { c.wall = v; },
     "wall-clock limit, e.g. 30s"},
    {"--env", "NAME=VALUE", true, [](ExecCommandLine& c, const std::string& v) { c.env.push_back(v); },
     "set an environment variable"},
    {"--print-config", nullptr, true, [](ExecCommandLine& c, const std::string&) { c.print_config = true; },
     "print the equivalent TOML config and exit"},
    {"--prefix", nullptr, false, [](ExecCommandLine& c, const std::string&) { c.prefix = true; },
     "stdin /dev/null, output as \"[name] line\" (stdio = \"log\")"},
    {"--learn", nullptr, false, [](ExecCommandLine& c, const std::string&) { c.learn = true; },
     "allow and record every violation, then print the allow line (trusted input only)"},
};

const ExecOption* find_option(const std::string& name) {
    for (const auto& option : kExecOptions) {
        if (name == option.name) return &option;
    }
    return nullptr;
}

// A TOML basic string.
std::string toml_string(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string toml_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ", ") + toml_string(items[i]);
    return out + "]";
}

bool is_executable_file(const fs::path& path) {
    struct stat status {};
    return ::stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The command as the plugin's exec: searched in $PATH without a '/', then made absolute and
// free of links (the spawner never executes through a link).
std::string resolve_command(const std::string& command) {
    fs::path found;
    if (command.find('/') != std::string::npos) {
        found = fs::absolute(command);
    } else {
        const char* path_variable = std::getenv("PATH");
        std::istringstream directories(path_variable != nullptr ? path_variable : "/usr/local/bin:/usr/bin:/bin");
        for (std::string directory; std::getline(directories, directory, ':');) {
            if (directory.empty() || directory[0] != '/') continue;  // only absolute entries
            if (is_executable_file(fs::path(directory) / command)) {
                found = fs::path(directory) / command;
                break;
            }
        }
        if (found.empty()) throw UsageError("command not found in PATH: " + command);
    }
    // Resolved here as root: a link or directory on the way that another user can change
    // would let them pick the program (no_follow_open.hpp, check_only_host_can_change).
    if (airlock::Status trusted = airlock::host::check_only_host_can_change(found.string()); !trusted.ok())
        throw UsageError("command " + trusted.message());
    std::error_code error;
    fs::path canonical = fs::canonical(found, error);
    if (error) throw UsageError("command " + found.string() + ": " + error.message());
    return canonical.string();
}

// A plugin name ([A-Za-z0-9_-]+) from the command's file name.
std::string plugin_name_for(const std::string& command) {
    std::string name = fs::path(command).filename().string();
    for (char& c : name) {
        // ASCII by value, whatever the locale says of a byte above 0x7f.
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!plain) c = '-';
    }
    return name.empty() ? "command" : name;
}

std::string absolute_path(const std::string& path) {
    std::string normal = fs::absolute(path).lexically_normal().string();
    while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    return normal;
}

bool is_directory(const std::string& path) {
    struct stat status {};
    return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

} // namespace

ExecCommandLine parse_exec_command_line(const std::vector<std::string>& words) {
    ExecCommandLine result;
    std::size_t i = 0;
    std::vector<const ExecOption*> used;
    for (; i < words.size() && words[i].rfind("--", 0) == 0 && words[i] != "--"; ++i) {
        std::string name = words[i];
        std::optional<std::string> value;
        if (auto equals = name.find('='); equals != std::string::npos) {
            value = name.substr(equals + 1);
            name.resize(equals);
        }
        const ExecOption* option = find_option(name);
        if (option == nullptr) throw UsageError("exec: unknown option " + name);
        if (option->value_name == nullptr && value) throw UsageError("exec: " + name + " takes no value");
        if (option->value_name != nullptr && !value) {
            if (i + 1 >= words.size()) throw UsageError("exec: " + name + " needs a value (" + option->value_name + ")");
            value = words[++i];
        }
        option->apply(result, value.value_or(""));
        used.push_back(option);
    }
    if (i < words.size() && words[i] == "--") {
        result.command.assign(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
        if (result.command.empty()) throw UsageError("exec: no command after --");
        return result;
    }
    // CONFIG PLUGIN [-- ARGS...]
    if (words.size() - i < 2) throw UsageError("exec: give CONFIG PLUGIN, or -- COMMAND");
    result.config_path = words[i];
    result.plugin_name = words[i + 1];
    i += 2;
    if (i < words.size()) {
        if (words[i] != "--") throw UsageError("exec: unexpected " + words[i] + " (arguments follow --)");
        result.extra_args.assign(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
    }
    for (const ExecOption* option : used) {
        if (option->config_less_only) {
            throw UsageError(std::string("exec: ") + option->name + " only applies to the command-line form "
                             "(exec [OPTIONS] -- COMMAND); with CONFIG PLUGIN, set it in the config");
        }
    }
    return result;
}

std::string exec_usage() {
    std::string text = "       airlock-host exec [--prefix] [--learn] CONFIG PLUGIN [-- ARGS...]\n"
                       "       airlock-host exec [OPTIONS] -- COMMAND [ARGS...]\n";
    for (const auto& option : kExecOptions) {
        std::string left = std::string("         ") + option.name;
        if (option.value_name != nullptr) left += std::string(" ") + option.value_name;
        if (left.size() < 34) left.resize(34, ' ');
        text += left + " " + option.help + "\n";
    }
    return text;
}

std::string command_line_config(const ExecCommandLine& command_line) {
    const std::string executable = resolve_command(command_line.command.front());
    const std::string name = plugin_name_for(command_line.command.front());  // as typed: "sh", not "dash"
    const std::string table = "[plugin." + name;
    std::ostringstream out;
    // This text is loaded as the config the command runs with, and a file name may hold a line
    // break followed by keys: what comes from the command line is written as a TOML string, or
    // (the comment, the table) as the plugin name, which holds only [A-Za-z0-9_-].
    out << "# The config `airlock-host exec ... -- " << name << "` runs with (airlock-host exec --print-config).\n";
    out << table << "]\n";
    out << "exec = " << toml_string(executable) << "\n";
    out << "args = " << toml_array({command_line.command.begin() + 1, command_line.command.end()}) << "\n";
    out << "protocol = \"none\"\n";
    out << "stdio = " << (command_line.prefix ? "\"log\"" : "\"inherit\"") << "\n";
    // A small, predictable environment: nothing is inherited. HOME keeps programs such as
    // python3 from looking their user up (over a socket the sandbox refuses).
    std::vector<std::pair<std::string, std::string>> env = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", "/nonexistent"}, {"LANG", "C.UTF-8"}};
    for (const auto& setting : command_line.env) {
        const auto equals = setting.find('=');
        if (equals == std::string::npos || equals == 0) throw UsageError("exec: --env " + setting + ": expected NAME=VALUE");
        const std::string key = setting.substr(0, equals);
        auto existing = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == key; });
        if (existing != env.end()) existing->second = setting.substr(equals + 1);
        else env.emplace_back(key, setting.substr(equals + 1));
    }
    out << "env = {";
    for (std::size_t i = 0; i < env.size(); ++i) {
        out << (i == 0 ? " " : ", ") << toml_string(env[i].first) << " = " << toml_string(env[i].second);
    }
    out << " }\n";
    if (command_line.memory || command_line.wall) {
        out << "\n" << table << ".limits]\n";
        if (command_line.memory) out << "memory = " << toml_string(*command_line.memory) << "\n";
        if (command_line.wall) out << "wall = " << toml_string(*command_line.wall) << "\n";
    }
    out << "\n" << table << ".syscalls]\n";
    out << "profile = " << toml_string(command_line.profile.value_or("default")) << "\n";
    if (!command_line.allow.empty()) out << "allow = " << toml_array(command_line.allow) << "\n";
    if (!command_line.read_only.empty() || !command_line.read_write.empty() || !command_line.append.empty() ||
        !command_line.device.empty()) {
        out << "\n" << table << ".grants]\n";
        int number = 0;
        auto grant = [&](const char* prefix, const std::string& given, const char* access, bool by_path, bool create,
                         bool device = false) {
            const std::string path = absolute_path(given);
            const bool directory = is_directory(path);
            out << prefix << ++number << " = { " << (directory ? "dir" : "file") << " = " << toml_string(path)
                << ", access = \"" << access << "\"";
            if (create && !directory) out << ", create = true";
            if (by_path) out << ", by_path = true";
            if (device) out << ", device = true";
            out << " }\n";
        };
        for (const auto& path : command_line.read_only) grant("ro", path, "read", true, false);
        for (const auto& path : command_line.read_write) grant("rw", path, "read-write", true, false);
        for (const auto& path : command_line.append) grant("append", path, "append", false, true);
        for (const auto& path : command_line.device) grant("dev", path, "read-write", false, false, true);
    }
    return out.str();
}

} // namespace airlock::host
