#pragma once
// The protocol of the C++ <-> Python conformance test: every type kind of the wire format
// (docs/wire-format.md §4), declared here in C++ and again in conformance_peer.py. Both sides
// build the same expected values from the same recipe (below and in the peer), so each side
// checks what it decoded against its own expectation, not just a round trip.
#include <airlock/connection/protocol.hpp>
#include <airlock/connection/types.hpp>
#include <airlock/connection/unique_fd.hpp>

#include <cstdint>
#include <optional>

namespace conformance {

enum class Color : std::uint8_t { Red = 1, Green = 2, Blue = 200 };
AIRLOCK_ENUM(Color, Red, Green, Blue)

enum class Delta : std::int16_t { Down = -300, Zero = 0, Up = 300 };
AIRLOCK_ENUM(Delta, Down, Zero, Up)

struct Leaf {
    airlock::String<16> label;
    std::optional<std::int32_t> weight;
    airlock::UniqueFd fd;
};
AIRLOCK_STRUCT(Leaf, label, weight, fd)

struct Everything {
    std::int8_t i8 = 0;
    std::int16_t i16 = 0;
    std::int32_t i32 = 0;
    std::int64_t i64 = 0;
    std::uint8_t u8 = 0;
    std::uint16_t u16 = 0;
    std::uint32_t u32 = 0;
    std::uint64_t u64 = 0;
    bool yes = false;
    bool no = false;
    Color color = Color::Red;
    Delta delta = Delta::Zero;
    airlock::String<64> text;
    airlock::Bytes<64> blob;
    std::optional<std::uint16_t> present;
    std::optional<std::uint16_t> absent;
    Leaf leaf;
    airlock::Vector<Leaf, 8> leaves;
    airlock::Vector<airlock::Vector<std::uint8_t, 4>, 4> grid;
    airlock::UniqueFd single;
    airlock::UniqueFd none;
};
AIRLOCK_STRUCT(Everything, i8, i16, i32, i64, u8, u16, u32, u64, yes, no, color, delta, text, blob, present, absent,
               leaf, leaves, grid, single, none)

/// The largest bounds: a 16 MiB body member, 1 MiB of multi-byte UTF-8 and more descriptors
/// than one packet carries (253).
struct Largest {
    airlock::Bytes<16777216> bytes;
    airlock::String<1048576> text;
    airlock::Vector<airlock::UniqueFd, 300> fds;
};
AIRLOCK_STRUCT(Largest, bytes, text, fds)

struct Verdict {
    bool ok = false;
    airlock::String<4096> why;
};
AIRLOCK_STRUCT(Verdict, ok, why)

struct Probe {
    std::uint8_t unused = 0;
};
AIRLOCK_STRUCT(Probe, unused)

struct Count {
    std::uint32_t open_fds = 0;
};
AIRLOCK_STRUCT(Count, open_fds)

// Served by the Python peer.
inline constexpr airlock::Method<Everything, Everything> mirror_everything{1, "mirror_everything"};
inline constexpr airlock::Method<Largest, Largest> mirror_largest{2, "mirror_largest"};
inline constexpr airlock::Method<Probe, Verdict> call_back{3, "call_back"};
inline constexpr airlock::Method<Probe, Count> open_fds{4, "open_fds"};
// Served by the C++ side (the peer calls them from inside call_back).
inline constexpr airlock::Method<Everything, Verdict> check_everything{5, "check_everything"};
inline constexpr airlock::Method<Largest, Verdict> check_largest{6, "check_largest"};

inline const airlock::Protocol& conformance_protocol() {
    static const airlock::Protocol protocol = airlock::Protocol("airlock.conformance/1")
                                                  .add(mirror_everything)
                                                  .add(mirror_largest)
                                                  .add(call_back)
                                                  .add(open_fds)
                                                  .add(check_everything)
                                                  .add(check_largest);
    return protocol;
}

} // namespace conformance
