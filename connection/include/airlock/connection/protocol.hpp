#pragma once
/// @file protocol.hpp
/// A protocol: the set of (tag, type) pairs two peers agree to exchange.
///
/// @code
/// inline constexpr airlock::Method<GreetRequest, GreetReply> greet{1, "greet"};
/// inline constexpr airlock::Notification<LogRecord> log_record{2, "log"};
/// const airlock::Protocol& hello_protocol() {
///     static const airlock::Protocol p = airlock::Protocol("hello").add(greet).add(log_record);
///     return p;
/// }
/// @endcode
/// The fingerprint is derived from the name and every message's type specification, so two
/// builds that disagree on any member, bound or enumerator refuse each other in the handshake.

#include "airlock/connection/codec.hpp"
#include "airlock/connection/status.hpp"
#include "airlock/connection/type_spec.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace airlock {

/// A request/reply method: requests of type `Request` under `tag`, answered with `Reply`.
template <class Request, class Reply>
struct Method {
    std::uint16_t tag;
    const char* name;
};

/// A one-way message of type `Payload` under `tag`.
template <class Payload>
struct Notification {
    std::uint16_t tag;
    const char* name;
};

/// One entry of a protocol.
struct MessageSpec {
    std::uint16_t tag = 0;
    std::string name;
    const TypeSpec* request = nullptr;  ///< the payload (request of a method, or notification)
    const TypeSpec* reply = nullptr;    ///< the reply of a method; null for a notification
};

/// A named set of messages with a fingerprint. Tag 0 is reserved for the library.
class Protocol {
public:
    explicit Protocol(std::string name);
    Protocol(const Protocol& other);
    Protocol(Protocol&& other) noexcept;
    Protocol& operator=(const Protocol& other);
    Protocol& operator=(Protocol&& other) noexcept;

    template <class Request, class Reply>
    Protocol& add(const Method<Request, Reply>& method) {
        return add(MessageSpec{method.tag, method.name, &spec_of<Request>(), &spec_of<Reply>()});
    }
    template <class Payload>
    Protocol& add(const Notification<Payload>& notification) {
        return add(MessageSpec{notification.tag, notification.name, &spec_of<Payload>(), nullptr});
    }
    /// Adds an entry. A duplicate tag or name, or tag 0, makes the protocol invalid (see status()).
    Protocol& add(MessageSpec spec);
    /// Leaves tags from `first` on to the application: the peers agree on them at run time
    /// (e.g. a plugin announces its methods with their type descriptions), so they are not
    /// part of the fingerprint, and a CallSession accepts handlers for them. Declared entries
    /// must stay below `first`.
    Protocol& reserve_application_tags(std::uint16_t first);
    /// The first application tag, or 0 when the protocol has none.
    [[nodiscard]] std::uint16_t application_tags_from() const { return application_tags_from_; }
    /// True when `tag` is declared or lies in the application range.
    [[nodiscard]] bool accepts(std::uint16_t tag) const {
        return find(tag) != nullptr || (application_tags_from_ != 0 && tag >= application_tags_from_);
    }

    [[nodiscard]] const std::string& name() const { return name_; }
    /// FNV-1a 64 of the canonical description; equal fingerprints mean compatible peers.
    [[nodiscard]] std::uint64_t fingerprint() const;
    [[nodiscard]] const std::vector<MessageSpec>& messages() const { return messages_; }
    [[nodiscard]] const MessageSpec* find(std::uint16_t tag) const;
    [[nodiscard]] const MessageSpec* find(std::string_view name) const;
    /// The canonical multi-line description the fingerprint is computed from.
    [[nodiscard]] std::string describe() const;
    /// Success, or why the protocol definition is invalid.
    [[nodiscard]] const Status& status() const { return status_; }

private:
    std::string name_;
    std::vector<MessageSpec> messages_;  // sorted by tag
    /// Computed when first asked, not after every add(): a process starts faster when it
    /// describes its protocol once. 0 until then (a protocol is only read once built).
    mutable std::atomic<std::uint64_t> fingerprint_{0};
    std::uint16_t application_tags_from_ = 0;
    Status status_;
    void check_application_range();
};

} // namespace airlock
