// Red team: a file grant may name a character device, and the host opens it and hands the
// plugin the descriptor. For a terminal that gave the plugin every terminal ioctl: Landlock's
// device-ioctl right covers only files the plugin opens itself, and seccomp allows ioctl. It
// could switch echo off (or any termios setting) for whoever types into the terminal after it,
// and, on a terminal without a session, make it its controlling terminal (TIOCSCTTY) and type
// into it (TIOCSTI). stdio = "inherit" never hands a terminal over; a grant now refuses one too.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

using namespace airlock::e2e;

namespace {

const std::string kRedteam = AIRLOCK_E2E_REDTEAM;

struct Pty {
    int controller = -1;
    int terminal = -1;
    Pty() { REQUIRE(::openpty(&controller, &terminal, nullptr, nullptr, nullptr) == 0); }
    ~Pty() {
        ::close(controller);
        ::close(terminal);
    }
    bool echo() const {
        termios settings{};
        REQUIRE(::tcgetattr(terminal, &settings) == 0);
        return (settings.c_lflag & ECHO) != 0;
    }
};

} // namespace

TEST_CASE("a file grant never hands a plugin a terminal", "[e2e][redteam]") {
    // device = true admits other devices (redteam_device_grant_test.cpp), never a terminal.
    for (const std::string device : {"", ", device = true"})
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        Pty pty;
        REQUIRE(pty.echo());
        const std::string name = ::ttyname(pty.terminal);
        TempDir dir;
        const std::string config = dir.file("redteam.toml",
                                            redteam_plugin_toml(kRedteam, namespaces) +
                                                "[plugin.redteam.grants]\n"
                                                "term = { file = " + quoted(name) + ", access = \"read-write\"" + device + " }\n");
        // The grant is the first inherited descriptor (LISTEN_FDS from 3).
        Run run = run_host({"exec", config, "redteam", "--", "terminal-echo-off", "3"});
        INFO(namespaces << device << " " << name << "\n" << run.out << run.err);
        CHECK(run.status != 0);
        CHECK_FALSE(has_line(run.out, "redteam terminal-echo-off: SUCCEEDED"));
        CHECK(has_line(run.err, ".*" + name + " is a terminal: a plugin never gets a terminal's descriptor.*"));
        CHECK(pty.echo());  // the terminal's settings are its users' own
    }
}
