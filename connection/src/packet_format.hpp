#pragma once
// The packet layer of the wire format (docs/wire-format.md, "Packets").
// Internal to the connection library.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace airlock::wire {

/// Every packet (one SOCK_SEQPACKET datagram) starts with this 8-byte header.
inline constexpr std::size_t kPacketHeaderSize = 8;
/// The first packet of a message carries this 16-byte message header after the packet header.
inline constexpr std::size_t kMessageHeaderSize = 16;
/// The kernel refuses more than 253 descriptors in one sendmsg (SCM_MAX_FD).
inline constexpr std::size_t kMaxFdsPerPacket = 253;

inline constexpr std::uint32_t kHelloMagic = 0x4b434c41;  // "ALCK" in little-endian
inline constexpr std::uint16_t kWireVersion = 1;
inline constexpr std::size_t kMaxProtocolNameLength = 255;
/// magic u32, version u16, reserved u16, packet size u32, features u32, fingerprint u64,
/// name length u16, then the name.
inline constexpr std::size_t kHelloFixedSize = 26;
/// Hello `features` bit: this side understands request deadlines and Cancel messages
/// (docs/wire-format.md §5). A peer that leaves it 0 (older ones wrote 0 there) is never
/// sent either, so the extension stays compatible.
inline constexpr std::uint32_t kFeatureCallControl = 0x01;
/// Message header `flags` bit: a u32 deadline (milliseconds left) follows the 16-byte header.
inline constexpr std::uint8_t kMessageHasDeadline = 0x01;
inline constexpr std::size_t kDeadlineFieldSize = 4;

enum class PacketType : std::uint8_t { Hello = 1, Data = 2 };
enum PacketFlags : std::uint8_t { kFirstFragment = 1, kLastFragment = 2 };

inline void store_le(std::uint8_t* out, std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

inline std::uint64_t load_le(const std::uint8_t* in, std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value |= std::uint64_t(in[i]) << (8 * i);
    return value;
}

struct PacketHeader {
    PacketType type;
    std::uint8_t flags;
    std::uint16_t fd_count;
    std::uint32_t payload_length;

    void store(std::uint8_t* out) const {
        out[0] = static_cast<std::uint8_t>(type);
        out[1] = flags;
        store_le(out + 2, fd_count, 2);
        store_le(out + 4, payload_length, 4);
    }
    static PacketHeader load(const std::uint8_t* in) {
        return {static_cast<PacketType>(in[0]), in[1], static_cast<std::uint16_t>(load_le(in + 2, 2)),
                static_cast<std::uint32_t>(load_le(in + 4, 4))};
    }
};

struct MessageHeader {
    std::uint16_t tag;
    std::uint8_t kind;
    std::uint32_t call_id;
    std::uint32_t body_length;
    std::uint32_t fd_count;
    std::uint8_t flags = 0;  ///< kMessageHasDeadline (byte 3, reserved and 0 before)

    void store(std::uint8_t* out) const {
        store_le(out, tag, 2);
        out[2] = kind;
        out[3] = flags;
        store_le(out + 4, call_id, 4);
        store_le(out + 8, body_length, 4);
        store_le(out + 12, fd_count, 4);
    }
    static MessageHeader load(const std::uint8_t* in) {
        return {static_cast<std::uint16_t>(load_le(in, 2)), in[2], static_cast<std::uint32_t>(load_le(in + 4, 4)),
                static_cast<std::uint32_t>(load_le(in + 8, 4)), static_cast<std::uint32_t>(load_le(in + 12, 4)),
                in[3]};
    }
};

} // namespace airlock::wire
