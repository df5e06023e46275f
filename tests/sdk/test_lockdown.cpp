// Self-lockdown (airlock/plugin/lockdown.hpp) inside a real confined plugin: real seccomp
// filters stacked on the host's, real threads, the host's real violation reports.
#include "sdk_support.hpp"

#include "programs/lockdown_api.hpp"

#include <airlock/plugin/lockdown.hpp>

#include <grp.h>
#include <sys/wait.h>

#include <csignal>
#include <thread>

using namespace airlock;
using namespace airlock::sdk_test;
using ::lockdown_test::LockdownRequest;
using ::lockdown_test::Outcome;
using ::lockdown_test::Text;

namespace {

constexpr auto kTimeout = std::chrono::seconds(5);
const std::string kNotPermitted = "Operation not permitted";

// dir/data (granted, read) holds inside.txt; dir/input.txt is a file grant.
struct LockdownTree {
    TempDir dir;
    LockdownTree() {
        dir.dir("data");
        dir.file("data/inside.txt", "inside");
        dir.file("input.txt", "input text");
    }
    /// `syscalls`: extra lines for [plugin.lock.syscalls].
    host::PluginConfig config(const std::string& syscalls = "") const {
        const std::string& d = dir.path();
        const std::string toml = "[plugin.lock]\n"
                                 "exec = " + quoted(AIRLOCK_LOCKDOWN_TEST_PLUGIN) + "\n"
                                 "protocol = \"airlock\"\n"
                                 "[plugin.lock.grants]\n"
                                 "data = { dir = " + quoted(d + "/data") + ", access = \"read\" }\n"
                                 "input = { file = " + quoted(d + "/input.txt") + ", access = \"read\" }\n"
                                 "[plugin.lock.syscalls]\n" + syscalls;
        return host::load_config_text(toml, d + "/lock.toml").plugins.at("lock");
    }
};

Outcome call(RunningPlugin& plugin, const std::string& method, const std::string& text = "") {
    INFO(method << " " << text);
    return plugin.call_ok<Text, Outcome>(method, Text{text}, kTimeout);
}

Outcome lock_down(RunningPlugin& plugin, const LockdownRequest& request) {
    return plugin.call_ok<LockdownRequest, Outcome>("lockdown", request, kTimeout);
}

LockdownRequest deny(const std::string& names, const std::string& refusal = "EPERM") {
    LockdownRequest request;
    request.deny = names;
    request.refusal = refusal;
    return request;
}

LockdownRequest allow_only(const std::string& names, const std::string& otherwise, bool serving) {
    LockdownRequest request;
    request.allowlist = true;
    request.allow = names;
    request.otherwise = otherwise;
    request.serving = serving;
    return request;
}

std::string echo(RunningPlugin& plugin, const std::string& text) {
    return plugin.call_ok<Text, Text>("echo", Text{text}, kTimeout).text;
}

} // namespace

