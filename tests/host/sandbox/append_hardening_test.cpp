// An append-only grant (O_WRONLY | O_APPEND) must stay append-only against a hostile plugin.
#include "sandbox_test_support.hpp"

#include <airlock/host/child_confinement.hpp>
#include <airlock/host/seccomp_filter.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

constexpr int rwf_noappend = 0x20;  // Linux 6.9+, not in the installed headers

CompiledSeccompFilter append_filter(bool has_append_grants) {
    SeccompFilterOptions options;
    options.has_append_grants = has_append_grants;
    options.notify_violations = false;
    auto filter = compile_seccomp_filter(policy_with(ViolationAction::Errno), {}, options);
    INFO(filter.status().to_string());
    REQUIRE(filter.ok());
    return std::move(*filter);
}

int open_append(const std::string& path) { return open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC); }

// Tries every known way to write somewhere other than the end; returns how many worked.
int overwrite_attempts(int fd) {
    int worked = 0;
    const char x[] = "X";
    // 1. Clearing O_APPEND, then writing at offset 0.
    if (fcntl(fd, F_SETFL, 0) == 0) {
        ++worked;
        if (pwrite(fd, x, 1, 0) != 1) {}
    }
    // 2. The same through the upper half of the command register (the kernel reads 32 bits).
    if (syscall(SYS_fcntl, fd, (1ULL << 32) | F_SETFL, 0) == 0) ++worked;
    // 3. pwritev2 with RWF_NOAPPEND writes at the given offset despite O_APPEND.
    iovec iov{const_cast<char*>(x), 1};
    if (syscall(SYS_pwritev2, fd, &iov, 1, 0, 0, rwf_noappend) == 1) ++worked;
    // 4. Truncation destroys what was appended before.
    if (ftruncate(fd, 0) == 0) ++worked;
    // 5. Punching a hole zeroes existing data.
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4) == 0) ++worked;
    return worked;
}

} // namespace

TEST_CASE("without the hardening an O_APPEND descriptor can be overwritten (control)", "[seccomp][append]") {
    TempDir dir;
    auto path = dir.write_file("journal", "first line\n");
    auto filter = append_filter(false);
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        int fd = open_append(path);
        if (fd < 0 || set_no_new_privs() || apply_seccomp_in_child(program, nullptr)) return 120;
        return overwrite_attempts(fd);
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 5);
}

TEST_CASE("append-only grants cannot be overwritten, truncated or un-appended", "[seccomp][append]") {
    TempDir dir;
    auto path = dir.write_file("journal", "first line\n");
    auto filter = append_filter(true);
    auto program = filter.program();
    auto outcome = run_in_child([&] {
        int fd = open_append(path);
        if (fd < 0 || set_no_new_privs() || apply_seccomp_in_child(program, nullptr)) return 120;
        if (int worked = overwrite_attempts(fd)) return 10 + worked;
        // Each refusal is EPERM from the filter, not an error from the kernel.
        if (fcntl(fd, F_SETFL, 0) == 0 || errno != EPERM) return 1;
        if (ftruncate(fd, 0) == 0 || errno != EPERM) return 2;
        // Keeping O_APPEND while changing other flags is still allowed.
        if (fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK) != 0) return 3;
        if (fcntl(fd, F_GETFL) < 0 || !(fcntl(fd, F_GETFL) & O_APPEND)) return 4;
        // pwrite at offset 0 on an O_APPEND descriptor appends on Linux (man pwrite(2), BUGS).
        if (pwrite(fd, "appended\n", 9, 0) != 9) return 5;
        // Allocation that keeps existing data is fine.
        if (fallocate(fd, 0, 0, 64) != 0 && errno != EOPNOTSUPP) return 6;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
    auto content = read_file(path);
    CHECK(content.rfind("first line\nappended\n", 0) == 0);
}
