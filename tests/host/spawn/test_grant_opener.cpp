// Grant opener: each grant becomes a descriptor with exactly the configured access.
#include "test_support.hpp"

#include <airlock/host/grant_opener.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

namespace {

GrantConfig file_grant(const std::string& path, GrantAccess access, bool create = false) {
    GrantConfig grant;
    grant.name = "g";
    grant.kind = GrantKind::File;
    grant.path = path;
    grant.access = access;
    grant.create = create;
    return grant;
}

int status_flags(const OpenedGrant& grant) { return ::fcntl(grant.fd.get(), F_GETFL); }
bool close_on_exec(const OpenedGrant& grant) { return (::fcntl(grant.fd.get(), F_GETFD) & FD_CLOEXEC) != 0; }

} // namespace

TEST_CASE("file grants carry exactly the configured access mode", "[grants]") {
    TempDir dir;
    std::string path = dir.file("f", "content");
    struct Case {
        GrantAccess access;
        int mode;
        bool append;
    };
    for (Case c : {Case{GrantAccess::Read, O_RDONLY, false}, Case{GrantAccess::Write, O_WRONLY, false},
                   Case{GrantAccess::Append, O_WRONLY, true}, Case{GrantAccess::ReadWrite, O_RDWR, false}}) {
        INFO("access " << grant_access_name(c.access));
        OpenedGrant grant = open_grant(file_grant(path, c.access));
        CHECK((status_flags(grant) & O_ACCMODE) == c.mode);
        CHECK(((status_flags(grant) & O_APPEND) != 0) == c.append);
        CHECK((status_flags(grant) & O_NONBLOCK) == 0);
        CHECK(close_on_exec(grant));
    }
}

TEST_CASE("a read-only file grant cannot write, an append grant appends", "[grants]") {
    TempDir dir;
    std::string path = dir.file("log", "old\n");
    OpenedGrant reader = open_grant(file_grant(path, GrantAccess::Read));
    CHECK(::write(reader.fd.get(), "x", 1) == -1);
    CHECK(errno == EBADF);
    OpenedGrant appender = open_grant(file_grant(path, GrantAccess::Append));
    REQUIRE(::pwrite(appender.fd.get(), "new\n", 4, 0) == 4);  // O_APPEND ignores the offset
    CHECK(dir.read("log") == "old\nnew\n");
}

TEST_CASE("create makes a missing file with mode 0600, without create it is an error", "[grants]") {
    TempDir dir;
    std::string path = dir.path() + "/created.log";
    REQUIRE_THROWS_WITH(open_grant(file_grant(path, GrantAccess::Append)),
                        Catch::Contains("grant 'g' (file " + path + ")") && Catch::Contains("No such file"));
    open_grant(file_grant(path, GrantAccess::Append, true));
    struct stat status {};
    REQUIRE(::stat(path.c_str(), &status) == 0);
    CHECK((status.st_mode & 07777) == 0600);
}

TEST_CASE("a directory is not a file grant, a dir grant is O_DIRECTORY read-only", "[grants]") {
    TempDir dir;
    REQUIRE_THROWS_WITH(open_grant(file_grant(dir.path(), GrantAccess::Read)), Catch::Contains("is a directory"));
    GrantConfig grant;
    grant.name = "out";
    grant.kind = GrantKind::Directory;
    grant.path = dir.path();
    grant.access = GrantAccess::ReadWrite;
    OpenedGrant opened = open_grant(grant);
    CHECK((status_flags(opened) & (O_ACCMODE | O_DIRECTORY)) == (O_RDONLY | O_DIRECTORY));
    CHECK(close_on_exec(opened));
}