TEST_CASE("SDK lockdown: after denying openat/openat2 the plugin cannot open beneath its directory grant, and keeps serving",
          "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config());

    // Before: the same process opens a file beneath its grant.
    Outcome before = call(plugin, "open", "inside.txt");
    CHECK(before.ok);
    CHECK(before.value == "inside");

    Outcome installed = lock_down(plugin, deny("open openat openat2"));
    INFO(installed.value);
    REQUIRE(installed.ok);

    // After: refused by the kernel with EPERM (Directory::open reports it as a System error).
    Outcome after = call(plugin, "open", "inside.txt");
    CHECK_FALSE(after.ok);
    CHECK_THAT(after.value, Catch::StartsWith("System: ") && Catch::Contains(kNotPermitted));
    // What it opened before the lockdown still works, and it keeps serving calls.
    CHECK(call(plugin, "input").value == "input text");
    CHECK(call(plugin, "probe", "getppid").ok);
    CHECK(echo(plugin, "still here") == "still here");
    // An errno refusal of the lockdown is the plugin's own business: no host report.
    CHECK(plugin.violations().lines().empty());
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK lockdown: covers every thread, including one started before it (TSYNC)", "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config());

    auto main_tid = plugin.client().call<Text, Text>("tid", Text{"main"}, kTimeout);
    auto worker_tid = plugin.client().call<Text, Text>("tid", Text{"worker"}, kTimeout);
    REQUIRE(main_tid.ok());
    REQUIRE(worker_tid.ok());
    REQUIRE(main_tid->text != worker_tid->text);  // two threads of the plugin

    CHECK(call(plugin, "worker", "inside.txt").value == "inside");
    REQUIRE(lock_down(plugin, deny("openat openat2")).ok);  // applied on the main thread

    Outcome refused = call(plugin, "worker", "inside.txt");
    CHECK_FALSE(refused.ok);
    CHECK_THAT(refused.value, Catch::Contains(kNotPermitted));
    CHECK_FALSE(call(plugin, "open", "inside.txt").ok);
    // Still the thread that existed before the lockdown.
    auto worker_after = plugin.client().call<Text, Text>("tid", Text{"worker"}, kTimeout);
    REQUIRE(worker_after.ok());
    CHECK(worker_after->text == worker_tid->text);
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK lockdown: lockdowns stack, and neither an allowlist nor a raw allow-all filter re-enables a denied call",
          "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config());
    CHECK(call(plugin, "probe", "getuid").ok);

    // 1: openat and openat2 with EPERM.
    REQUIRE(lock_down(plugin, deny("openat openat2")).ok);
    // 2: "only these", naming openat/openat2 again: an attempt to loosen. Everything else
    // (getuid here) now fails with EACCES.
    Outcome second = lock_down(plugin, allow_only("openat openat2 getppid pread64 fstat newfstatat seccomp", "EACCES",
                                                  /*serving=*/true));
    INFO(second.value);
    REQUIRE(second.ok);
    Outcome open = call(plugin, "open", "inside.txt");
    CHECK_FALSE(open.ok);
    CHECK_THAT(open.value, Catch::Contains(kNotPermitted));  // still the first filter's EPERM
    CHECK(call(plugin, "probe", "getuid").value == "EACCES");  // the second filter bites
    CHECK(call(plugin, "probe", "getppid").ok);                // allowed by both
    CHECK(call(plugin, "input").value == "input text");

    // 3: a third filter stacks on both.
    REQUIRE(lock_down(plugin, deny("getppid", "EROFS")).ok);
    CHECK(call(plugin, "probe", "getppid").value == "EROFS");

    // 4: a raw filter that allows everything changes nothing.
    CHECK(call(plugin, "probe", "allow-all").ok);
    CHECK(call(plugin, "probe", "getppid").value == "EROFS");
    CHECK(call(plugin, "probe", "getuid").value == "EACCES");
    CHECK_FALSE(call(plugin, "open", "inside.txt").ok);

    CHECK(echo(plugin, "serving") == "serving");
    CHECK(plugin.violations().lines().empty());
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK lockdown: an unknown system call name is a clear error and installs nothing", "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config());

    Outcome unknown = lock_down(plugin, deny("openat no_such_call"));
    CHECK_FALSE(unknown.ok);
    CHECK(unknown.value ==
          "InvalidArgument: unknown system call \"no_such_call\" in a self-lockdown; use a Linux system call name as in "
          "syscalls(2) (e.g. \"openat\")");
    Outcome group = lock_down(plugin, allow_only("read @file-system", "EPERM", false));
    CHECK_FALSE(group.ok);
    CHECK_THAT(group.value, Catch::StartsWith("InvalidArgument: unknown system call \"@file-system\"") &&
                                Catch::Contains("@groups belong to the host's config"));
    Outcome exit_group = lock_down(plugin, deny("exit_group"));
    CHECK_FALSE(exit_group.ok);
    CHECK_THAT(exit_group.value, Catch::StartsWith("InvalidArgument: \"exit_group\" cannot be denied"));
    Outcome bad_errno = lock_down(plugin, deny("getppid", "5000"));
    CHECK_FALSE(bad_errno.ok);
    CHECK_THAT(bad_errno.value, Catch::Contains("needs an errno between 1 and 4095, not 5000"));

    // None of these installed a filter: openat (valid, named with the unknown one) still works.
    CHECK(call(plugin, "open", "inside.txt").value == "inside");
    CHECK(call(plugin, "probe", "getppid").ok);
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK lockdown: an allowlist of exactly Lockdown::serving_syscalls() (others killed) keeps serving until stop",
          "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config());

    Outcome installed = lock_down(plugin, allow_only("", "kill", /*serving=*/true));
    INFO(installed.value);
    REQUIRE(installed.ok);
    for (int i = 0; i < 20; ++i) CHECK(echo(plugin, "call " + std::to_string(i)) == "call " + std::to_string(i));
    // A handler that throws (and catches) still works, and log messages still reach the host.
    Outcome thrown = lock_down(plugin, deny("no_such_call"));
    CHECK_FALSE(thrown.ok);
    CHECK_THAT(thrown.value, Catch::Contains("no_such_call"));
    CHECK(plugin.logs().size() >= 20);
    CHECK(plugin.logs().back() == "echo call 19");
    host::PluginExit exit = plugin.stop();
    INFO(exit.describe() << "\n" << plugin.drain_stderr());
    CHECK_FALSE(exit.signaled);
    CHECK(exit.exit_code == 0);
}

