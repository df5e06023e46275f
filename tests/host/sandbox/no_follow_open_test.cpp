// open_no_follow() and the path rules around it, on the real file system.
#include "sandbox_test_support.hpp"

#include <airlock/host/launch_lstat_answers.hpp>
#include <airlock/host/no_follow_open.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

using namespace airlock::host;
using namespace airlock::host::test;

TEST_CASE("open_no_follow opens real paths and checks their type on the descriptor", "[links]") {
    TempDir dir;
    const std::string file = dir.write_file("file", "text");
    auto opened = open_no_follow(file, O_RDONLY, 0, ExpectedType::RegularFile, "rule");
    REQUIRE(opened.ok());
    CHECK(S_ISREG(opened->status.st_mode));
    CHECK((::fcntl(opened->fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(open_no_follow(dir.path().string(), O_PATH, 0, ExpectedType::Directory, "rule").ok());
    CHECK(open_no_follow(dir.path().string(), O_PATH, 0, ExpectedType::Socket, "rule").status().message() ==
          dir.path().string() + " is a directory, not a socket");
    int error = 0;
    auto missing = open_no_follow(file + ".missing", O_RDONLY, 0, ExpectedType::RegularFile, "rule", &error);
    CHECK(missing.status().code() == airlock::StatusCode::NotFound);
    CHECK(error == ENOENT);
}

TEST_CASE("open_no_follow refuses a link in any component, and magic links", "[links]") {
    TempDir dir;
    const std::string file = dir.write_file("file", "text");
    const std::string link = (dir.path() / "link").string();
    const std::string dir_link = (dir.path() / "dirlink").string();
    REQUIRE(::symlink(file.c_str(), link.c_str()) == 0);
    REQUIRE(::symlink(dir.path().c_str(), dir_link.c_str()) == 0);
    for (int flags : {O_RDONLY, O_PATH, O_WRONLY | O_CREAT, O_DIRECTORY | O_RDONLY}) {
        INFO("flags " << flags);
        auto refused = open_no_follow(link, flags, 0600, ExpectedType::Any, "links are refused");
        CHECK(refused.status().code() == airlock::StatusCode::PermissionDenied);
        CHECK(refused.status().message() == link + " is a symbolic link; links are refused");
    }
    CHECK(open_no_follow(dir_link + "/file", O_RDONLY, 0, ExpectedType::RegularFile, "no").status().message() ==
          dir_link + "/file lies under a symbolic link (" + dir_link + "); no");
    // /proc/self is a link, and /proc/thread-self/fd/N a magic one: neither is followed.
    auto fd = open_no_follow(file, O_RDONLY, 0, ExpectedType::RegularFile, "no");
    REQUIRE(fd.ok());
    const std::string magic = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd->fd.get());
    CHECK(open_no_follow(magic, O_RDONLY, 0, ExpectedType::RegularFile, "no").status().code() ==
          airlock::StatusCode::PermissionDenied);
    CHECK(open_no_follow("/proc/self/exe", O_PATH, 0, ExpectedType::RegularFile, "no").status().code() ==
          airlock::StatusCode::PermissionDenied);
}

TEST_CASE("path_is_within compares whole components, resolve_trusted_path refuses writable dirs", "[links]") {
    CHECK(path_is_within("/srv/work", "/srv/work"));
    CHECK(path_is_within("/srv/work/a/b", "/srv/work"));
    CHECK_FALSE(path_is_within("/srv/workshop", "/srv/work"));
    CHECK_FALSE(path_is_within("/srv", "/srv/work"));
    CHECK(path_is_within("/anything", "/"));

    const std::string real = std::filesystem::canonical("/lib64/ld-linux-x86-64.so.2").string();
    auto resolved = resolve_trusted_path("/lib64/ld-linux-x86-64.so.2", {"/srv/work"});
    REQUIRE(resolved.ok());
    CHECK(*resolved == real);
    // Resolving into a writable directory is refused, as is a name inside one.
    auto into = resolve_trusted_path("/lib64/ld-linux-x86-64.so.2", {"/usr"});
    CHECK(into.status().message() == "/lib64/ld-linux-x86-64.so.2 (" + real +
                                         ") lies inside the plugin-writable directory /usr; a path a plugin "
                                         "can change is never resolved through links");
    CHECK(resolve_trusted_path("/lib64/ld-linux-x86-64.so.2", {"/lib64"}).status().code() ==
          airlock::StatusCode::PermissionDenied);
    CHECK(resolve_trusted_path("/does/not/exist", {}).status().code() == airlock::StatusCode::NotFound);
}

TEST_CASE("resolve_trusted_path resolves links as realpath does: relative, absolute, chained, with . and ..", "[links]") {
    TempDir dir;
    const std::string root = std::filesystem::canonical(dir.path()).string();
    std::filesystem::create_directories(root + "/real/sub");
    const std::string file = dir.write_file("real/sub/file", "text");
    std::filesystem::create_directory_symlink("real", root + "/relative");            // relative link
    std::filesystem::create_directory_symlink(root + "/real/sub", root + "/absolute");  // absolute link
    std::filesystem::create_symlink("../relative/sub/file", root + "/real/chained");     // a link to a link
    for (const std::string& path :
         {root + "/relative/sub/file", root + "/absolute/file", root + "/real/chained", root + "/real/./sub/../sub/file",
          root + "/absolute/..", root + "/relative/.", root + "/relative", std::string("/")}) {
        INFO(path);
        struct stat walked {};
        auto resolved = resolve_trusted_path(path, {}, &walked);
        REQUIRE(resolved.ok());
        CHECK(*resolved == std::filesystem::canonical(path).string());
        // The walk's answer for where it ended is what an lstat of the result gives.
        struct stat direct {};
        REQUIRE(::lstat(resolved->c_str(), &direct) == 0);
        CHECK(walked.st_dev == direct.st_dev);
        CHECK(walked.st_ino == direct.st_ino);
        CHECK(walked.st_mode == direct.st_mode);
    }
    CHECK(resolve_trusted_path(root + "/absolute/missing", {}).status().code() == airlock::StatusCode::NotFound);
}

TEST_CASE("launch_lstat asks each path once while a LaunchLstatAnswers lives, and afresh after it", "[links]") {
    TempDir dir;
    const std::string root = std::filesystem::canonical(dir.path()).string();
    const std::string file = dir.write_file("file", "text");
    const std::string missing = root + "/missing";
    struct stat before {};
    struct stat now {};
    REQUIRE(launch_lstat(file, &before) == 0);
    {
        LaunchLstatAnswers answers;
        REQUIRE(launch_lstat(file, &now) == 0);
        CHECK(now.st_ino == before.st_ino);
        errno = 0;
        CHECK(launch_lstat(missing, &now) == -1);
        CHECK(errno == ENOENT);
        // Changed after they were asked: the same answers, errors included, until the scope ends.
        std::filesystem::rename(file, missing);
        dir.write_file("file", "other");
        {
            LaunchLstatAnswers nested;  // shares the outer answers
            REQUIRE(launch_lstat(file, &now) == 0);
            CHECK(now.st_ino == before.st_ino);
        }
        CHECK(launch_lstat(missing, &now) == -1);
        CHECK(launch_lstat(file, &now) == 0);
        CHECK(now.st_ino == before.st_ino);
    }
    // Without one, every call asks the kernel.
    REQUIRE(launch_lstat(file, &now) == 0);
    CHECK(now.st_ino != before.st_ino);
    REQUIRE(launch_lstat(missing, &now) == 0);
    CHECK(now.st_ino == before.st_ino);
}
