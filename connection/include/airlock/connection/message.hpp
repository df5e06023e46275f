#pragma once
/// @file message.hpp
/// An untyped message as it travels over a connection: header fields, body bytes, descriptors.

#include "airlock/connection/unique_fd.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace airlock {

/// The role of a message in the call layer.
enum class MessageKind : std::uint8_t {
    OneWay = 0,      ///< a notification: no reply expected
    Request = 1,     ///< a call; the peer answers with Reply or ErrorReply carrying the same call id
    Reply = 2,       ///< a successful answer
    ErrorReply = 3,  ///< a failed answer (body: a CallError)
};

/// A received message. Its descriptors are owned and close-on-exec.
struct Message {
    std::uint16_t tag = 0;
    MessageKind kind = MessageKind::OneWay;
    std::uint32_t call_id = 0;
    std::vector<std::uint8_t> body;
    std::vector<UniqueFd> fds;
};

/// A message to send. Body and descriptors are borrowed: the connection copies (and, when it
/// must queue, duplicates descriptors) before the send call returns, so the caller may free them.
struct OutgoingMessage {
    std::uint16_t tag = 0;
    MessageKind kind = MessageKind::OneWay;
    std::uint32_t call_id = 0;
    std::span<const std::uint8_t> body;
    std::span<const int> fds;
};

} // namespace airlock