TEST_CASE("SDK lockdown: with Lockdown::thread_syscalls() in the allowlist (others killed) the plugin still starts threads",
          "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config());
    CHECK(call(plugin, "spawn", "before").value == "erofeb");

    LockdownRequest request = allow_only("", "kill", /*serving=*/true);
    request.threads = true;
    Outcome installed = lock_down(plugin, request);
    INFO(installed.value);
    REQUIRE(installed.ok);
    for (int i = 0; i < 5; ++i) CHECK(call(plugin, "spawn", "abc" + std::to_string(i)).value == std::to_string(i) + "cba");
    host::PluginExit exit = plugin.stop();
    INFO(exit.describe() << "\n" << plugin.drain_stderr());
    CHECK_FALSE(exit.signaled);
    CHECK(exit.exit_code == 0);
}

TEST_CASE("SDK lockdown: what the host sees: an errno refusal pre-empts its report, a kill ends the plugin by SIGSYS",
          "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config("on_violation = \"errno\"\n"));

    // socket() is refused by the host's own filter: EPERM, reported to the host.
    CHECK(call(plugin, "probe", "socket").value == "EPERM");
    REQUIRE(plugin.violations().wait_for("forbidden system call socket", std::chrono::seconds(5)));
    const auto reports = plugin.violations().lines().size();

    // The lockdown's ERRNO takes precedence over the host's notification: EACCES, no report.
    REQUIRE(lock_down(plugin, deny("socket", "EACCES")).ok);
    CHECK(call(plugin, "probe", "socket").value == "EACCES");
    CHECK(echo(plugin, "after") == "after");
    plugin.settle(std::chrono::milliseconds(200));  // a report that would come arrives meanwhile
    CHECK(plugin.violations().lines().size() == reports);

    // Refusal::kill(): the kernel kills the process; the host sees signal 31 and no report.
    REQUIRE(lock_down(plugin, deny("getppid", "kill")).ok);
    auto killed = plugin.client().call<Text, Outcome>("probe", Text{"getppid"}, kTimeout);
    CHECK_FALSE(killed.ok());
    host::PluginExit exit = plugin.wait();
    INFO(exit.describe());
    CHECK(exit.signaled);
    CHECK(exit.signal == SIGSYS);
    for (const auto& line : plugin.violations().lines()) CHECK_THAT(line, !Catch::Contains("getppid"));
}

