// The embed-demo example: an application hosting hello and checksum through the supervisor API.
// Runs the real binary; checks its results on stdout, the host's log on stderr, its exit status,
// and that no plugin process outlives it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

TEST_CASE("embed-demo: starts hello and checksum, calls them, stops them and exits 0", "[example][embed-demo]") {
    char err_path[] = "/tmp/airlock-embed-demo-XXXXXX";
    int err_fd = ::mkstemp(err_path);
    REQUIRE(err_fd >= 0);
    ::close(err_fd);

    std::string command = std::string("'") + AIRLOCK_EMBED_DEMO_EXE + "' 2>'" + err_path + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    int status = ::pclose(pipe);
    std::stringstream err_text;
    err_text << std::ifstream(err_path).rdbuf();
    const std::string log = err_text.str();
    ::unlink(err_path);
    INFO("stdout:\n" << output << "stderr:\n" << log);

    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    CHECK_THAT(output, Catch::Contains("checksum serves: sha256\n"));
    CHECK_THAT(output, Catch::Contains("greet: hello, embedder\n"));
    CHECK_THAT(output, Catch::Contains("echo: ping\n"));
    CHECK_THAT(output, Catch::Contains("greet with no name: ") && Catch::Contains("greet needs a name"));
    // checksum called through the supervisor with a sealed buffer as a descriptor member: the
    // digests are the standard ones (FIPS 180-2 "abc"; `head -c 128M /dev/zero | sha256sum`).
    CHECK_THAT(output, Catch::Contains("sha256(\"abc\"): ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"));
    CHECK_THAT(output, Catch::Contains("sha256(128 MiB of zeros): "
                                       "254bcc3fc4f27172636df4bf32de9f107f620d559b20d760197e452b97453917 (134217728 bytes)\n"));
    // The plugin reported progress to the host while it hashed; the supervisor kept the latest.
    CHECK_THAT(output, Catch::Contains("checksum status, latest report: progress: sha256 128/128 (100%): MiB hashed\n"));
    CHECK_THAT(log, Catch::Contains("[checksum] progress: sha256 64/128 (50%): MiB hashed"));
    // Both stopped gracefully: the SDK answers the stop request and exits 0.
    CHECK_THAT(output, Catch::Contains("checksum: exited (exited with status 0)\n"));
    CHECK_THAT(output, Catch::Contains("hello: exited (exited with status 0)\n"));
    // The host's own events went to stderr.
    CHECK_THAT(log, Catch::Contains("[host] plugin hello: state ready"));
    CHECK_THAT(log, Catch::Contains("[host] plugin checksum: state ready"));

    // Both were ready with a real process, and none of them is left running.
    std::regex ready_line(R"((hello|checksum): ready \(pid (\d+)\))");
    int ready = 0;
    for (std::sregex_iterator it(output.begin(), output.end(), ready_line), end; it != end; ++it) {
        ++ready;
        pid_t pid = std::stoi((*it)[2]);
        CHECK(pid > 0);
        errno = 0;
        CHECK((::kill(pid, 0) == -1 && errno == ESRCH));
    }
    CHECK(ready == 2);
}
