#pragma once
// Message types for the typed-codec fuzz target that use every kind the codec supports
// (signed and unsigned integers of each width, bool, enums with negative and wide values,
// strings, bytes, nested vectors, optionals, descriptors, nested structs) with small bounds,
// so the fuzzer reaches every bound check with short inputs.

#include <airlock/connection/types.hpp>
#include <airlock/connection/unique_fd.hpp>

#include <cstdint>
#include <optional>

namespace airlock::fuzz {

enum class Shade : std::int16_t { Dark = -300, Plain = 0, Light = 7 };
AIRLOCK_ENUM(Shade, Dark, Plain, Light)

struct Scalars {
    bool flag = false;
    std::int8_t i8 = 0;
    std::uint16_t u16 = 0;
    std::int32_t i32 = 0;
    std::uint64_t u64 = 0;
    std::int64_t i64 = 0;
    Shade shade = Shade::Plain;
};
AIRLOCK_STRUCT(Scalars, flag, i8, u16, i32, u64, i64, shade)

struct Node {
    String<16> name;
    Bytes<32> data;
    std::optional<Scalars> scalars;
    UniqueFd fd;
    Vector<std::optional<UniqueFd>, 4> more_fds;
    Vector<Vector<std::uint8_t, 3>, 5> grid;
};
AIRLOCK_STRUCT(Node, name, data, scalars, fd, more_fds, grid)

/// Node's twin with views (the same wire type): decoded in place instead of copied.
struct NodeView {
    StringView<16> name;
    BytesView<32> data;
    std::optional<Scalars> scalars;
    UniqueFd fd;
    Vector<std::optional<UniqueFd>, 4> more_fds;
    Vector<Vector<std::uint8_t, 3>, 5> grid;
};
AIRLOCK_STRUCT(NodeView, name, data, scalars, fd, more_fds, grid)

struct Tree {
    Vector<Node, 8> nodes;
    std::optional<String<8>> note;
    Vector<Vector<Vector<std::int8_t, 2>, 2>, 2> cube;
};
AIRLOCK_STRUCT(Tree, nodes, note, cube)

} // namespace airlock::fuzz
