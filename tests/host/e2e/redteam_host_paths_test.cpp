// Red team: operator-named paths in a directory another local user controls. The root host
// executes the plugin's `exec` and binds or grants its `system_paths` by name; a local user
// (nobody here, a real process switched with setresuid) who owns a directory on the way swaps
// in their own program, or points a system path at a root-only place. The host must refuse
// the start, naming the path and who could change it, and keep serving other plugins.
#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

using namespace airlock::e2e;
using airlock::UniqueFd;

namespace {

constexpr uid_t kNobody = 65534;

bool copy_file(const std::string& from, const std::string& to, mode_t mode) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary);
    out << in.rdbuf();
    out.close();
    return in.good() && out.good() && ::chmod(to.c_str(), mode) == 0;
}

std::string config_with(const TempDir& dir, const std::string& executable, const std::string& system_path,
                        const std::string& namespaces) {
    std::string text = attempt_toml(AttemptConfig{});
    const std::string exec_line = "exec = " + quoted(kAttempt);
    text.replace(text.find(exec_line), exec_line.size(), "exec = " + quoted(executable));
    const std::string paths = "\"/etc/ld.so.cache\"";
    if (!system_path.empty()) text.replace(text.find(paths), paths.size(), paths + ", " + quoted(system_path));
    return dir.file("paths.toml", "[sandbox]\n" + namespaces + "\n" + text.substr(text.find('\n') + 1));
}

} // namespace

TEST_CASE("an executable in a directory another user owns is refused before they can swap it", "[e2e][redteam]") {
    if (skipped_unless_root("a root host and an unprivileged attacker")) return;
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        const std::string theirs = dir.dir("theirs");
        REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
        const std::string tool = theirs + "/attempt";
        REQUIRE(copy_file(kAttempt, tool, 0755));  // root's program, in nobody's directory
        // nobody puts their own program in its place.
        REQUIRE(as_nobody([&] {
            return ::rename(tool.c_str(), (tool + ".root").c_str()) == 0 && copy_file(kAttempt, tool, 0755);
        }));
        struct stat status {};
        REQUIRE(::stat(tool.c_str(), &status) == 0);
        REQUIRE(status.st_uid == kNobody);

        const Run run = exec_attempt(config_with(dir, tool, "", namespaces), {"noop"});
        INFO(namespaces << "\n" << run.out << run.err);
        CHECK(run.result("noop") == "<missing>");  // nobody's program never ran
        CHECK(run.status != 0);
        CHECK(run.err.find("executable " + tool + ": " + theirs + " belongs to uid 65534, who could replace " + tool) !=
              std::string::npos);

        // The host serves the same plugin from a directory only root can change.
        const Run served = exec_attempt(config_with(dir, kAttempt, "", namespaces), {"noop"});
        INFO(served.err);
        CHECK(served.result("noop") == "SUCCEEDED");
    }
}

TEST_CASE("a system path another user can redirect is refused before the plugin reads through it",
          "[e2e][redteam]") {
    if (skipped_unless_root("a root host and an unprivileged attacker")) return;
    for (const char* namespaces : {"namespaces = \"auto\"", "namespaces = \"off\""}) {
        TempDir dir;
        // A root-only place the plugin must not read: readable files in a directory outside
        // every rule.
        const std::string vault = dir.dir("vault");
        dir.file("vault/secret", "root's\n", 0644);
        const std::string theirs = dir.dir("theirs");
        const std::string data = theirs + "/data";
        ::mkdir(data.c_str(), 0755);  // root's directory, in nobody's
        REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
        // nobody points the configured system path at the vault.
        REQUIRE(as_nobody([&] {
            return ::rename(data.c_str(), (data + ".root").c_str()) == 0 && ::symlink(vault.c_str(), data.c_str()) == 0;
        }));

        const Run run = exec_attempt(config_with(dir, kAttempt, data, namespaces), {"open", data + "/secret"});
        INFO(namespaces << "\n" << run.out << run.err);
        CHECK(run.result("open").rfind("SUCCEEDED", 0) != 0);
        CHECK(run.status != 0);
        CHECK(run.err.find(theirs + " belongs to uid 65534, who could replace " + data) != std::string::npos);

        const Run served = exec_attempt(config_with(dir, kAttempt, "", namespaces), {"noop"});
        INFO(served.err);
        CHECK(served.result("noop") == "SUCCEEDED");
    }
}

