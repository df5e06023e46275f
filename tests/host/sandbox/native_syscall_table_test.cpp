// The build's syscall name table answers exactly what libseccomp's own look-up answers.
#include "native_syscall_table.hpp"

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
