#pragma once
// Writes a message body of any TypeSpec from a stream of choices, so a fuzz target can reach
// well-formed bodies of a type the fuzzer made up (structure-aware fuzzing): each count,
// length, presence flag and value is the next choice; when the choices run out they start
// over, so a few bytes stand for a large body (e.g. a vector of 5,000 vectors, each claiming
// 5,000 elements). Bounded: at most kMaxBodySize bytes and kMaxVisits values are written
// (then the body is cut short, which the decoder must refuse).

#include "fuzz_input.hpp"

#include <airlock/connection/type_spec.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace airlock::fuzz {

class BodyWriter {
public:
    static constexpr std::size_t kMaxBodySize = kMaxExpandedSize;
    static constexpr std::size_t kMaxVisits = kMaxExpandedSize;

    explicit BodyWriter(std::span<const std::uint8_t> choices) : choices_(choices) {}

    std::vector<std::uint8_t> write(const TypeSpec& spec) {
        value(spec);
        return std::move(out_);
    }

private:
    std::uint64_t choice(std::size_t width) {
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < width && !choices_.empty(); ++i, next_ = (next_ + 1) % choices_.size())
            value |= std::uint64_t(choices_[next_]) << (8 * i);
        return value;
    }
    void put(std::uint64_t value, std::size_t width) {
        for (std::size_t i = 0; i < width; ++i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
    bool exhausted() const { return out_.size() >= kMaxBodySize || visits_ >= kMaxVisits; }
    /// True for types whose values take no bytes (structs without members, nested).
    static bool takes_no_bytes(const TypeSpec& spec) {
        if (spec.kind != TypeKind::Struct) return false;
        for (const MemberSpec& member : spec.members)
            if (!takes_no_bytes(*member.type)) return false;
        return true;
    }

    void value(const TypeSpec& spec) {
        if (exhausted()) return;
        ++visits_;
        switch (spec.kind) {
        case TypeKind::Bool: put(choice(1) & 1, 1); break;
        case TypeKind::Integer: put(choice(spec.width), spec.width); break;
        case TypeKind::Enum:
            if (!spec.enumerators.empty()) put(static_cast<std::uint64_t>(spec.enumerators[choice(1) % spec.enumerators.size()].second), spec.width);
            else put(choice(spec.width), spec.width);
            break;
        case TypeKind::String:
        case TypeKind::Bytes: {
            std::uint64_t length = std::min<std::uint64_t>(choice(2), spec.max_length);
            put(length, 4);
            for (std::uint64_t i = 0; i < length && !exhausted(); ++i) put(choice(1), 1);
            break;
        }
        case TypeKind::Vector: {
            std::uint64_t count = std::min<std::uint64_t>(choice(4), spec.max_length);
            put(count, 4);
            if (takes_no_bytes(*spec.element)) break;  // nothing to write for any of them
            for (std::uint64_t i = 0; i < count && !exhausted(); ++i) value(*spec.element);
            break;
        }
        case TypeKind::Optional: {
            bool present = choice(1) & 1;
            put(present, 1);
            if (present) value(*spec.element);
            break;
        }
        case TypeKind::Fd: put(0xFFFFFFFFu, 4); break;
        case TypeKind::Struct:
            for (const MemberSpec& member : spec.members) value(*member.type);
            break;
        }
    }

    std::span<const std::uint8_t> choices_;
    std::size_t next_ = 0;
    std::size_t visits_ = 0;
    std::vector<std::uint8_t> out_;
};

} // namespace airlock::fuzz
