// A plugin's executable is a file whose author the host does not trust: `airlock-host exec`
// on #! scripts with hostile first lines. Nothing of the line may reach the terminal raw,
// and what runs is what the kernel would run. Found by fuzz/targets/fuzz_executable_header.cpp
// (docs/fuzzing.md).
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

using namespace airlock::e2e;

namespace {

bool has_control_byte(const std::string& text) {
    for (unsigned char c : text)
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
    return false;
}

} // namespace

TEST_CASE("a script whose #! line is terminal escapes is refused, and the refusal is printable", "[e2e][hostile]") {
    TempDir dir;
    for (const std::string& line : {std::string("#!/bin/\x1b]0;owned\x07\x1b[2Jsh\n"), std::string("#!\x1b[2Jsh -e\n")}) {
        const std::string script = dir.file("escapes.sh", line + "echo ran\n", 0755);
        Run run = run_host({"exec", "--", script});
        INFO(run.err);
        CHECK(run.status != 0);
        CHECK(run.out.find("ran") == std::string::npos);
        CHECK(run.err.find("#! interpreter") != std::string::npos);
        CHECK_FALSE(has_control_byte(run.err));
    }
    // The host still starts a sane script afterwards.
    Run sane = run_host({"exec", "--", dir.file("sane.sh", "#!/bin/sh\necho ran\n", 0755)});
    CHECK(sane.status == 0);
    CHECK(sane.out == "ran\n");
}

TEST_CASE("a #! line with a NUL runs what the kernel would: the interpreter, no argument", "[e2e][hostile]") {
    TempDir dir;
    // The kernel runs /bin/sh SCRIPT: the NUL ends the name, and "-x" is not passed.
    const std::string script = dir.file("nul.sh", std::string("#!/bin/sh\0 -x\necho ran\n", 23), 0755);
    Run run = run_host({"exec", "--", script});
    INFO(run.err);
    CHECK(run.status == 0);
    CHECK(run.out == "ran\n");
    CHECK(run.err.find("+ echo") == std::string::npos);  // sh -x would trace the command
}
