#pragma once
// Reading a fuzz input as a sequence of parts, shared by the fuzz targets and the seed
// generator (which writes inputs in the same layout). Header-only, no dependencies.
//
// A part is either taken literally or, when it starts with a recipe byte, expanded:
//   0xFE count:u24 head_length:u16 head unit_length:u16 unit tail
//        -> head, then unit repeated `count` times, then tail
//   0xFD (same layout) -> the same, every '$' in the unit replaced by the copy's index in
//        decimal (e.g. unique JSON member names)
// Recipes let a short input stand for a large one, so costs that grow with the size of a
// message (quadratic loops, allocations proportional to a length field) are within reach of
// libFuzzer's -max_len. Expansion stops at kMaxExpandedSize, 64 KiB: large enough that a
// cost quadratic in the size takes seconds under ASan, small enough that linear work on it
// stays far below the 1 s timeout even on a busy machine (the timeout is wall-clock time).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::fuzz {

inline constexpr std::size_t kMaxExpandedSize = 64u << 10;
inline constexpr std::uint8_t kRepeatRecipe = 0xFE;
inline constexpr std::uint8_t kNumberedRecipe = 0xFD;

/// Consumes fixed-width little-endian integers and length-prefixed parts from the front.
/// Reading past the end yields zeros / empty parts (the input simply ends there).
class InputReader {
public:
    explicit InputReader(std::span<const std::uint8_t> data) : data_(data) {}
    InputReader(const std::uint8_t* data, std::size_t size) : data_(data, size) {}

    std::uint64_t uint(std::size_t width) {
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < width && at_ < data_.size(); ++i) value |= std::uint64_t(data_[at_++]) << (8 * i);
        return value;
    }
    std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
    /// The next `size` bytes (fewer at the end of the input).
    std::span<const std::uint8_t> bytes(std::size_t size) {
        std::size_t take = std::min(size, data_.size() - at_);
        auto out = data_.subspan(at_, take);
        at_ += take;
        return out;
    }
    /// A part prefixed by its u32 length.
    std::span<const std::uint8_t> part() { return bytes(u32()); }
    /// Everything not read yet.
    std::span<const std::uint8_t> rest() { return bytes(data_.size() - at_); }
    [[nodiscard]] bool empty() const { return at_ >= data_.size(); }

private:
    std::span<const std::uint8_t> data_;
    std::size_t at_ = 0;
};

/// `part` itself, or its expansion when it is a recipe (see the file comment), at most
/// `max_size` bytes (a target may allow more than kMaxExpandedSize when its costs need it).
inline std::vector<std::uint8_t> expand(std::span<const std::uint8_t> part, std::size_t max_size = kMaxExpandedSize) {
    if (part.empty() || (part[0] != kRepeatRecipe && part[0] != kNumberedRecipe))
        return {part.begin(), part.end()};
    InputReader in(part.subspan(1));
    bool numbered = part[0] == kNumberedRecipe;
    std::size_t count = in.uint(3);
    auto head = in.bytes(in.u16());
    auto unit = in.bytes(in.u16());
    auto tail = in.rest();
    std::vector<std::uint8_t> out(head.begin(), head.end());
    out.reserve(std::min(max_size, head.size() + count * (unit.size() + (numbered ? 8 : 0)) + tail.size()));
    // An empty unit adds nothing: up to 16 million empty rounds would only burn the timeout.
    if (unit.empty()) count = 0;
    for (std::size_t copy = 0; copy < count && out.size() + unit.size() <= max_size; ++copy) {
        if (!numbered) {
            out.insert(out.end(), unit.begin(), unit.end());
            continue;
        }
        std::string index = std::to_string(copy);
        for (std::uint8_t byte : unit) {
            if (byte == '$') out.insert(out.end(), index.begin(), index.end());
            else out.push_back(byte);
        }
    }
    if (out.size() + tail.size() <= max_size) out.insert(out.end(), tail.begin(), tail.end());
    return out;
}

inline std::string as_text(std::span<const std::uint8_t> bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

/// A property of the code under test does not hold: report it as a crash with a message.
[[noreturn]] inline void property_failed(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz property failed: %s\n%.*s\n", what, static_cast<int>(std::min<std::size_t>(detail.size(), 4000)),
                 detail.data());
    std::abort();
}

/// Writes inputs in the reader's layout (used by the seed generator).
class InputWriter {
public:
    InputWriter& uint(std::uint64_t value, std::size_t width) {
        for (std::size_t i = 0; i < width; ++i) bytes_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
        return *this;
    }
    InputWriter& raw(std::span<const std::uint8_t> data) {
        bytes_.insert(bytes_.end(), data.begin(), data.end());
        return *this;
    }
    InputWriter& raw(std::string_view text) {
        return raw(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }
    InputWriter& part(std::span<const std::uint8_t> data) {
        uint(data.size(), 4);
        return raw(data);
    }
    InputWriter& part(std::string_view text) {
        return part(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    }
    /// A recipe (see the file comment): head, `count` copies of unit, tail.
    InputWriter& recipe(std::size_t count, std::string_view head, std::string_view unit, std::string_view tail,
                        bool numbered = false) {
        uint(numbered ? kNumberedRecipe : kRepeatRecipe, 1).uint(count, 3);
        uint(head.size(), 2).raw(head).uint(unit.size(), 2).raw(unit);
        return raw(tail);
    }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }

private:
    std::vector<std::uint8_t> bytes_;
};

} // namespace airlock::fuzz