TEST_CASE("a detached dir grant has nothing above it, and is the same directory", "[grants]") {
    if (::geteuid() != 0) {
        WARN("NOT TESTED: copying a mount (open_tree) needs CAP_SYS_ADMIN");
        return;
    }
    TempDir dir;
    dir.file("beside.txt", "not granted");
    const std::string granted = dir.path() + "/granted";
    REQUIRE(::mkdir(granted.c_str(), 0755) == 0);
    GrantConfig grant;
    grant.name = "data";
    grant.kind = GrantKind::Directory;
    grant.path = granted;
    OpenedGrant plain = open_grant(grant);
    OpenedGrant detached = open_grant(grant, {}, true);
    struct stat itself {}, detached_itself {}, above {};
    REQUIRE(::fstat(plain.fd.get(), &itself) == 0);
    REQUIRE(::fstat(detached.fd.get(), &detached_itself) == 0);
    CHECK((detached_itself.st_dev == itself.st_dev && detached_itself.st_ino == itself.st_ino));
    CHECK((status_flags(detached) & (O_ACCMODE | O_DIRECTORY)) == (O_RDONLY | O_DIRECTORY));
    CHECK(close_on_exec(detached));
    // The plain descriptor's ".." is the directory above; the detached one's is itself.
    CHECK(::fstatat(plain.fd.get(), "../beside.txt", &above, 0) == 0);
    CHECK(::fstatat(detached.fd.get(), "../beside.txt", &above, 0) == -1);
    REQUIRE(::fstatat(detached.fd.get(), "..", &above, 0) == 0);
    CHECK((above.st_dev == itself.st_dev && above.st_ino == itself.st_ino));
    // Files made through it land in the granted directory.
    const int made = ::openat(detached.fd.get(), "made.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(made >= 0);
    if (made >= 0) ::close(made);
    CHECK(::access((granted + "/made.txt").c_str(), F_OK) == 0);
}

TEST_CASE("a connect grant is a socket the host connected", "[grants]") {
    TempDir dir;
    std::string path = dir.path() + "/api.sock";
    UniqueFd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener.get(), 4) == 0);
    GrantConfig grant;
    grant.name = "api";
    grant.kind = GrantKind::Connect;
    grant.path = path;
    OpenedGrant opened = open_grant(grant);
    UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(accepted.valid());
    REQUIRE(::send(opened.fd.get(), "hi", 2, 0) == 2);
    char buffer[4] = {};
    CHECK(::recv(accepted.get(), buffer, sizeof buffer, 0) == 2);
    CHECK(close_on_exec(opened));

    grant.path = dir.path() + "/nobody-listens.sock";
    REQUIRE_THROWS_WITH(open_grant(grant), Catch::Contains("grant 'api' (connect " + grant.path + ")") &&
                                               Catch::Contains("cannot connect"));
}

TEST_CASE("a memfd grant has the configured size, which the plugin cannot change", "[grants]") {
    GrantConfig grant;
    grant.name = "scratch";
    grant.kind = GrantKind::Memfd;
    grant.size = 1 << 20;
    OpenedGrant opened = open_grant(grant);
    struct stat status {};
    REQUIRE(::fstat(opened.fd.get(), &status) == 0);
    CHECK(status.st_size == 1 << 20);
    CHECK((status_flags(opened) & O_ACCMODE) == O_RDWR);
    CHECK(::ftruncate(opened.fd.get(), 10) == -1);
    CHECK(close_on_exec(opened));
}

TEST_CASE("open_grants names the failing grant and its config location", "[grants]") {
    GrantConfig grant = file_grant("/nonexistent/airlock/secret", GrantAccess::Read);
    grant.name = "journal";
    grant.where = {"demo.toml", 12, 3};
    REQUIRE_THROWS_WITH(open_grants({grant}), "grant 'journal' (file /nonexistent/airlock/secret) at demo.toml:12:3: "
                                              "cannot open: No such file or directory");
}

namespace {

// The first of `paths` that is a device of the wanted type (S_IFCHR or S_IFBLK), or "".
std::string present_device(std::initializer_list<const char*> paths, mode_t type) {
    for (const char* path : paths) {
        struct stat status{};
        if (::stat(path, &status) == 0 && (status.st_mode & S_IFMT) == type) return path;
    }
    return "";
}

} // namespace

TEST_CASE("a device grant is refused on the opened descriptor unless device = true", "[grants]") {
    // Checked on what was opened at every start, whatever the config loader saw.
    const std::string character = present_device({"/dev/fuse", "/dev/loop-control", "/dev/kmsg", "/dev/mem"}, S_IFCHR);
    const std::string block = present_device({"/dev/loop0", "/dev/loop1", "/dev/vda", "/dev/sda"}, S_IFBLK);
    if (character.empty()) WARN("NOT TESTED: no character device other than the plain memory devices here");
    if (block.empty()) WARN("NOT TESTED: no block device here");
    for (const auto& [path, what] : {std::pair{character, "character"}, std::pair{block, "block"}}) {
        if (path.empty()) continue;
        INFO(path);
        GrantConfig grant = file_grant(path, GrantAccess::Read);
        grant.name = "dev";
        REQUIRE_THROWS_WITH(open_grant(grant), "grant \"dev\": " + path + " is a " + what +
                                                   " device: its ioctls reach the driver and the filter cannot "
                                                   "limit them; set device = true (exec: --device) to grant it anyway");
        grant.device = true;
        OpenedGrant opened = open_grant(grant);
        struct stat status{};
        REQUIRE(::fstat(opened.fd.get(), &status) == 0);
        CHECK((status.st_mode & S_IFMT) == (std::string(what) == "block" ? S_IFBLK : S_IFCHR));
        CHECK(close_on_exec(opened));
    }
}

TEST_CASE("/dev/null, zero, full, random and urandom are granted without device = true", "[grants]") {
    for (const char* path : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}) {
        INFO(path);
        OpenedGrant opened = open_grant(file_grant(path, GrantAccess::ReadWrite));
        CHECK(opened.fd.get() >= 0);
    }
}
