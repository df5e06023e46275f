// The build's syscall name table answers exactly what libseccomp's own look-up answers.
#include "airlock/host/native_syscall_table.hpp"

#include <catch2/catch.hpp>

#include <seccomp.h>

#include <cstdlib>
#include <string>

using namespace airlock::host;

TEST_CASE("native syscall table: every number has libseccomp's name, or none where it has none", "[sandbox]") {
    // The build links the libseccomp it generated the table from, so the table is in use here.
    REQUIRE(native_syscall_table_in_use());
    int known = 0;
    for (int nr = -1; nr <= generated::native_syscall_table_size; ++nr) {
        char* expected = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        const auto name = native_syscall_name(nr);
        INFO("syscall number " << nr);
        REQUIRE(name.has_value() == (expected != nullptr));
        if (expected) {
            CHECK(*name == expected);
            ++known;
        }
        std::free(expected);
    }
    CHECK(known > 300);
    CHECK(native_syscall_name(0) == std::optional<std::string>("read"));
}

TEST_CASE("native syscall table: names resolve to libseccomp's numbers, other architectures' and unknown names too", "[sandbox]") {
    REQUIRE(native_syscall_table_in_use());
    REQUIRE(generated::native_syscalls_by_name_count > 300);
    for (std::size_t i = 0; i < generated::native_syscalls_by_name_count; ++i) {
        const auto& entry = generated::native_syscalls_by_name[i];
        INFO(entry.name);
        CHECK(native_syscall_resolve_name(entry.name) == seccomp_syscall_resolve_name(entry.name));
        CHECK(native_syscall_resolve_name(entry.name) == entry.nr);
        if (i > 0) CHECK(std::string(generated::native_syscalls_by_name[i - 1].name) < entry.name);
    }
    // Not in the native table: libseccomp's own answer (a pseudo number, or the error).
    for (const char* name : {"_llseek", "fstat64", "socketcall", "no_such_syscall", "", "read "}) {
        INFO(name);
        CHECK(native_syscall_resolve_name(name) == seccomp_syscall_resolve_name(name));
    }
    CHECK(native_syscall_resolve_name("_llseek") < 0);
    CHECK(native_syscall_resolve_name("no_such_syscall") == __NR_SCMP_ERROR);
}
