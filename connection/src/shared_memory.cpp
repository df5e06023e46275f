#include "airlock/connection/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  // Linux 6.3; the headers here are older than the kernel
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace airlock {
namespace {

static_assert(kRequiredSeals == (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW));

constexpr int kSealedBufferSeals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
constexpr int kRegionSeals = F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

/// memfd_create with sealing allowed, no-exec where the kernel offers it.
Result<UniqueFd> create_memfd(const std::string& name) {
    int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
    if (fd < 0 && errno == EINVAL) fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return errno_status("memfd_create", errno);
    return UniqueFd(fd);
}

/// Maps `fd` shared. `populate` pre-faults every page in one call (MAP_POPULATE): for a buffer
/// that is about to be filled or read completely this is far cheaper than one fault per page.
Result<Mapping> map(int fd, std::size_t size, int protection, bool populate = false) {
    if (size == 0) return Mapping();
    void* address = ::mmap(nullptr, size, protection, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
    if (address == MAP_FAILED) return errno_status("mmap", errno);
    return Mapping(address, size);
}

Result<std::size_t> file_size(int fd) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) return errno_status("fstat", errno);
    if (!S_ISREG(info.st_mode))
        return Status(StatusCode::InvalidParameter, "descriptor " + std::to_string(fd) + " is not a memfd (not a regular file)");
    return static_cast<std::size_t>(info.st_size);
}

Result<int> get_seals(int fd) {
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0) {
        if (errno == EINVAL)
            return Status(StatusCode::InvalidParameter,
                          "descriptor " + std::to_string(fd) + " is not a sealable memfd (F_GET_SEALS: EINVAL)");
        return errno_status("fcntl(F_GET_SEALS)", errno);
    }
    return seals;
}

} // namespace

void Mapping::reset() noexcept {
    if (address_ != nullptr) ::munmap(address_, size_);
    address_ = nullptr;
    size_ = 0;
}

std::string describe_seals(int seals) {
    static constexpr std::pair<int, const char*> names[] = {
        {F_SEAL_SEAL, "F_SEAL_SEAL"},   {F_SEAL_SHRINK, "F_SEAL_SHRINK"},
        {F_SEAL_GROW, "F_SEAL_GROW"},   {F_SEAL_WRITE, "F_SEAL_WRITE"},
        {F_SEAL_FUTURE_WRITE, "F_SEAL_FUTURE_WRITE"}, {F_SEAL_EXEC, "F_SEAL_EXEC"},
    };
    std::string text;
    for (auto [bit, name] : names) {
        if ((seals & bit) == 0) continue;
        if (!text.empty()) text += '|';
        text += name;
    }
    return text.empty() ? "none" : text;
}

// --- SealedBuffer ----------------------------------------------------------------------------

Result<SealedBuffer> SealedBuffer::create(std::size_t size, const std::string& name) {
    if (size > static_cast<std::size_t>(INT64_MAX))
        return Status(StatusCode::TooLarge, "sealed buffer of " + std::to_string(size) + " bytes");
    Result<UniqueFd> fd = create_memfd(name);
    if (!fd) return fd.status();
    if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0)
        return errno_status("ftruncate of a new sealed buffer to " + std::to_string(size) + " bytes", errno);
    Result<Mapping> mapping = map(fd->get(), size, PROT_READ | PROT_WRITE, true);
    if (!mapping) return mapping.status().with_context("mapping a new sealed buffer writable");
    SealedBuffer buffer;
    buffer.fd_ = std::move(*fd);
    buffer.mapping_ = std::move(*mapping);
    buffer.size_ = size;
    return buffer;
}

Result<SealedBuffer> SealedBuffer::create_from(std::span<const std::uint8_t> bytes, const std::string& name) {
    if (bytes.size() > static_cast<std::size_t>(INT64_MAX))
        return Status(StatusCode::TooLarge, "sealed buffer of " + std::to_string(bytes.size()) + " bytes");
    Result<UniqueFd> fd = create_memfd(name);
    if (!fd) return fd.status();
    // The size first: one inode size update instead of one per write, and a failed write
    // cannot leave a shorter file behind unnoticed.
    if (::ftruncate(fd->get(), static_cast<off_t>(bytes.size())) != 0)
        return errno_status("ftruncate of a new sealed buffer to " + std::to_string(bytes.size()) + " bytes", errno);
    for (std::size_t written = 0; written < bytes.size();) {
        ssize_t n = ::pwrite(fd->get(), bytes.data() + written, bytes.size() - written, static_cast<off_t>(written));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_status("writing a new sealed buffer", n < 0 ? errno : EIO);
        written += static_cast<std::size_t>(n);
    }
    if (::fcntl(fd->get(), F_ADD_SEALS, kSealedBufferSeals) != 0)
        return errno_status("fcntl(F_ADD_SEALS, " + describe_seals(kSealedBufferSeals) + ")", errno);
    // Mapped for bytes(), but not populated: a sender that never reads it back pays nothing.
    Result<Mapping> read_only = map(fd->get(), bytes.size(), PROT_READ);
    if (!read_only) return read_only.status().with_context("mapping a sealed buffer read-only");
    SealedBuffer buffer;
    buffer.fd_ = std::move(*fd);
    buffer.mapping_ = std::move(*read_only);
    buffer.size_ = bytes.size();
    buffer.sealed_ = true;
    return buffer;
}

