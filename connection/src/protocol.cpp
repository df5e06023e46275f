#include "airlock/connection/protocol.hpp"

#include <algorithm>

namespace airlock {
namespace {

std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

} // namespace

Protocol::Protocol(std::string name) : name_(std::move(name)) {}

Protocol::Protocol(const Protocol& other)
    : name_(other.name_), messages_(other.messages_), fingerprint_(other.fingerprint_.load(std::memory_order_relaxed)),
      application_tags_from_(other.application_tags_from_), status_(other.status_) {}

Protocol::Protocol(Protocol&& other) noexcept
    : name_(std::move(other.name_)), messages_(std::move(other.messages_)),
      fingerprint_(other.fingerprint_.load(std::memory_order_relaxed)),
      application_tags_from_(other.application_tags_from_), status_(std::move(other.status_)) {}

Protocol& Protocol::operator=(const Protocol& other) {
    if (this != &other) *this = Protocol(other);
    return *this;
}

Protocol& Protocol::operator=(Protocol&& other) noexcept {
    name_ = std::move(other.name_);
    messages_ = std::move(other.messages_);
    fingerprint_.store(other.fingerprint_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    application_tags_from_ = other.application_tags_from_;
    status_ = std::move(other.status_);
    return *this;
}

std::uint64_t Protocol::fingerprint() const {
    // Threads that ask at once may each compute it: the same value, stored whole.
    std::uint64_t fingerprint = fingerprint_.load(std::memory_order_relaxed);
    if (fingerprint == 0) {
        fingerprint = fnv1a64(describe());
        fingerprint_.store(fingerprint, std::memory_order_relaxed);
    }
    return fingerprint;
}

Protocol& Protocol::add(MessageSpec spec) {
    if (spec.tag == 0 && status_.ok())
        status_ = Status(StatusCode::InvalidParameter, "protocol " + name_ + ": message \"" + spec.name +
                                                           "\" uses tag 0, which is reserved");
    for (const MessageSpec& existing : messages_) {
        if (!status_.ok()) break;
        if (existing.tag == spec.tag)
            status_ = Status(StatusCode::InvalidParameter, "protocol " + name_ + ": tag " + std::to_string(spec.tag) +
                                                               " is used by both \"" + existing.name + "\" and \"" +
                                                               spec.name + "\"");
        else if (existing.name == spec.name)
            status_ = Status(StatusCode::InvalidParameter,
                             "protocol " + name_ + ": two messages are named \"" + spec.name + "\"");
    }
    auto at = std::lower_bound(messages_.begin(), messages_.end(), spec.tag,
                               [](const MessageSpec& m, std::uint16_t tag) { return m.tag < tag; });
    messages_.insert(at, std::move(spec));
    check_application_range();
    fingerprint_.store(0, std::memory_order_relaxed);
    return *this;
}

Protocol& Protocol::reserve_application_tags(std::uint16_t first) {
    if (first == 0 && status_.ok())
        status_ = Status(StatusCode::InvalidParameter, "protocol " + name_ + ": application tags cannot start at 0");
    application_tags_from_ = first;
    check_application_range();
    fingerprint_.store(0, std::memory_order_relaxed);
    return *this;
}

void Protocol::check_application_range() {
    if (application_tags_from_ == 0 || !status_.ok() || messages_.empty()) return;
    const MessageSpec& highest = messages_.back();
    if (highest.tag >= application_tags_from_)
        status_ = Status(StatusCode::InvalidParameter, "protocol " + name_ + ": message \"" + highest.name + "\" (tag " +
                                                           std::to_string(highest.tag) +
                                                           ") lies in the application range starting at " +
                                                           std::to_string(application_tags_from_));
}

const MessageSpec* Protocol::find(std::uint16_t tag) const {
    auto at = std::lower_bound(messages_.begin(), messages_.end(), tag,
                               [](const MessageSpec& m, std::uint16_t t) { return m.tag < t; });
    return at != messages_.end() && at->tag == tag ? &*at : nullptr;
}

const MessageSpec* Protocol::find(std::string_view name) const {
    for (const MessageSpec& m : messages_)
        if (m.name == name) return &m;
    return nullptr;
}

std::string Protocol::describe() const {
    std::string text = "protocol " + name_ + "\n";
    if (application_tags_from_) text += "application tags from " + std::to_string(application_tags_from_) + "\n";
    for (const MessageSpec& m : messages_) {
        text += std::to_string(m.tag) + " " + m.name + " " + airlock::describe(*m.request);
        if (m.reply) text += " -> " + airlock::describe(*m.reply);
        text += "\n";
    }
    return text;
}

} // namespace airlock
