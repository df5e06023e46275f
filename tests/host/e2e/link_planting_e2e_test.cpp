// Issue 9.1: a plugin that can write where one of its grants lives plants a link there,
// exits 1, and the real Supervisor (restart = "on-failure") starts it again. The host runs
// as root: it must refuse the restart instead of opening, connecting to or handing out
// whatever the link names (a root-only file in a 0700 root directory here).
#include "e2e_support.hpp"

#include <airlock/host/supervisor.hpp>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>

using namespace airlock;
using namespace airlock::e2e;

namespace {

constexpr uid_t kNobody = 65534;

/// A root-only directory (0700) with a root-only file (0600) the plugin must never reach,
/// next to the plugin's read-write directory `work` (owned by nobody).
struct Scene {
    TempDir dir;
    std::string vault = dir.at("vault");
    std::string secret = vault + "/secret";
    std::string work = dir.dir("work");

    Scene() {
        ::mkdir(vault.c_str(), 0700);
        std::ofstream(secret) << "root only\n";
        ::chmod(secret.c_str(), 0600);
        // An old access time: relatime then records any read of the file.
        const timespec times[2] = {{946684800, 0}, {0, UTIME_OMIT}};
        ::utimensat(AT_FDCWD, secret.c_str(), times, 0);
        REQUIRE(::chown(work.c_str(), kNobody, kNobody) == 0);
    }
};

struct FileFacts {
    std::string content;
    struct stat status {};
};

// O_NOATIME (allowed to root): looking at the file must not look like someone read it.
FileFacts facts_of(const std::string& path) {
    FileFacts facts;
    ::stat(path.c_str(), &facts.status);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME));
    facts.content = fd ? read_all(fd.get()) : std::string("<unreadable>");
    return facts;
}

void check_unchanged(const FileFacts& before, const std::string& path) {
    const FileFacts after = facts_of(path);
    CHECK(after.content == before.content);
    CHECK(after.status.st_size == before.status.st_size);
    CHECK(after.status.st_mtim.tv_sec == before.status.st_mtim.tv_sec);
    CHECK(after.status.st_mtim.tv_nsec == before.status.st_mtim.tv_nsec);
    CHECK(after.status.st_atim.tv_sec == before.status.st_atim.tv_sec);  // never read
}

std::string config_text(const std::string& grants, const std::vector<std::string>& args) {
    std::string arg_list;
    for (const auto& arg : args) arg_list += (arg_list.empty() ? "" : ", ") + quoted(arg);
    // namespaces = "off": the plugin plants by host path. Under the namespaces layer it would
    // plant through its `work` descriptor (symlinkat/linkat) with the same result on the host,
    // whose defence (never following, whoever planted) is what these tests check.
    return "[sandbox]\n"
           "namespaces = \"off\"\n"
           "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\"]\n"
           "user = \"nobody\"\n"
           "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n"
           "[plugin.attempt]\n"
           "exec = " + quoted(kAttempt) + "\n"
           "args = [" + arg_list + "]\n"
           "protocol = \"none\"\n"
           "restart = \"on-failure\"\n"
           "restart_delay = \"20ms\"\n"
           "start_limit_burst = 3\n"
           "start_limit_interval = \"60s\"\n"
           "[plugin.attempt.grants]\n" + grants + "\n"
           "[plugin.witness]\n"
           "exec = " + quoted(kAttempt) + "\n"
           "args = [\"sleep\", \"60\"]\n"
           "protocol = \"none\"\n"
           "restart = \"no\"\n";
}

bool any_line(const std::vector<std::string>& lines, const std::string& part) {
    for (const auto& line : lines)
        if (line.find(part) != std::string::npos) return true;
    return false;
}

void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < end) {
        io.run_one_for(std::chrono::milliseconds(20));
        if (io.stopped()) io.restart();
    }
}

/// Runs the config under a real Supervisor until `attempt` has failed for good (it plants
/// on its first start; every later start must be refused), checks the witness plugin still
/// runs and can be restarted, and returns every log line.
std::vector<std::string> supervise(const Scene& scene, const std::string& toml) {
    boost::asio::io_context io;
    host::Supervisor supervisor(io, host::load_config_text(toml, scene.dir.at("links.toml")));
    supervisor.set_output_fd(-1);
    std::vector<std::string> lines;
    supervisor.subscribe_logs([&](const std::string&, const std::string& line) { lines.push_back(line); });
    supervisor.start_all();
    auto state_of = [&](const std::string& name) {
        for (const auto& status : supervisor.status())
            if (status.name == name) return status;
        return host::PluginStatus{};
    };
    run_until(io, [&] { return state_of("attempt").state == host::PluginState::Failed; });
    CHECK(state_of("attempt").state == host::PluginState::Failed);

    // The host still serves: the witness kept running and starts again on request.
    const host::PluginStatus witness = state_of("witness");
    CHECK(witness.state == host::PluginState::Ready);
    CHECK(witness.pid > 0);
    REQUIRE(supervisor.restart("witness").ok());
    run_until(io, [&] {
        auto now = state_of("witness");
        return now.state == host::PluginState::Ready && now.pid != witness.pid;
    });
    CHECK(state_of("witness").state == host::PluginState::Ready);
    CHECK(state_of("witness").pid != witness.pid);
    bool stopped = false;
    supervisor.stop_all([&] { stopped = true; });
    run_until(io, [&] { return stopped; });
    return lines;
}

