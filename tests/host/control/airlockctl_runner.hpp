#pragma once
// Runs the real airlockctl binary (AIRLOCKCTL, set by CMake) and captures what it printed;
// shared by the control tests.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

namespace control_test {

/// How one airlockctl run ended.
struct Run {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr
};

/// `word` quoted for /bin/sh.
inline std::string shell_quote(const std::string& word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// Runs `airlockctl ARGS...` (through popen; the test process makes no fork of its own).
inline Run airlockctl(const std::vector<std::string>& args) {
    std::string command = shell_quote(AIRLOCKCTL);
    for (const auto& arg : args) command += " " + shell_quote(arg);
    command += " 2>&1";
    Run run;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
    const int status = ::pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

} // namespace control_test
