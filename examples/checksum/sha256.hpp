#pragma once
// SHA-256 (FIPS 180-4), small and dependency-free: update() any number of times, then finish().
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace checksum {

class Sha256 {
public:
    Sha256();
    void update(std::span<const std::uint8_t> bytes);
    /// The digest; the object must not be updated afterwards.
    std::array<std::uint8_t, 32> finish();
    /// The digest as 64 lowercase hex digits.
    static std::string hex(const std::array<std::uint8_t, 32>& digest);

private:
    void compress(const std::uint8_t* block);
    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

} // namespace checksum