/// Grants: `victim` (fields VICTIM, inside the plugin-writable directory) and that directory, `work`.
std::string victim_and_work(const Scene& scene, const std::string& victim) {
    return "victim = { " + victim + ", inside_writable = true }\n"
           "work = { dir = " + quoted(scene.work) + ", access = \"read-write\" }";
}

std::string refusal(const std::string& grant, const std::string& path, const std::string& why) {
    return "cannot start: plugin 'attempt': grant \"" + grant + "\": " + path + " " + why;
}

} // namespace

TEST_CASE("links: a file grant replaced by a symlink to a root-only file is refused on restart", "[e2e][links]") {
    Scene scene;
    const std::string state = scene.work + "/state";
    std::ofstream(state) << "plugin state\n";
    const FileFacts before = facts_of(scene.secret);
    const auto lines = supervise(scene, config_text(victim_and_work(scene,
                                                                    "file = " + quoted(state) + ", access = \"read\""),
                                                    {"plant", "symlink", state, scene.secret, "read"}));
    CHECK(any_line(lines, "note used-grant read plugin state"));
    CHECK(any_line(lines, "note planted symlink " + state + " -> " + scene.secret));
    CHECK(any_line(lines, refusal("victim", state, "is a symbolic link; grants never follow links")));
    CHECK_FALSE(any_line(lines, "root only"));
    check_unchanged(before, scene.secret);
}

TEST_CASE("links: an append + create file grant through a planted link neither writes nor creates", "[e2e][links]") {
    Scene scene;
    const std::string log = scene.work + "/log";
    const std::string created = scene.vault + "/created-by-host";
    const FileFacts before = facts_of(scene.secret);
    SECTION("a link to an existing root-only file") {
        const auto lines = supervise(scene, config_text(victim_and_work(scene,
                                                                        "file = " + quoted(log) + ", access = \"append\", create = true"),
                                                        {"plant", "symlink", log, scene.secret, "append"}));
        CHECK(any_line(lines, "note planted symlink " + log + " -> " + scene.secret));
        CHECK(any_line(lines, refusal("victim", log, "is a symbolic link; grants never follow links")));
    }
    SECTION("a dangling link where create = true would make a root-owned file") {
        const auto lines = supervise(scene, config_text(victim_and_work(scene,
                                                                        "file = " + quoted(log) + ", access = \"append\", create = true"),
                                                        {"plant", "symlink", log, created, "append"}));
        CHECK(any_line(lines, "note planted symlink " + log + " -> " + created));
        CHECK(any_line(lines, refusal("victim", log, "is a symbolic link; grants never follow links")));
        CHECK_FALSE(path_exists(created));
    }
    check_unchanged(before, scene.secret);
}

TEST_CASE("links: a link in a parent component of a file grant is refused too", "[e2e][links]") {
    Scene scene;
    const std::string sub = scene.work + "/sub";
    ::mkdir(sub.c_str(), 0755);
    REQUIRE(::chown(sub.c_str(), kNobody, kNobody) == 0);
    const std::string state = sub + "/secret";
    std::ofstream(state) << "plugin state\n";
    const FileFacts before = facts_of(scene.secret);
    // The plugin moves `sub` aside and links it to the vault: sub/secret is then the root file.
    const auto lines = supervise(scene, config_text(victim_and_work(scene,
                                                                    "file = " + quoted(state) + ", access = \"read\""),
                                                    {"plant", "symlink", sub, scene.vault, "read"}));
    CHECK(any_line(lines, "note planted symlink " + sub + " -> " + scene.vault));
    CHECK(any_line(lines, refusal("victim", state, "lies under a symbolic link (" + sub +
                                                       "); grants never follow links")));
    CHECK_FALSE(any_line(lines, "root only"));
    check_unchanged(before, scene.secret);
}

