// What the host reads from a plugin's executable before starting it (its ELF PT_INTERP, its
// #! line) comes from a file whose author it does not trust: executable_interpreter() on real
// files with hostile headers. Found by fuzz/targets/fuzz_executable_header.cpp (docs/fuzzing.md).
#include "sandbox_test_support.hpp"

#include <airlock/host/landlock_ruleset.hpp>

#include <catch2/catch.hpp>

#include <elf.h>

#include <cstring>
#include <string>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

// A minimal x86_64 ELF header with one PT_INTERP program header pointing at `interpreter`
// (written with its terminating NUL, as a linker does).
std::string elf_with_interpreter(const std::string& interpreter) {
    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_phoff = sizeof header;
    header.e_ehsize = sizeof header;
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = 1;
    Elf64_Phdr interp{};
    interp.p_type = PT_INTERP;
    interp.p_offset = sizeof header + sizeof interp;
    interp.p_filesz = interpreter.size() + 1;
    std::string file(reinterpret_cast<const char*>(&header), sizeof header);
    file.append(reinterpret_cast<const char*>(&interp), sizeof interp);
    file += interpreter;
    file += '\0';
    return file;
}

bool has_control_byte(const std::string& text) {
    for (unsigned char c : text)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

} // namespace

TEST_CASE("a PT_INTERP written in terminal escapes is refused, and the refusal is printable", "[landlock][hostile]") {
    TempDir dir;
    auto sane = executable_interpreter(dir.write_file("sane", elf_with_interpreter("/lib64/ld-linux-x86-64.so.2")));
    REQUIRE(sane.ok());
    CHECK(sane->value_or("") == "/lib64/ld-linux-x86-64.so.2");

    auto escapes = executable_interpreter(dir.write_file("escapes", elf_with_interpreter("/lib64/\x1b]0;owned\x07\x1b[2Jld.so")));
    REQUIRE_FALSE(escapes.ok());
    CHECK_FALSE(has_control_byte(escapes.status().message()));
    CHECK(escapes.status().message().find("PT_INTERP") != std::string::npos);
}

TEST_CASE("a relative PT_INTERP is refused", "[landlock][hostile]") {
    TempDir dir;
    auto relative = executable_interpreter(dir.write_file("relative", elf_with_interpreter("ld.so")));
    REQUIRE_FALSE(relative.ok());
    CHECK(relative.status().message().find("not an absolute path") != std::string::npos);
}

TEST_CASE("a #! interpreter written in terminal escapes or relative is refused, printably", "[landlock][hostile]") {
    TempDir dir;
    auto escapes = executable_interpreter(dir.write_file("escapes", "#!/bin/\x1b]0;owned\x07sh\necho hi\n"));
    REQUIRE_FALSE(escapes.ok());
    CHECK_FALSE(has_control_byte(escapes.status().message()));

    auto relative = executable_interpreter(dir.write_file("relative", "#!\x1b[2Jsh\n"));
    REQUIRE_FALSE(relative.ok());
    CHECK_FALSE(has_control_byte(relative.status().message()));
    CHECK(relative.status().message().find("not an absolute path") != std::string::npos);
}

TEST_CASE("a #! line is split as the kernel splits it: a NUL ends the interpreter", "[landlock][hostile]") {
    TempDir dir;
    auto nul = executable_interpreter(dir.write_file("nul", std::string("#!/bin/sh\0/evil -x\necho hi\n", 27)));
    REQUIRE(nul.ok());
    REQUIRE(nul->has_value());
    CHECK(**nul == "/bin/sh");
    // The Landlock rules and the launch agree: a line the launch refuses is refused here too.
    auto unended = executable_interpreter(dir.write_file("unended", "#!/bin/sh" + std::string(300, ' ') + "-e"));
    CHECK_FALSE(unended.ok());
}