TEST_CASE("SDK lockdown: when the host's policy refuses seccomp(), the lockdown fails with a clear error", "[sdk][lockdown]") {
    LockdownTree tree;
    RunningPlugin plugin(tree.config("deny = [\"seccomp\"]\non_violation = \"errno\"\n"));

    Outcome refused = lock_down(plugin, deny("openat openat2"));
    CHECK_FALSE(refused.ok);
    CHECK_THAT(refused.value, Catch::StartsWith("System: cannot lock down: the seccomp() system call is not available") &&
                                  Catch::Contains("must allow \"seccomp\"") && Catch::EndsWith("nothing was installed"));
    CHECK(plugin.violations().wait_for("forbidden system call seccomp", std::chrono::seconds(5)));
    // Not installed, and the plugin was told so (it did not go on believing it was locked down).
    CHECK(call(plugin, "open", "inside.txt").value == "inside");
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK lockdown: a plugin cannot install a seccomp listener of its own under the host's notifying filter",
          "[sdk][lockdown]") {
    // With a listener the plugin could answer its own filter's notifications; the kernel allows
    // one listener per filter chain and the host's filter already has it.
    LockdownTree tree;
    RunningPlugin plugin(tree.config());
    CHECK(call(plugin, "probe", "listener").value == "EBUSY");
    CHECK(plugin.stop().exit_code == 0);
}

TEST_CASE("SDK lockdown builder: names are checked when added, the harsher refusal is kept", "[sdk][lockdown]") {
    using plugin::Lockdown;
    using plugin::PluginError;
    using plugin::PluginErrorKind;
    using plugin::Refusal;

    Lockdown lockdown;
    lockdown.deny({"openat", "getppid"}).deny({"getppid"}, Refusal::kill()).deny({"getppid", "openat"}, Refusal::error(EACCES));
    REQUIRE(lockdown.denied().size() == 2);
    CHECK(lockdown.denied().at("getppid") == Refusal::kill());           // kill stays
    CHECK(lockdown.denied().at("openat") == Refusal::error(EACCES));     // a later errno replaces
    CHECK(lockdown.denied().at("openat").describe() == "EACCES");
    CHECK_FALSE(lockdown.allowed().has_value());

    try {
        lockdown.deny({"read", "not_a_call"});
        FAIL("an unknown name was accepted");
    } catch (const PluginError& error) {
        CHECK(error.kind() == PluginErrorKind::InvalidArgument);
        CHECK_THAT(error.what(), Catch::Contains("\"not_a_call\""));
    }
    CHECK_FALSE(lockdown.denied().contains("read"));  // nothing of the failed call was added

    lockdown.allow_only({"read"}).allow_only({"write", "socketcall"});  // socketcall: not on x86_64, accepted
    REQUIRE(lockdown.allowed().has_value());
    CHECK(lockdown.allowed()->size() == 3);
    CHECK_THROWS_AS(lockdown.otherwise(Refusal::error(0)), PluginError);
    CHECK_THROWS_AS(lockdown.deny({""}), PluginError);
    for (const auto& name : Lockdown::serving_syscalls()) CHECK_NOTHROW(Lockdown().allow_only({name}));
    for (const auto& name : Lockdown::thread_syscalls()) CHECK_NOTHROW(Lockdown().allow_only({name}));
}

TEST_CASE("SDK lockdown outside the host: an unprivileged process without no_new_privs gets it and is locked down",
          "[sdk][lockdown]") {
    // The lockdown runs in a freshly executed program: the forked child only drops privileges
    // with raw calls and execs (this test process may have threads).
    char program[] = AIRLOCK_LOCKDOWN_TEST_PLUGIN;
    char mode[] = "outside-host";
    char* const argv[] = {program, mode, nullptr};
    char* const no_env[] = {nullptr};  // no AIRLOCK_CONNECTION_FD: not started by a host
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Unprivileged (nobody when the tests run as root), no_new_privs not set.
        if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                                 ::setresuid(65534, 65534, 65534) != 0))
            ::_exit(10);
        ::execve(program, argv, no_env);
        ::_exit(15);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