Status SealedBuffer::seal() {
    if (!fd_) return Status(StatusCode::InvalidState, "seal: the buffer holds no memfd");
    if (sealed_) return Status(StatusCode::InvalidState, "seal: the buffer is already sealed");
    mapping_.reset();  // F_SEAL_WRITE is refused (EBUSY) while a writable shared mapping exists
    if (::fcntl(fd_.get(), F_ADD_SEALS, kSealedBufferSeals) != 0) {
        int error = errno;
        // Put the writable mapping back so the object stays usable as before the call.
        if (Result<Mapping> again = map(fd_.get(), size_, PROT_READ | PROT_WRITE); again) mapping_ = std::move(*again);
        return errno_status("fcntl(F_ADD_SEALS, " + describe_seals(kSealedBufferSeals) + ")", error);
    }
    sealed_ = true;
    Result<Mapping> read_only = map(fd_.get(), size_, PROT_READ);
    if (!read_only) return read_only.status().with_context("mapping a sealed buffer read-only");
    mapping_ = std::move(*read_only);
    return {};
}

Result<UniqueFd> SealedBuffer::share() const {
    if (!sealed_) return Status(StatusCode::InvalidState, "share: seal the buffer first (a receiver refuses an unsealed one)");
    int copy = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 3);
    if (copy < 0) return errno_status("fcntl(F_DUPFD_CLOEXEC)", errno);
    return UniqueFd(copy);
}

Result<SealedBuffer> SealedBuffer::adopt_verified(UniqueFd fd, std::size_t max_size) {
    if (!fd) return Status(StatusCode::InvalidParameter, "adopt_verified: no descriptor (a sealed buffer was expected)");
    Result<std::size_t> size = file_size(fd.get());
    if (!size) return size.status();
    Result<int> seals = get_seals(fd.get());
    if (!seals) return seals.status();
    if ((*seals & kRequiredSeals) != kRequiredSeals)
        return Status(StatusCode::PermissionDenied,
                      "refusing a shared-memory buffer that is not sealed: it has seals " + describe_seals(*seals) +
                          ", missing " + describe_seals(kRequiredSeals & ~*seals) +
                          " (the sender must call SealedBuffer::seal before sending it)");
    if (*size > max_size)
        return Status(StatusCode::TooLarge, "sealed buffer of " + std::to_string(*size) + " bytes exceeds the limit of " +
                                                std::to_string(max_size));
    Result<Mapping> mapping = map(fd.get(), *size, PROT_READ, true);
    if (!mapping) return mapping.status().with_context("mapping a received sealed buffer");
    SealedBuffer buffer;
    buffer.fd_ = std::move(fd);
    buffer.mapping_ = std::move(*mapping);
    buffer.size_ = *size;
    buffer.sealed_ = true;
    return buffer;
}

// --- SharedRegion ----------------------------------------------------------------------------

Result<SharedRegion> SharedRegion::create(std::size_t size, const std::string& name) {
    if (size == 0) return Status(StatusCode::InvalidParameter, "a shared region needs a size above 0");
    if (size > static_cast<std::size_t>(INT64_MAX))
        return Status(StatusCode::TooLarge, "shared region of " + std::to_string(size) + " bytes");
    Result<UniqueFd> fd = create_memfd(name);
    if (!fd) return fd.status();
    if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0)
        return errno_status("ftruncate of a new shared region to " + std::to_string(size) + " bytes", errno);
    Result<Mapping> mapping = map(fd->get(), size, PROT_READ | PROT_WRITE);
    if (!mapping) return mapping.status().with_context("mapping a new shared region writable");
    // The writer's mapping exists now; from here on nobody can add a writable mapping, write(),
    // shrink or grow it — whatever descriptor a reader manages to obtain.
    if (::fcntl(fd->get(), F_ADD_SEALS, kRegionSeals) != 0)
        return errno_status("fcntl(F_ADD_SEALS, " + describe_seals(kRegionSeals) + ")", errno);
    SharedRegion region;
    region.fd_ = std::move(*fd);
    region.mapping_ = std::move(*mapping);
    region.writer_ = true;
    return region;
}

Result<UniqueFd> SharedRegion::read_only_fd() const {
    if (!writer_ || !fd_) return Status(StatusCode::InvalidState, "read_only_fd: only the writer of a region hands it out");
    std::string path = "/proc/self/fd/" + std::to_string(fd_.get());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("re-opening the shared region read-only (open " + path + ")", errno);
    return UniqueFd(fd);
}

Result<SharedRegion> SharedRegion::map_read_only(UniqueFd fd) {
    if (!fd) return Status(StatusCode::InvalidParameter, "map_read_only: no descriptor (a shared region was expected)");
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0) return errno_status("fcntl(F_GETFL)", errno);
    if ((flags & O_ACCMODE) != O_RDONLY)
        return Status(StatusCode::InvalidParameter,
                      "map_read_only: the descriptor is open for writing; a reader must get one from read_only_fd()");
    Result<std::size_t> size = file_size(fd.get());
    if (!size) return size.status();
    Result<int> seals = get_seals(fd.get());
    if (!seals) return seals.status();
    if ((*seals & F_SEAL_SHRINK) == 0)
        return Status(StatusCode::PermissionDenied,
                      "map_read_only: the region is not sealed against shrinking (F_SEAL_SHRINK), so reading it could "
                      "fault; it has seals " + describe_seals(*seals));
    if (*size == 0) return Status(StatusCode::InvalidParameter, "map_read_only: the region is empty");
    Result<Mapping> mapping = map(fd.get(), *size, PROT_READ);
    if (!mapping) return mapping.status().with_context("mapping a shared region read-only");
    SharedRegion region;
    region.fd_ = std::move(fd);
    region.mapping_ = std::move(*mapping);
    region.writer_ = false;
    return region;
}

} // namespace airlock
