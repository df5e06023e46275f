// Typed grant handles: read-only files, directories (openat2 beneath), append-only logs,
// connected sockets and shared memory.
#include <airlock/plugin/grants.hpp>

#include <dirent.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace airlock::plugin {
namespace {

[[noreturn]] void system_error(const std::string& what, int error_number) {
    throw PluginError(PluginErrorKind::System, what + ": " + std::strerror(error_number));
}

std::string read_range(int fd, std::uint64_t offset, std::size_t count, const std::string& what) {
    std::string text;
    char buffer[65536];
    while (text.size() < count) {
        const std::size_t want = std::min(sizeof buffer, count - text.size());
        ssize_t got = ::pread(fd, buffer, want, static_cast<off_t>(offset + text.size()));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) system_error("cannot read " + what, errno);
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

std::uint64_t file_size(int fd, const std::string& what) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) system_error("cannot stat " + what, errno);
    return static_cast<std::uint64_t>(info.st_size);
}

} // namespace

// --- ReadOnlyFile ----------------------------------------------------------------------------

std::uint64_t ReadOnlyFile::size() const { return file_size(fd_.get(), "grant \"" + name_ + "\""); }

std::string ReadOnlyFile::read_all() const {
    return read_range(fd_.get(), 0, static_cast<std::size_t>(-1), "grant \"" + name_ + "\"");
}

std::string ReadOnlyFile::read(std::uint64_t offset, std::size_t count) const {
    return read_range(fd_.get(), offset, count, "grant \"" + name_ + "\"");
}

// --- Directory -------------------------------------------------------------------------------

UniqueFd Directory::open(std::string_view relative_path, int flags, mode_t mode) const {
    const std::string path(relative_path);
    const std::string where = "\"" + path + "\" in directory grant \"" + name_ + "\"";
    if (path.empty()) throw PluginError(PluginErrorKind::InvalidArgument, "cannot open an empty path in directory grant \"" + name_ + "\"");
    if (path.front() == '/') {
        throw PluginError(PluginErrorKind::InvalidArgument,
                          "cannot open " + where + ": absolute paths are refused; give a path relative to the granted directory");
    }
    if (path.find('\0') != std::string::npos) {
        throw PluginError(PluginErrorKind::InvalidArgument, "cannot open a path containing NUL in directory grant \"" + name_ + "\"");
    }
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
        fd = ::syscall(SYS_openat2, fd_.get(), path.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const int error = errno;
        if (error == EXDEV) {
            throw PluginError(PluginErrorKind::InvalidArgument,
                              "cannot open " + where + ": the path leaves the granted directory (through \"..\" or a symbolic link pointing outside)");
        }
        if (error == ELOOP) {
            throw PluginError(PluginErrorKind::InvalidArgument,
                              "cannot open " + where + ": it resolves through a /proc magic link or too many symbolic links");
        }
        if (error == ENOSYS) {
            throw PluginError(PluginErrorKind::System,
                              "cannot open " + where + ": this kernel has no openat2 (Linux 5.6 or later is needed)");
        }
        system_error("cannot open " + where, error);
    }
    return UniqueFd(static_cast<int>(fd));
}

std::string Directory::read_file(std::string_view relative_path) const {
    UniqueFd file = open(relative_path, O_RDONLY);
    return read_range(file.get(), 0, static_cast<std::size_t>(-1), "\"" + std::string(relative_path) + "\" in directory grant \"" + name_ + "\"");
}

std::vector<DirectoryEntry> Directory::list(std::string_view relative_path) const {
    // A fresh open file description: listing does not move the grant's own offset.
    UniqueFd listing = open(relative_path, O_RDONLY | O_DIRECTORY);
    DIR* stream = ::fdopendir(listing.get());
    if (stream == nullptr) system_error("cannot list \"" + std::string(relative_path) + "\" in directory grant \"" + name_ + "\"", errno);
    (void)listing.release();  // owned by the stream now
    std::vector<DirectoryEntry> entries;
    errno = 0;
    while (dirent* entry = ::readdir(stream)) {
        std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        bool is_directory = entry->d_type == DT_DIR;
        bool is_symlink = entry->d_type == DT_LNK;
        if (entry->d_type == DT_UNKNOWN) {
            struct stat info {};
            if (::fstatat(::dirfd(stream), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0) {
                is_directory = S_ISDIR(info.st_mode);
                is_symlink = S_ISLNK(info.st_mode);
            }
        }
        entries.push_back(DirectoryEntry{std::move(name), is_directory, is_symlink});
    }
    const int error = errno;
    ::closedir(stream);
    if (error != 0) system_error("cannot list \"" + std::string(relative_path) + "\" in directory grant \"" + name_ + "\"", error);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return entries;
}

// --- AppendLog -------------------------------------------------------------------------------

void AppendLog::append(std::span<const std::byte> bytes) const {
    const std::byte* data = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        ssize_t written = ::write(fd_.get(), data, left);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0) system_error("cannot append to grant \"" + name_ + "\"", errno);
        data += written;
        left -= static_cast<std::size_t>(written);
    }
}

// --- MappedMemory / SharedMemory -------------------------------------------------------------

MappedMemory& MappedMemory::operator=(MappedMemory&& other) noexcept {
    if (this != &other) {
        if (address_ != nullptr) ::munmap(address_, size_);
        address_ = std::exchange(other.address_, nullptr);
        size_ = std::exchange(other.size_, 0);
        writable_ = other.writable_;
    }
    return *this;
}

MappedMemory::~MappedMemory() {
    if (address_ != nullptr) ::munmap(address_, size_);
}

std::span<std::byte> MappedMemory::writable_bytes() const {
    if (!writable_) throw PluginError(PluginErrorKind::InvalidArgument, "this mapping is read-only");
    return {static_cast<std::byte*>(address_), size_};
}

std::size_t SharedMemory::size() const {
    return static_cast<std::size_t>(file_size(fd_.get(), "shared-memory grant \"" + name_ + "\""));
}

bool SharedMemory::writable() const {
    const int flags = ::fcntl(fd_.get(), F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) != O_RDWR) return false;
    const int seals = ::fcntl(fd_.get(), F_GET_SEALS);
    return seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) == 0;
}

MappedMemory SharedMemory::map_read_only() const {
    const std::size_t bytes = size();
    if (bytes == 0) return {};
    void* address = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd_.get(), 0);
    if (address == MAP_FAILED) system_error("cannot map shared-memory grant \"" + name_ + "\" read-only", errno);
    return MappedMemory(address, bytes, false);
}

MappedMemory SharedMemory::map_read_write() const {
    if (!writable()) {
        throw PluginError(PluginErrorKind::WrongGrantKind,
                          "shared-memory grant \"" + name_ + "\" is read-only (its descriptor or seals refuse writes); use map_read_only()");
    }
    const std::size_t bytes = size();
    if (bytes == 0) return {};
    void* address = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (address == MAP_FAILED) system_error("cannot map shared-memory grant \"" + name_ + "\" read-write", errno);
    return MappedMemory(address, bytes, true);
}

} // namespace airlock::plugin
