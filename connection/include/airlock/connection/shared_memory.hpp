#pragma once
/// @file shared_memory.hpp
/// Shared memory for bulk data between host and plugin: sealed one-shot buffers and reusable
/// read-only regions.
///
/// Trust and speed pull apart, so there are two kinds:
///
/// - **SealedBuffer** — for data the receiver must trust not to change after it has validated
///   it. The sender creates a memfd, fills it through a writable mapping, unmaps that mapping
///   and seals it (`F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`). The descriptor
///   travels as a `UniqueFd` message member. The receiver calls `SealedBuffer::adopt_verified`,
///   which refuses any descriptor that is not a memfd carrying the required seals, then maps it
///   read-only. After that, nobody — not even the sender — can change, shrink or grow the bytes,
///   so validate-then-use is safe (no time-of-check/time-of-use race) and no SIGBUS can come
///   from a shrinking file. Cost: fresh pages for every transfer (a sealed file can never be
///   written again, so its pages cannot be pooled). `create_from` is the fast way to make one
///   from bytes you already have: it writes them with pwrite (no page zeroing, no writable
///   mapping to build and tear down before sealing) — see docs/connection.md for measurements.
///
/// - **SharedRegion** — for throughput. The writer creates the region once and keeps a
///   writable mapping; the reader gets a descriptor *re-opened read-only*
///   (`open("/proc/self/fd/N", O_RDONLY)`), i.e. an open file description that can never be
///   mapped writable (`mmap(PROT_WRITE, MAP_SHARED)` → EACCES) or written. The region is also
///   sealed with `F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL` once the
///   writer's mapping exists, so even a reader that re-opens its descriptor read-write (through
///   /proc, if the sandbox left that open) cannot write, and its mapping can never be truncated
///   under it. An untrusted plugin can thus read host data at memory speed but never change it.
///
/// The reverse direction: **data a plugin writes for the host must never be trusted in
/// place.** A region the plugin can write may change at any moment, including between the
/// host's check and its use. The host either copies the bytes out of the shared mapping into
/// its own memory *before* validating them (one pass, validate the copy), or asks the plugin
/// for a SealedBuffer and adopts it with `adopt_verified` (then the bytes are frozen and can be
/// used in place). Never parse, index or dereference lengths/offsets read from plugin-writable
/// shared memory without copying them first.
///
/// Both classes report errors as `Status`/`Result` like the rest of the connection library,
/// own their descriptors and mappings (RAII) and are move-only.

#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

