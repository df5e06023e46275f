// The Landlock ruleset, enforced in real forked children (Landlock alone unless noted, so
// each test shows this layer's own effect; seccomp would refuse some calls earlier).
#include "sandbox_test_support.hpp"

#include <airlock/host/child_confinement.hpp>
#include <airlock/host/landlock_ruleset.hpp>
#include <airlock/host/seccomp_filter.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

using namespace airlock::host;
using namespace airlock::host::test;

namespace {

const char* const probe = AIRLOCK_SANDBOX_PROBE;
constexpr int setup_failed = 120;

const std::vector<std::string> system_paths = {"/usr", "/lib", "/lib64", "/etc/ld.so.cache"};

LandlockRuleset build_or_fail(const LandlockPolicy& policy) {
    auto ruleset = build_landlock_ruleset(policy);
    INFO(ruleset.status().to_string());
    REQUIRE(ruleset.ok());
    return std::move(*ruleset);
}

// The ruleset a plugin running the probe with the given directory grants gets.
LandlockRuleset plugin_ruleset(std::vector<GrantConfig> grants = {}) {
    PluginConfig plugin;
    plugin.name = "probe";
    plugin.executable = probe;
    plugin.system_paths = system_paths;
    plugin.grants = std::move(grants);
    auto policy = landlock_policy_for(plugin);
    INFO(policy.status().to_string());
    REQUIRE(policy.ok());
    return build_or_fail(*policy);
}

GrantConfig directory_grant(const std::string& path, GrantAccess access) {
    GrantConfig grant;
    grant.name = "dir";
    grant.kind = GrantKind::Directory;
    grant.path = path;
    grant.access = access;
    return grant;
}

int restrict_self(int ruleset_fd) {
    if (set_no_new_privs() != 0 || apply_landlock_in_child(ruleset_fd) != 0) return setup_failed;
    return 0;
}

int expect_errno(long rc, int expected, int code) {
    if (rc >= 0) return code;
    return errno == expected ? 0 : code + 50;
}

} // namespace

TEST_CASE("the kernel offers Landlock ABI 6 or newer", "[landlock]") {
    auto abi = landlock_abi_version();
    INFO(abi.status().to_string());
    REQUIRE(abi.ok());
    CHECK(*abi >= 6);
}

TEST_CASE("the ELF interpreter and #! interpreters are found", "[landlock]") {
    auto sh = executable_interpreter("/bin/sh");
    REQUIRE(sh.ok());
    REQUIRE(sh->has_value());
    CHECK(**sh == "/lib64/ld-linux-x86-64.so.2");

    TempDir dir;
    auto script = dir.write_file("script", "#! /bin/sh -e\necho hi\n");
    auto shebang = executable_interpreter(script);
    REQUIRE(shebang.ok());
    CHECK(shebang->value_or("") == "/bin/sh");

    auto junk = executable_interpreter(dir.write_file("junk", "not an executable"));
    CHECK_FALSE(junk.ok());
}

TEST_CASE("a plugin's Landlock policy: system paths, its executable and interpreter, its directories",
          "[landlock]") {
    PluginConfig plugin;
    plugin.executable = probe;
    plugin.system_paths = system_paths;
    plugin.grants = {directory_grant("/srv/in", GrantAccess::Read), directory_grant("/srv/out", GrantAccess::ReadWrite)};
    GrantConfig file;
    file.kind = GrantKind::File;
    file.path = "/var/log/x.log";
    plugin.grants.push_back(file);
    auto policy = landlock_policy_for(plugin);
    REQUIRE(policy.ok());
    CHECK(policy->read_only_paths == system_paths);
    REQUIRE(policy->executable_files.size() == 2);
    CHECK(policy->executable_files[0] == probe);
    // PT_INTERP is /lib64/ld-linux-x86-64.so.2; /lib64 is a link, so the policy holds where it leads.
    CHECK(policy->executable_files[1] == std::filesystem::canonical("/lib64/ld-linux-x86-64.so.2").string());
    REQUIRE(policy->directories.size() == 2);
    CHECK_FALSE(policy->directories[0].writable);
    CHECK(policy->directories[1].writable);
}