TEST_CASE("exec -- COMMAND through a link another user can change is refused", "[e2e][redteam]") {
    if (skipped_unless_root("a root caller and an unprivileged attacker")) return;
    TempDir dir;
    const std::string theirs = dir.dir("theirs");
    REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
    const std::string tool = theirs + "/tool";
    // nobody decides which program `airlock-host exec -- .../tool` runs.
    REQUIRE(as_nobody([&] { return ::symlink("/usr/bin/true", tool.c_str()) == 0; }));
    const Run run = run_host({"exec", "--", tool});
    INFO(run.out << run.err);
    CHECK(run.status != 0);
    CHECK(run.err.find("command " + tool + ": " + theirs + " belongs to uid 65534, who could replace " + tool) !=
          std::string::npos);

    const Run served = run_host({"exec", "--", "/usr/bin/true"});
    INFO(served.err);
    CHECK(served.status == 0);
}

TEST_CASE("a file grant that is a hard link in another user's directory is refused", "[e2e][redteam]") {
    // The root host opens a file grant as root. The owner of its directory decides which file
    // the name holds; a hard link there to a file only root may read would hand the plugin that
    // file. The kernel refuses such a link to nobody while fs.protected_hardlinks = 1; the
    // link is made here by root, as nobody could where it is 0.
    if (skipped_unless_root("a root host and another local user")) return;
    TempDir dir;
    const std::string secret = dir.file("secret", "SECRET\n", 0600);  // root's, root only
    const std::string theirs = dir.dir("theirs");
    REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
    const std::string input = theirs + "/in.txt";
    REQUIRE(::link(secret.c_str(), input.c_str()) == 0);
    const std::string config = dir.file("reader.toml", "[plugin.reader]\n"
                                                       "exec = \"/usr/bin/dash\"\n"
                                                       "args = [\"-c\", \"read line <&3; echo read: $line\"]\n"
                                                       "protocol = \"none\"\n"
                                                       "stdio = \"inherit\"\n"
                                                       "grants.input = { file = " + quoted(input) +
                                                           ", access = \"read\" }\n");
    const Run refused = run_host({"exec", config, "reader"});
    INFO(refused.out << refused.err);
    CHECK(refused.status != 0);
    CHECK(refused.out.find("SECRET") == std::string::npos);
    CHECK(refused.err.find("grant \"input\": " + input + " is a hard link (2 names) where another user could have "
                           "made it (" + input + ": " + theirs + " belongs to uid 65534") != std::string::npos);

    // With one name left, the file can only have been put there by root: served.
    REQUIRE(::unlink(secret.c_str()) == 0);
    const Run served = run_host({"exec", config, "reader"});
    INFO(served.out << served.err);
    CHECK(served.status == 0);
    CHECK(served.out == "read: SECRET\n");
}

TEST_CASE("a connect grant that is a hard link in another user's directory is refused", "[e2e][redteam]") {
    // The same for a socket: the host connects as root, so a second name for a root-only
    // socket (a daemon's API) in another user's directory would connect the plugin to it. The
    // kernel lets only the socket's owner make that link while fs.protected_hardlinks = 1.
    if (skipped_unless_root("a root host and another local user")) return;
    TempDir dir;
    const std::string vault = dir.dir("vault");
    REQUIRE(::chmod(vault.c_str(), 0700) == 0);
    const std::string root_socket = vault + "/api.sock";
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, root_socket.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener.get(), 8) == 0);
    const std::string theirs = dir.dir("theirs");
    REQUIRE(::chown(theirs.c_str(), kNobody, kNobody) == 0);
    const std::string named = theirs + "/api.sock";
    REQUIRE(::link(root_socket.c_str(), named.c_str()) == 0);
    const std::string config = dir.file("client.toml", "[plugin.client]\n"
                                                       "exec = \"/usr/bin/true\"\n"
                                                       "protocol = \"none\"\n"
                                                       "grants.api = { connect = " + quoted(named) + " }\n");
    const Run refused = run_host({"exec", config, "client"});
    INFO(refused.out << refused.err);
    CHECK(refused.status != 0);
    CHECK(refused.err.find("grant \"api\": " + named + " is a hard link (2 names) where another user could have "
                           "made it") != std::string::npos);
    CHECK(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC) == -1);  // never connected
    CHECK(errno == EAGAIN);
}