namespace airlock {

/// An owned memory mapping (munmap on destruction). Empty when size is 0.
class Mapping {
public:
    Mapping() noexcept = default;
    Mapping(void* address, std::size_t size) noexcept : address_(address), size_(size) {}
    Mapping(Mapping&& other) noexcept
        : address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    Mapping& operator=(Mapping&& other) noexcept {
        if (this != &other) {
            reset();
            address_ = std::exchange(other.address_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { reset(); }

    [[nodiscard]] std::uint8_t* data() const noexcept { return static_cast<std::uint8_t*>(address_); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// Unmaps (if mapped).
    void reset() noexcept;

private:
    void* address_ = nullptr;
    std::size_t size_ = 0;
};

/// The seals a receiver requires before it trusts a sealed buffer: no writes (through any
/// descriptor or mapping), no shrinking, no growing. (`F_SEAL_SEAL` is applied by `seal()` too,
/// but is not needed for the receiver's trust: adding more seals can only restrict further.)
inline constexpr int kRequiredSeals = 0x0008 /*F_SEAL_WRITE*/ | 0x0002 /*F_SEAL_SHRINK*/ | 0x0004 /*F_SEAL_GROW*/;

/// A memfd-backed buffer that is filled once, sealed, sent as a descriptor, and verified by
/// the receiver.
///
/// Sender, with the bytes at hand (the fast path):
/// @code
/// auto buffer = airlock::SealedBuffer::create_from(bytes);   // filled and sealed
/// if (!buffer) return buffer.status();
/// request.data = buffer->share().value();
/// @endcode
/// Sender, producing the bytes in place:
/// @code
/// auto buffer = airlock::SealedBuffer::create(size);
/// if (!buffer) return buffer.status();
/// std::memcpy(buffer->writable().data(), source, size);
/// if (auto s = buffer->seal(); !s.ok()) return s;
/// request.data = buffer->share().value();   // a UniqueFd member of the request
/// @endcode
/// Receiver:
/// @code
/// auto buffer = airlock::SealedBuffer::adopt_verified(std::move(request.data));
/// if (!buffer) return buffer.status();       // unsealed, wrong kind, too large, ...
/// use(buffer->bytes());                      // cannot change any more
/// @endcode
class SealedBuffer {
public:
    SealedBuffer() = default;
    SealedBuffer(SealedBuffer&&) noexcept = default;
    SealedBuffer& operator=(SealedBuffer&&) noexcept = default;

    /// A new, unsealed, zero-filled buffer of `size` bytes mapped writable.
    /// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL)`, falling back to
    /// no MFD_NOEXEC_SEAL on kernels that do not offer it (EINVAL).
    static Result<SealedBuffer> create(std::size_t size, const std::string& name = "airlock-sealed");

    /// A sealed buffer holding a copy of `bytes`, ready to share. The bytes are written into
    /// the memfd with pwrite: the pages are allocated as they are filled (never zeroed first)
    /// and no writable mapping exists, so sealing needs no unmap. Much cheaper than
    /// create + memcpy + seal when the data already exists in memory.
    static Result<SealedBuffer> create_from(std::span<const std::uint8_t> bytes,
                                            const std::string& name = "airlock-sealed");

    /// Receiver side: takes `fd`, verifies it is a memfd (sealable) whose seals include
    /// kRequiredSeals and whose size is at most `max_size`, and maps it read-only.
    /// PermissionDenied for a buffer missing seals (the message names the missing ones),
    /// InvalidParameter for something that is not a sealable memfd, TooLarge beyond max_size.
    static Result<SealedBuffer> adopt_verified(UniqueFd fd, std::size_t max_size = SIZE_MAX);

    /// The writable bytes before sealing; empty once sealed (or for a size-0 buffer).
    [[nodiscard]] std::span<std::uint8_t> writable() noexcept {
        return sealed_ ? std::span<std::uint8_t>{} : std::span<std::uint8_t>(mapping_.data(), mapping_.size());
    }
    /// The bytes (read-only view). Valid before and after sealing.
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {mapping_.data(), mapping_.size()}; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool sealed() const noexcept { return sealed_; }
    /// The memfd (still owned by this object).
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

    /// Unmaps the writable mapping (F_SEAL_WRITE fails with EBUSY while one exists), applies
    /// F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, and maps the bytes read-only
    /// again. InvalidState if already sealed or empty (moved-from).
    Status seal();

    /// A close-on-exec duplicate of the descriptor, to put in a message. InvalidState unless
    /// sealed: an unsealed buffer would be refused by the receiver anyway.
    [[nodiscard]] Result<UniqueFd> share() const;

private:
    UniqueFd fd_;
    Mapping mapping_;
    std::size_t size_ = 0;
    bool sealed_ = false;
};

/// A reusable shared region: one writer with a writable mapping, readers that can only read.
///
/// Writer (host):
/// @code
/// auto region = airlock::SharedRegion::create(64 << 20);
/// request.region = region->read_only_fd().value();  // send once
/// // then, many times: write into region->writable(), tell the reader which range is ready
/// @endcode
/// Reader (plugin):
/// @code
/// auto region = airlock::SharedRegion::map_read_only(std::move(request.region));
/// consume(region->bytes().subspan(offset, length));
/// @endcode
/// The region carries no synchronisation of its own: the two sides agree over their
/// connection which ranges are ready (e.g. "range [o, o+n) filled" / "range consumed").
class SharedRegion {
public:
    SharedRegion() = default;
    SharedRegion(SharedRegion&&) noexcept = default;
    SharedRegion& operator=(SharedRegion&&) noexcept = default;

    /// Writer side: a zero-filled region of `size` bytes (> 0) mapped writable, sealed against
    /// resizing and against any later writable mapping or write() (F_SEAL_FUTURE_WRITE), so
    /// only this mapping can change it.
    static Result<SharedRegion> create(std::size_t size, const std::string& name = "airlock-region");

    /// Reader side: maps `fd` read-only (MAP_SHARED, so the writer's later changes are seen).
    /// Refuses a descriptor that is open for writing (InvalidParameter): a reader is only ever
    /// given a read-only one.
    static Result<SharedRegion> map_read_only(UniqueFd fd);

    /// A read-only, close-on-exec descriptor of the region for the reader: a fresh open file
    /// description via `open("/proc/self/fd/N", O_RDONLY)`. Writer side only.
    [[nodiscard]] Result<UniqueFd> read_only_fd() const;

    /// The writable bytes (writer side); empty on the reader side.
    [[nodiscard]] std::span<std::uint8_t> writable() noexcept {
        return writer_ ? std::span<std::uint8_t>(mapping_.data(), mapping_.size()) : std::span<std::uint8_t>{};
    }
    /// The bytes (read-only view), on both sides.
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {mapping_.data(), mapping_.size()}; }
    [[nodiscard]] std::size_t size() const noexcept { return mapping_.size(); }
    [[nodiscard]] bool is_writer() const noexcept { return writer_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
    UniqueFd fd_;
    Mapping mapping_;
    bool writer_ = false;
};

/// Names of the seals set in `seals`, e.g. "F_SEAL_WRITE|F_SEAL_GROW" ("none" for 0).
std::string describe_seals(int seals);

} // namespace airlock
