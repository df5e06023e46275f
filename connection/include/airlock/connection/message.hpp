#pragma once
/// @file message.hpp
/// An untyped message as it travels over a connection: header fields, body bytes, descriptors.

#include "airlock/connection/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <span>
#include <vector>

namespace airlock {

/// An allocator whose `resize` leaves new bytes uninitialised: a received body is about to
/// be overwritten by the kernel, so zero-filling it first would be a wasted pass over memory.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UninitializedAllocator<U>;
    };
    UninitializedAllocator() = default;
    template <class U>
    UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* place) noexcept {
        ::new (static_cast<void*>(place)) U;  // default-initialisation: no zeroing for bytes
    }
    template <class U, class... Args>
    void construct(U* place, Args&&... args) {
        ::new (static_cast<void*>(place)) U(std::forward<Args>(args)...);
    }
};

/// The bytes of a received message body.
using ByteBuffer = std::vector<std::uint8_t, UninitializedAllocator<std::uint8_t>>;

/// The role of a message in the call layer.
enum class MessageKind : std::uint8_t {
    OneWay = 0,      ///< a notification: no reply expected
    Request = 1,     ///< a call; the peer answers with Reply or ErrorReply carrying the same call id
    Reply = 2,       ///< a successful answer
    ErrorReply = 3,  ///< a failed answer (body: a CallError)
    Cancel = 4,      ///< the caller gave up on the request with this call id (empty body); sent only
                     ///< to a peer whose hello announced it (Connection::peer_supports_call_control)
};

/// A received message. Its descriptors are owned and close-on-exec.
struct Message {
    std::uint16_t tag = 0;
    MessageKind kind = MessageKind::OneWay;
    std::uint32_t call_id = 0;
    ByteBuffer body;
    std::vector<UniqueFd> fds;
    /// A Request's deadline as the caller sent it: milliseconds it had left when sending.
    std::optional<std::uint32_t> timeout_ms;
};

/// A message body in pieces: the body on the wire is the pieces one after the other. Large
/// members travel this way straight from the sender's memory (one iovec each), never copied
/// into one contiguous buffer first (see EncodedMessage in codec.hpp).
using BodyPieces = std::span<const std::span<const std::uint8_t>>;

/// A message to send. Body and descriptors are borrowed: the connection copies (and, when it
/// must queue, duplicates descriptors) before the send call returns, so the caller may free them.
struct OutgoingMessage {
    std::uint16_t tag = 0;
    MessageKind kind = MessageKind::OneWay;
    std::uint32_t call_id = 0;
    std::span<const std::uint8_t> body;  ///< the body, when `pieces` is empty
    std::span<const int> fds;
    BodyPieces pieces{};                 ///< when not empty: the body in pieces (`body` must be empty)
    /// A Request's deadline (milliseconds left); dropped for a peer that does not support it.
    std::optional<std::uint32_t> timeout_ms{};
};

} // namespace airlock
