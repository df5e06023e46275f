#pragma once
// Temporary directories and one-line error capture for the config tests.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "airlock/host/config_loader.hpp"

namespace airlock::host::test {

/// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/airlock-config-test-XXXXXX";
        if (mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// Writes `content` to `relative` (parents created) with `mode`; returns the absolute path.
    std::string write(const std::string& relative, std::string_view content, mode_t mode = 0644) const {
        const auto file = path_ / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << content;
        ::chmod(file.c_str(), mode);
        return file.string();
    }

    /// Creates directory `relative`; returns the absolute path.
    std::string mkdir(const std::string& relative) const {
        const auto dir = path_ / relative;
        std::filesystem::create_directories(dir);
        return dir.string();
    }

private:
    std::filesystem::path path_;
};

/// The ConfigError text for `text`, or "no error" if it loads.
inline std::string error_of(std::string_view text, std::string_view path = "demo.toml") {
    try {
        load_config_text(text, path);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "no error";
}

} // namespace airlock::host::test
