#pragma once
/// @file grants.hpp
/// Typed handles for the capabilities (grants) the host hands a plugin.
///
/// A plugin starts with no ambient authority: everything it may touch arrives as a
/// pre-opened descriptor, named in the host's TOML config. `Plugin` turns each grant into
/// one of the handles below (`Plugin::read_only_file("input")`, `Plugin::directory("data")`,
/// ...), checking that the grant exists and is of the right kind. Each handle owns its own
/// descriptor (close-on-exec) and is move-only. Failures throw `PluginError`.

#include <airlock/connection/unique_fd.hpp>
#include <airlock/plugin/error.hpp>

#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::plugin {

/// A regular file granted with `access = "read"` (or `"read-write"`).
class ReadOnlyFile {
public:
    ReadOnlyFile(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
    /// The grant's name.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// The descriptor (owned by this handle).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The file's current size in bytes.
    [[nodiscard]] std::uint64_t size() const;
    /// The whole file (read with pread from offset 0; the descriptor's offset is unchanged).
    [[nodiscard]] std::string read_all() const;
    /// Up to `count` bytes from `offset` (fewer at the end of the file).
    [[nodiscard]] std::string read(std::uint64_t offset, std::size_t count) const;

private:
    std::string name_;
    UniqueFd fd_;
};

/// One entry of `Directory::list()`.
struct DirectoryEntry {
    std::string name;        ///< the entry's name (never "." or "..")
    bool is_directory = false;
    bool is_symlink = false;
};

/// A directory granted with `dir = "..."`: files beneath it can be opened, nothing outside.
///
/// `open()` resolves paths with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so the
/// kernel refuses any path that would leave the directory: `..` above it, absolute paths,
/// and symbolic links pointing outside. (Landlock enforces the same boundary a second time.)
class Directory {
public:
    Directory(std::string name, UniqueFd fd, bool writable)
        : name_(std::move(name)), fd_(std::move(fd)), writable_(writable) {}
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// The `O_DIRECTORY` descriptor (owned by this handle).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// True for `access = "read-write"` grants.
    [[nodiscard]] bool writable() const noexcept { return writable_; }
    /// Opens `relative_path` beneath the directory with `flags` (O_CLOEXEC is always added)
    /// and `mode` (for O_CREAT).
    /// @throws PluginError (InvalidArgument) for an absolute path or one that leaves the
    ///         directory; (System) for other failures such as a missing file.
    [[nodiscard]] UniqueFd open(std::string_view relative_path, int flags = O_RDONLY, mode_t mode = 0) const;
    /// The whole content of the regular file at `relative_path`.
    [[nodiscard]] std::string read_file(std::string_view relative_path) const;
    /// The entries of the directory (or of `relative_path` beneath it), sorted by name.
    [[nodiscard]] std::vector<DirectoryEntry> list(std::string_view relative_path = ".") const;

private:
    std::string name_;
    UniqueFd fd_;
    bool writable_;
};

/// A file granted with `access = "append"`: records can be added, history cannot be
/// rewritten (the descriptor is `O_WRONLY | O_APPEND`).
class AppendLog {
public:
    AppendLog(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// Appends `bytes` (all of them, retrying short writes).
    void append(std::span<const std::byte> bytes) const;
    /// Appends `text` as is (add your own newline).
    void append(std::string_view text) const { append(std::as_bytes(std::span(text.data(), text.size()))); }

private:
    std::string name_;
    UniqueFd fd_;
};

/// A UNIX-domain socket granted with `connect = "..."`, already connected by the host.
class ConnectedSocket {
public:
    ConnectedSocket(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// The connected socket (owned by this handle; use send/recv on it).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// Gives up ownership of the socket (e.g. to hand it to an I/O library).
    [[nodiscard]] UniqueFd release() noexcept { return std::move(fd_); }

private:
    std::string name_;
    UniqueFd fd_;
};

/// A memory mapping owned by the caller (munmap on destruction). Move-only.
class MappedMemory {
public:
    MappedMemory() noexcept = default;
    MappedMemory(void* address, std::size_t size, bool writable) noexcept
        : address_(address), size_(size), writable_(writable) {}
    MappedMemory(MappedMemory&& other) noexcept
        : address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0)),
          writable_(other.writable_) {}
    MappedMemory& operator=(MappedMemory&& other) noexcept;
    MappedMemory(const MappedMemory&) = delete;
    MappedMemory& operator=(const MappedMemory&) = delete;
    ~MappedMemory();

    /// The mapped bytes, read-only view.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
        return {static_cast<const std::byte*>(address_), size_};
    }
    /// The mapped bytes for writing. @throws PluginError when mapped read-only.
    [[nodiscard]] std::span<std::byte> writable_bytes() const;
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool writable() const noexcept { return writable_; }

private:
    void* address_ = nullptr;
    std::size_t size_ = 0;
    bool writable_ = false;
};

/// An anonymous shared-memory buffer granted with `memfd = "SIZE"` (a memfd of fixed size).
class SharedMemory {
public:
    SharedMemory(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    /// The buffer's size in bytes.
    [[nodiscard]] std::size_t size() const;
    /// True when the descriptor allows writing (opened read-write and not sealed against writes).
    [[nodiscard]] bool writable() const;
    /// Maps the whole buffer read-only.
    [[nodiscard]] MappedMemory map_read_only() const;
    /// Maps the whole buffer read-write. @throws PluginError (WrongGrantKind) when the
    /// descriptor does not allow writing.
    [[nodiscard]] MappedMemory map_read_write() const;

private:
    std::string name_;
    UniqueFd fd_;
};

} // namespace airlock::plugin
