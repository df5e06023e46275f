#pragma once
// A temporary directory for tests whose plugins run as another user (nobody as root), and
// reading a file whole. Shared by the spawner and SDK tests.

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

namespace airlock::test_support {

/// The content of the file at `path`; empty when it cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A directory below /tmp, removed with its content at scope exit. It is world-readable and
/// its files are 0644 unless told otherwise, so a plugin running as nobody can use what the
/// test grants it.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/airlock-test-XXXXXX";
        if (::mkdtemp(pattern) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = pattern;
        ::chmod(path_.c_str(), 0755);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    // Not std::filesystem::remove_all: <filesystem> brings std::quoted, which ADL would pick
    // over test_support::quoted for a non-const std::string argument.
    ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }

    const std::string& path() const { return path_; }
    /// Makes the directory `name` (relative to this one) with exactly `mode`; its full path.
    /// @throws std::system_error when it cannot be made (e.g. it exists).
    std::string dir(const std::string& name, mode_t mode = 0755) const {
        std::string full = path_ + "/" + name;
        if (::mkdir(full.c_str(), mode) != 0) throw std::system_error(errno, std::generic_category(), "mkdir " + full);
        ::chmod(full.c_str(), mode);  // not narrowed by the umask
        return full;
    }
    /// Writes `content` to `name` (relative to the directory) and returns its full path.
    std::string file(const std::string& name, const std::string& content, mode_t mode = 0644) const {
        std::string full = path_ + "/" + name;
        std::ofstream(full, std::ios::binary) << content;
        ::chmod(full.c_str(), mode);
        return full;
    }
    /// The content of `name` (relative to the directory).
    std::string read(const std::string& name) const { return read_file(path_ + "/" + name); }

private:
    std::string path_;
};

} // namespace airlock::test_support
