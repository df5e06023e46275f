// A real `airlock-host run` operated with the real airlockctl (as root and as `nobody`):
// control socket group and mode, call --wait, counters and metrics, completion, --help,
// --version, man pages.
#include "supervisor_test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

using namespace airlock::supervisor_test;

namespace {

const std::string kHost = AIRLOCK_HOST_EXE;
const std::string kCtl = AIRLOCKCTL;
const std::string kSource = AIRLOCK_SOURCE_DIR;

struct Output {
    int exit_code = -1;
    std::string text;  ///< stdout and stderr
};

// Runs `argv` (as `uid`:`gid` with no supplementary groups when given), collecting its output.
Output run(const std::vector<std::string>& argv, std::optional<std::pair<uid_t, gid_t>> as = std::nullopt,
           const std::vector<std::string>& env = {}) {
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(pipe_fds[1], 1);
        ::dup2(pipe_fds[1], 2);
        for (const auto& assignment : env) ::putenv(const_cast<char*>(assignment.c_str()));
        if (as && (::setgroups(0, nullptr) != 0 || ::setgid(as->second) != 0 || ::setuid(as->first) != 0)) ::_exit(126);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    Output out;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) out.text.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
}

// `airlock-host run CONFIG` in the background; SIGTERM and reaped at scope exit.
class Host {
public:
    /// `delay`: the host starts that much later (as one still starting when a client comes).
    explicit Host(const std::string& config, useconds_t delay_us = 0) {
        pid_ = ::fork();
        if (pid_ == 0) {
            if (delay_us) ::usleep(delay_us);
            int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(null, 2);
            ::execl(kHost.c_str(), kHost.c_str(), "run", config.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~Host() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }

private:
    pid_t pid_ = -1;
};

std::string control_toml(const std::string& socket, const std::string& extra) {
    return "[host]\ncontrol = \"" + socket + "\"\n" + extra + "\n";
}

// Waits for the host to bind its control socket (up to 30 s), then for `plugin` to be ready
// (airlockctl call --wait) and calls it once.
Output wait_for_plugin(const std::string& socket, const std::string& plugin) {
    struct stat st{};
    for (int i = 0; i < 3000 && (::stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)); ++i) ::usleep(10000);
    return run({kCtl, "--socket", socket, "call", "--wait=30s", plugin, "work", R"({"steps":0,"step_ms":0})"});
}

} // namespace

TEST_CASE("control_group and control_mode: the socket's group and mode, members admitted, others refused") {
    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", control_toml(socket, "control_group = \"nogroup\"\ncontrol_mode = \"0660\"") +
                               host_toml(plugin_toml("good", "serve")));
    Host host(dir.path() + "/host.toml");
    REQUIRE(wait_for_plugin(socket, "good").exit_code == 0);

    struct stat st{};
    REQUIRE(::stat(socket.c_str(), &st) == 0);
    CHECK(st.st_gid == ::getgrnam("nogroup")->gr_gid);
    CHECK((st.st_mode & 07777) == 0660);

    // nobody (primary group nogroup) is not in control_users, but a member of control_group.
    const passwd* nobody = ::getpwnam("nobody");
    Output as_member = run({kCtl, "--socket", socket, "status"}, std::make_pair(nobody->pw_uid, nobody->pw_gid));
    INFO(as_member.text);
    CHECK(as_member.exit_code == 0);
    CHECK(as_member.text.find("good") != std::string::npos);

    // daemon is in neither: the file's mode keeps it out (77, permission denied).
    const passwd* daemon = ::getpwnam("daemon");
    Output outsider = run({kCtl, "--socket", socket, "status"}, std::make_pair(daemon->pw_uid, daemon->pw_gid));
    INFO(outsider.text);
    CHECK(outsider.exit_code == 77);
}

TEST_CASE("control_group unset: a non-root user is refused even where the file lets it in") {
    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", control_toml(socket, "") + host_toml(plugin_toml("good", "serve")));
    Host host(dir.path() + "/host.toml");
    REQUIRE(wait_for_plugin(socket, "good").exit_code == 0);
    ::chmod(socket.c_str(), 0666);  // only the host's uid check stands between nobody and the host
    const passwd* nobody = ::getpwnam("nobody");
    Output refused = run({kCtl, "--socket", socket, "status"}, std::make_pair(nobody->pw_uid, nobody->pw_gid));
    INFO(refused.text);
    CHECK(refused.exit_code == 77);
    CHECK(refused.text.find("may not use the control socket") != std::string::npos);
}

TEST_CASE("airlockctl call --wait: calls once ready, times out for a plugin never ready, fails for one that exited") {
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", control_toml(socket, "") +
                               host_toml(plugin_toml("good", "serve") + plugin_toml("stuck", "no-ready") +
                                         plugin_toml("crashing", "crash", "restart = \"no\"\n")));
    Host host(dir.path() + "/host.toml");
    Output ready = wait_for_plugin(socket, "good");
    INFO(ready.text);
    CHECK(ready.exit_code == 0);
    CHECK(ready.text.find("\"acknowledged\": 0") != std::string::npos);

    Output stuck = run({kCtl, "--socket", socket, "call", "--wait=300ms", "stuck", "work", "{}"});
    INFO(stuck.text);
    CHECK(stuck.exit_code == 75);  // EX_TEMPFAIL: the wait timed out

    Output crashed = run({kCtl, "--socket", socket, "call", "--wait=30s", "crashing", "work", "{}"});
    INFO(crashed.text);
    CHECK(crashed.exit_code != 0);
    CHECK(crashed.exit_code != 75);  // told at once that it will not become ready, not a timeout

    Output bad = run({kCtl, "--socket", socket, "call", "--wait=soon", "good", "work", "{}"});
    CHECK(bad.exit_code == 64);
    CHECK(bad.text.find("--wait needs a duration such as 2s or 500ms") != std::string::npos);
}

