// The intruder example through `airlock-host exec` with its real TOML (on_violation = "errno"):
// every attempt is reported blocked, nothing it tried left a trace, and the host is healthy.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

TEST_CASE("intruder: every forbidden attempt is blocked and the host stays healthy", "[example][intruder]") {
    namespace fs = std::filesystem;
    fs::remove(fs::path(AIRLOCK_INTRUDER_READONLY) / "planted-by-intruder");
    std::string command = std::string("'") + AIRLOCK_HOST_EXE + "' exec '" + AIRLOCK_INTRUDER_TOML + "' intruder 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    INFO(output);

    // The host exited normally (it was not killed) and passed on the intruder's exit status 0.
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    int blocked = 0;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("[intruder] ", 0) == 0) line.erase(0, 11);  // the host prefixes the plugin's output
        CHECK(line.rfind("ALLOWED", 0) == std::string::npos);
        if (line.rfind("blocked ", 0) == 0) ++blocked;
    }
    CHECK(blocked >= 12);
    CHECK_THAT(output, Catch::Contains("intruder: " + std::to_string(blocked) + " of " + std::to_string(blocked) +
                                       " attempts blocked"));
    CHECK_FALSE(fs::exists(fs::path(AIRLOCK_INTRUDER_READONLY) / "planted-by-intruder"));
}