TEST_CASE("links: a file grant replaced by a hard link inside a writable dir is refused on restart", "[e2e][links]") {
    // nobody cannot hard-link the root-only file itself (protected_hardlinks, the 0700 vault):
    // the plugin links another file of its directory, which the host must refuse all the same.
    Scene scene;
    const std::string state = scene.work + "/state";
    const std::string other = scene.work + "/other";
    std::ofstream(state) << "plugin state\n";
    std::ofstream(other) << "another file\n";
    REQUIRE(::chown(other.c_str(), kNobody, kNobody) == 0);
    const auto lines = supervise(scene, config_text(victim_and_work(scene,
                                                                    "file = " + quoted(state) + ", access = \"read\""),
                                                    {"plant", "hardlink", state, other, "read"}));
    CHECK(any_line(lines, "note planted hardlink " + state + " -> " + other));
    CHECK(any_line(lines, refusal("victim", state, "is a hard link (2 names) inside the plugin-writable directory " +
                                                       scene.work + "; grants never follow links")));
    CHECK_FALSE(any_line(lines, "note used-grant read another file"));
}

TEST_CASE("links: a dir grant replaced by a symlink to a root-only dir is refused on restart", "[e2e][links][landlock]") {
    Scene scene;
    const std::string inner = scene.work + "/inner";
    ::mkdir(inner.c_str(), 0755);
    REQUIRE(::chown(inner.c_str(), kNobody, kNobody) == 0);
    const FileFacts before = facts_of(scene.secret);
    const auto lines = supervise(scene, config_text(victim_and_work(scene,
                                                                    "dir = " + quoted(inner) + ", access = \"read\""),
                                                    {"plant", "symlink", inner, scene.vault, "dir"}));
    std::string all;
    for (const auto& line : lines) all += line + "\n";
    INFO(all);
    CHECK(any_line(lines, "note planted symlink " + inner + " -> " + scene.vault));
    CHECK(any_line(lines, refusal("victim", inner, "is a symbolic link; grants never follow links")));
    CHECK_FALSE(any_line(lines, "root only"));
    check_unchanged(before, scene.secret);
}

TEST_CASE("links: a connect grant replaced by a symlink to a root-only socket is refused on restart", "[e2e][links]") {
    Scene scene;
    auto listen_at = [](const std::string& path) {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd.get(), 8) == 0);
        return fd;
    };
    const std::string api = scene.work + "/api.sock";
    const std::string root_socket = scene.vault + "/root.sock";
    UniqueFd plugin_listener = listen_at(api);
    UniqueFd root_listener = listen_at(root_socket);
    const auto lines = supervise(scene, config_text(victim_and_work(scene, "connect = " + quoted(api)),
                                                    {"plant", "symlink", api, root_socket, "connect"}));
    CHECK(any_line(lines, "note used-grant connect 18"));
    CHECK(any_line(lines, "note planted symlink " + api + " -> " + root_socket));
    CHECK(any_line(lines, refusal("victim", api, "is a symbolic link; grants never follow links")));
    // Nobody ever connected to the root-only socket.
    CHECK(::accept4(root_listener.get(), nullptr, nullptr, SOCK_CLOEXEC) == -1);
    CHECK(errno == EAGAIN);
}

TEST_CASE("links: an executable reached through a symlink is refused", "[e2e][links]") {
    Scene scene;
    const std::string link = scene.dir.at("attempt-link");
    REQUIRE(::symlink(kAttempt.c_str(), link.c_str()) == 0);
    std::string toml = attempt_toml({});
    toml.replace(toml.find(quoted(kAttempt)), quoted(kAttempt).size(), quoted(link));
    host::HostConfig config = host::load_config_text(toml, scene.dir.at("exe.toml"));
    host::Spawner spawner(config.plugins.at("attempt"));
    REQUIRE_THROWS_WITH(spawner.launch(), Catch::Contains("cannot start: executable " + link +
                                                          " is a symbolic link; the executable is never "
                                                          "reached through a link"));
}

TEST_CASE("links: a datagram connect grant is refused unless datagram = true", "[e2e][links]") {
    Scene scene;
    const std::string path = scene.dir.at("dgram.sock");
    UniqueFd server(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(server.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    AttemptConfig refused;
    refused.grants = "dgram = { connect = " + quoted(path) + " }";
    host::HostConfig config = host::load_config_text(attempt_toml(refused), scene.dir.at("dgram.toml"));
    host::Spawner spawner(config.plugins.at("attempt"));
    REQUIRE_THROWS_WITH(spawner.launch(), Catch::Contains("grant \"dgram\": " + path +
                                                          " is a datagram socket; set datagram = true"));
    AttemptConfig allowed;
    allowed.grants = "dgram = { connect = " + quoted(path) + ", datagram = true }";
    const Run run = spawn_attempt(write_config(scene.dir, allowed), {"noop"});
    CHECK(run.result("noop") == "SUCCEEDED");
}