TEST_CASE("files outside the grants cannot be opened, system paths are read-only", "[landlock]") {
    TempDir dir;
    auto secret = dir.write_file("secret", "top secret");
    LandlockPolicy policy;
    policy.read_only_paths = {"/usr", "/does/not/exist"};
    auto ruleset = build_or_fail(policy);
    CHECK(ruleset.skipped_paths == std::vector<std::string>{"/does/not/exist"});

    auto control = run_in_child([&] { return exit_code_of(open(secret.c_str(), O_RDONLY)); });
    REQUIRE(control.exited);
    REQUIRE(control.exit_code == 0);

    auto outcome = run_in_child([&] {
        if (int rc = restrict_self(ruleset.fd.get())) return rc;
        if (int rc = expect_errno(open(secret.c_str(), O_RDONLY), EACCES, 1)) return rc;
        if (int rc = expect_errno(open("/etc/passwd", O_RDONLY), EACCES, 2)) return rc;
        if (int rc = expect_errno(open("/proc/self/status", O_RDONLY), EACCES, 3)) return rc;
        int fd = open("/usr/lib/os-release", O_RDONLY);
        if (fd < 0) return 4;
        close(fd);
        if (int rc = expect_errno(open("/usr/lib/os-release", O_WRONLY), EACCES, 5)) return rc;
        if (int rc = expect_errno(open("/usr/airlock-new-file", O_WRONLY | O_CREAT, 0600), EACCES, 6)) return rc;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("directory grants get exactly their access, and .. does not escape", "[landlock]") {
    TempDir dir;
    auto secret = dir.write_file("secret", "top secret");
    std::filesystem::create_directory(dir.path() / "ro");
    std::filesystem::create_directory(dir.path() / "rw");
    auto ro_file = dir.write_file("ro/data", "input");
    auto rw_file = dir.write_file("rw/old", "old output");
    const std::string ro = (dir.path() / "ro").string();
    const std::string rw = (dir.path() / "rw").string();
    auto ruleset = plugin_ruleset({directory_grant(ro, GrantAccess::Read), directory_grant(rw, GrantAccess::ReadWrite)});

    auto outcome = run_in_child([&] {
        if (int rc = restrict_self(ruleset.fd.get())) return rc;
        // read-only grant
        int fd = open(ro_file.c_str(), O_RDONLY);
        if (fd < 0) return 1;
        close(fd);
        if (int rc = expect_errno(open(ro_file.c_str(), O_WRONLY), EACCES, 2)) return rc;
        if (int rc = expect_errno(open((ro + "/new").c_str(), O_WRONLY | O_CREAT, 0600), EACCES, 3)) return rc;
        if (int rc = expect_errno(unlink(ro_file.c_str()), EACCES, 4)) return rc;
        if (int rc = expect_errno(truncate(ro_file.c_str(), 0), EACCES, 5)) return rc;
        // .. out of a grant
        if (int rc = expect_errno(open((ro + "/../secret").c_str(), O_RDONLY), EACCES, 6)) return rc;
        int ro_dir = open(ro.c_str(), O_RDONLY | O_DIRECTORY);
        if (ro_dir < 0) return 7;
        if (int rc = expect_errno(openat(ro_dir, "../secret", O_RDONLY), EACCES, 8)) return rc;
        // read-write grant
        fd = open((rw + "/new").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || write(fd, "x", 1) != 1) return 9;
        close(fd);
        if (truncate(rw_file.c_str(), 1) != 0) return 10;
        if (mkdir((rw + "/sub").c_str(), 0700) != 0) return 11;
        if (rename((rw + "/new").c_str(), (rw + "/sub/moved").c_str()) != 0) return 12;
        if (unlink(rw_file.c_str()) != 0) return 13;
        if (int rc = expect_errno(mkfifo((rw + "/fifo").c_str(), 0600), EACCES, 14)) return rc;
        if (int rc = expect_errno(open((rw + "/../secret").c_str(), O_RDONLY), EACCES, 15)) return rc;
        return 0;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == 0);
}

TEST_CASE("only the plugin and its interpreter can be executed: /bin/sh cannot", "[landlock]") {
    auto ruleset = plugin_ruleset();
    auto exec_in_child = [&](const char* path, const char* action, const char* arg = nullptr) {
        return run_in_child([&] {
            if (int rc = restrict_self(ruleset.fd.get())) return rc;
            char* const argv[] = {const_cast<char*>(path), const_cast<char*>(action), const_cast<char*>(arg),
                                  nullptr};
            char* const envp[] = {nullptr};
            execve(path, argv, envp);
            return exit_code_of(-1);
        });
    };
    auto plugin = exec_in_child(probe, "ok");
    REQUIRE(plugin.exited);
    CHECK(plugin.exit_code == 0);  // the loader, libc and libstdc++ were all reachable
    auto shell = exec_in_child("/bin/sh", "-c");
    REQUIRE(shell.exited);
    CHECK(shell.exit_code == EACCES);
    // Nor from inside the plugin once it runs.
    auto nested = exec_in_child(probe, "execve", "/bin/sh");
    REQUIRE(nested.exited);
    CHECK(nested.exit_code == EACCES);
}

TEST_CASE("TCP connect and bind are denied by Landlock alone", "[landlock][net]") {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener, 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    auto ruleset = plugin_ruleset();

    auto connect_from_child = [&](bool confined) {
        return run_in_child([&] {
            if (confined && restrict_self(ruleset.fd.get())) return setup_failed;
            int fd = socket(AF_INET, SOCK_STREAM, 0);  // no seccomp here: only Landlock stands in the way
            if (fd < 0) return 1;
            if (int rc = exit_code_of(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address))) return rc;
            int other = socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in any{};
            any.sin_family = AF_INET;
            any.sin_port = htons(0);
            return exit_code_of(bind(other, reinterpret_cast<sockaddr*>(&any), sizeof any));
        });
    };
    auto control = connect_from_child(false);
    REQUIRE(control.exited);
    REQUIRE(control.exit_code == 0);
    auto outcome = connect_from_child(true);
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EACCES);
    close(listener);
}

TEST_CASE("abstract UNIX sockets outside the plugin's domain are out of reach", "[landlock][net]") {
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string name = "airlock-sandbox-test-" + std::to_string(getpid());
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(listen(listener, 4) == 0);
    auto ruleset = plugin_ruleset();

    auto connect_from_child = [&](bool confined) {
        return run_in_child([&] {
            if (confined && restrict_self(ruleset.fd.get())) return setup_failed;
            int fd = socket(AF_UNIX, SOCK_STREAM, 0);
            if (fd < 0) return 1;
            return exit_code_of(connect(fd, reinterpret_cast<sockaddr*>(&address), length));
        });
    };
    auto control = connect_from_child(false);
    REQUIRE(control.exited);
    REQUIRE(control.exit_code == 0);
    auto outcome = connect_from_child(true);
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EPERM);
    close(listener);
}

TEST_CASE("the plugin cannot signal the host", "[landlock]") {
    auto ruleset = plugin_ruleset();
    auto signal_parent = [&](bool confined) {
        return run_in_child([&] {
            if (confined && restrict_self(ruleset.fd.get())) return setup_failed;
            // SIGURG is ignored by default, so a failure of this test harms nobody.
            return exit_code_of(kill(getppid(), SIGURG));
        });
    };
    auto control = signal_parent(false);
    REQUIRE(control.exited);
    REQUIRE(control.exit_code == 0);
    auto outcome = signal_parent(true);
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EPERM);
}

TEST_CASE("all layers together: the launched plugin cannot exec /bin/sh", "[landlock][seccomp][exec]") {
    auto ruleset = plugin_ruleset();
    auto filter = compile_seccomp_filter(policy_with(ViolationAction::Errno), {}, {false, false});
    REQUIRE(filter.ok());
    auto program = filter->program();
    auto tag = filter->exec_tag();
    auto outcome = run_in_child([&] {
        int exe = open(probe, O_PATH | O_CLOEXEC);
        if (exe < 0 || set_no_new_privs() || apply_landlock_in_child(ruleset.fd.get()) ||
            apply_seccomp_in_child(program, nullptr))
            return setup_failed;
        char* const argv[] = {const_cast<char*>("probe"), const_cast<char*>("execve"), const_cast<char*>("/bin/sh"),
                              nullptr};
        char* const envp[] = {nullptr};
        exec_tagged(exe, argv, envp, tag);
        return 121;
    });
    REQUIRE(outcome.exited);
    CHECK(outcome.exit_code == EPERM);  // seccomp answers first; Landlock would say EACCES
}