TEST_CASE("airlockctl call --wait also waits for a host whose socket is not there yet") {
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", control_toml(socket, "") + host_toml(plugin_toml("good", "serve")));
    Host host(dir.path() + "/host.toml", 700000);  // binds its socket well after airlockctl's first try
    Output reply = run({kCtl, "--socket", socket, "call", "--wait=30s", "good", "work", R"({"steps":0,"step_ms":0})"});
    INFO(reply.text);
    CHECK(reply.exit_code == 0);
    CHECK(reply.text.find("\"acknowledged\": 0") != std::string::npos);

    Output absent = run({kCtl, "--socket", dir.path() + "/none.sock", "call", "--wait=300ms", "good", "work", "{}"});
    INFO(absent.text);
    CHECK(absent.exit_code == 69);  // EX_UNAVAILABLE once the wait is over
    CHECK(absent.text.find("cannot reach the airlock host") != std::string::npos);
}

TEST_CASE("bash completion offers airlockctl's commands and the live host's plugin names") {
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", control_toml(socket, "") +
                               host_toml(plugin_toml("alpha", "serve") + plugin_toml("beta", "serve")));
    Host host(dir.path() + "/host.toml");
    REQUIRE(wait_for_plugin(socket, "beta").exit_code == 0);
    const std::string ctl_dir = kCtl.substr(0, kCtl.rfind('/'));
    auto complete = [&](const std::string& line_words, int cword) {
        const std::string script = "PATH=" + ctl_dir + ":$PATH; source " + kSource +
                                   "/completions/airlockctl.bash; COMP_WORDS=(" + line_words + "); COMP_CWORD=" +
                                   std::to_string(cword) + "; _airlockctl; printf '%s\\n' \"${COMPREPLY[@]}\"";
        return run({"bash", "-c", script}).text;
    };
    CHECK(complete("airlockctl st", 1) == "status\nstart\nstop\n");
    CHECK(complete("airlockctl --socket " + socket + " restart ''", 4) == "alpha\nbeta\n");
    CHECK(complete("airlockctl --socket " + socket + " call b", 4) == "beta\n");
}

TEST_CASE("--help and --version of both tools, and the man pages render without warnings") {
    for (const std::string& tool : {kHost, kCtl}) {
        Output version = run({tool, "--version"});
        CHECK(version.exit_code == 0);
        CHECK(version.text.find(" 0.") != std::string::npos);
        Output help = run({tool, "--help"});
        CHECK(help.exit_code == 0);
        CHECK(help.text.find("usage: ") == 0);
    }
    for (const std::string page : {"airlock-host.1", "airlockctl.1", "airlock.toml.5"}) {
        Output man = run({"man", "--warnings", "-l", "-P", "cat", kSource + "/man/" + page}, std::nullopt,
                         {"MANWIDTH=80", "LC_ALL=C.UTF-8"});
        INFO(page << "\n" << man.text);
        CHECK(man.exit_code == 0);
        CHECK(man.text.find("NAME") != std::string::npos);
        CHECK(man.text.find("SYNOPSIS") != std::string::npos);
        CHECK(man.text.find("warning") == std::string::npos);
    }
}

TEST_CASE("airlockctl status and metrics count calls, errors, violations, restarts and bytes per plugin") {
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    dir.write("host.toml", control_toml(socket, "") +
                               host_toml(plugin_toml("good", "serve") +
                                         plugin_toml("bad", "violate", "restart = \"no\"\n")));
    Host host(dir.path() + "/host.toml");
    REQUIRE(wait_for_plugin(socket, "good").exit_code == 0);  // one call with a reply
    // bad reports ready, then calls ptrace and is killed (failed: no restart): wait for that.
    bool exited = false;
    for (int i = 0; i < 3000 && !exited; ++i) {
        exited = run({kCtl, "--socket", socket, "status", "bad"}).text.find(" failed ") != std::string::npos;
        if (!exited) ::usleep(10000);
    }
    REQUIRE(exited);
    // A call that ends without a reply: the host's timeout passes long before the plugin's work.
    Output timed_out = run({kCtl, "--socket", socket, "call", "--timeout", "50ms", "good", "work",
                            R"({"steps":1,"step_ms":3000})"});
    CHECK(timed_out.exit_code == 75);

    Output metrics = run({kCtl, "--socket", socket, "metrics"});
    INFO(metrics.text);
    CHECK(metrics.exit_code == 0);
    CHECK(metrics.text.find("# TYPE airlock_plugin_calls_total counter\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_calls_total{plugin=\"good\"} 2\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_call_errors_total{plugin=\"good\"} 1\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_calls_total{plugin=\"bad\"} 0\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_violations_total{plugin=\"bad\"} 1\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_violations_total{plugin=\"good\"} 0\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_up{plugin=\"good\"} 1\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_up{plugin=\"bad\"} 0\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_restarts_total{plugin=\"good\"} 0\n") != std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_sent_bytes_total{plugin=\"good\"} 0\n") == std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_received_bytes_total{plugin=\"good\"} 0\n") == std::string::npos);
    CHECK(metrics.text.find("airlock_plugin_sent_bytes_total{plugin=\"bad\"} 0\n") != std::string::npos);

    Output json = run({kCtl, "--socket", socket, "status", "--json", "good"});
    INFO(json.text);
    CHECK(json.text.find("\"calls\": 2") != std::string::npos);
    CHECK(json.text.find("\"call_errors\": 1") != std::string::npos);
    Output table = run({kCtl, "--socket", socket, "status"});
    INFO(table.text);
    CHECK(table.text.find("CALLS   ERRORS  VIOLATIONS  IN       OUT") != std::string::npos);
}
