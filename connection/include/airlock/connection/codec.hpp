#pragma once
/// @file codec.hpp
/// Marshalling typed values to the wire format and back (see docs/wire-format.md).
///
/// `encode_value` turns a value into body bytes plus the list of descriptors to attach;
/// `decode_value` is a pure function from body bytes + received descriptors to a value or a
/// `Malformed` status naming the offending member path (e.g. `grants[2].fd`). Decoding checks
/// every length against the buffer and the declared maxima, enum values, descriptor indices
/// (valid, each used exactly once) and trailing bytes; on failure every descriptor is closed.
///
/// For sending, `encode_message` encodes without copying large byte sequences: they stay in
/// the caller's memory and go out as their own iovecs. For receiving, `BytesView`/`StringView`
/// members decode to views into the message body (no copy); `Received<T>` keeps that body alive.

#include "airlock/connection/lent_fd.hpp"
#include "airlock/connection/message.hpp"
#include "airlock/connection/status.hpp"
#include "airlock/connection/type_spec.hpp"
#include "airlock/connection/types.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace airlock {

/// Byte sequences of at least this many bytes are sent in place by `encode_message` (their
/// own iovec from the caller's memory); shorter ones are cheaper to copy.
inline constexpr std::size_t kInPlaceMinimum = 8 * 1024;

/// A byte sequence left in the caller's memory: it belongs in the body at offset `at` of the
/// copied bytes (before whatever was copied after it).
struct InPlacePiece {
    std::size_t at = 0;
    std::span<const std::uint8_t> bytes;
};

/// Appends values in the wire format. Descriptors are borrowed: the caller keeps them open
/// until the message is sent. With `in_place`, large byte sequences are recorded there instead
/// of copied (the body is then `body` with each piece inserted at its offset).
class Encoder {
public:
    Encoder(std::vector<std::uint8_t>& body, std::vector<int>& fds, std::vector<InPlacePiece>* in_place = nullptr)
        : body_(body), fds_(fds), in_place_(in_place) {}

    void put_uint(std::uint64_t value, std::size_t width) {
        std::size_t at = body_.size();
        body_.resize(at + width);
        for (std::size_t i = 0; i < width; ++i) body_[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
    void put_raw(const void* data, std::size_t size) {
        auto* bytes = static_cast<const std::uint8_t*>(data);
        body_.insert(body_.end(), bytes, bytes + size);  // one pass: no zero-fill before the copy
    }
    /// The bytes of a String/Bytes member: referenced in place when large and allowed, else copied.
    void put_sequence(const void* data, std::size_t size) {
        if (in_place_ && size >= kInPlaceMinimum) {
            in_place_->push_back({body_.size(), {static_cast<const std::uint8_t*>(data), size}});
            return;
        }
        put_raw(data, size);
    }
    /// Bytes in the body so far.
    [[nodiscard]] std::size_t size() const { return body_.size(); }
    /// Records `fd` for SCM_RIGHTS and returns its index in the descriptor array.
    std::uint32_t add_fd(int fd) {
        fds_.push_back(fd);
        return static_cast<std::uint32_t>(fds_.size() - 1);
    }
    /// Records a failure; the path is completed by the enclosing members as they unwind.
    bool fail(std::string what) {
        error_ = std::move(what);
        return false;
    }
    void prefix_path(const std::string& segment) { path_.insert(0, segment); }
    [[nodiscard]] Status status() const;

private:
    std::vector<std::uint8_t>& body_;
    std::vector<int>& fds_;
    std::vector<InPlacePiece>* in_place_;
    std::string error_;
    std::string path_;
};

/// Reads values in the wire format, verifying each one.
class Decoder {
public:
    Decoder(std::span<const std::uint8_t> body, std::span<UniqueFd> fds)
        : data_(body.data()), end_(body.data() + body.size()), fds_(fds), fd_used_(fds.size(), false) {}

    bool get_uint(std::uint64_t& value, std::size_t width) {
        if (remaining() < width) return fail("truncated: needs " + std::to_string(width) + " more bytes");
        value = 0;
        for (std::size_t i = 0; i < width; ++i) value |= std::uint64_t(data_[i]) << (8 * i);
        data_ += width;
        return true;
    }
    bool get_raw(void* out, std::size_t size) {
        if (remaining() < size) return fail("truncated: length " + std::to_string(size) + " exceeds the message");
        if (size) std::memcpy(out, data_, size);
        data_ += size;
        return true;
    }
    /// Replaces `out`'s contents with the next `size` bytes (one pass, no zero-fill).
    template <class Container>
    bool get_sequence(Container& out, std::size_t size) {
        if (remaining() < size) return fail("truncated: length " + std::to_string(size) + " exceeds the message");
        out.assign(data_, data_ + size);
        data_ += size;
        return true;
    }
    /// Points `out` at the next `size` bytes of the body itself (no copy).
    bool get_view(const std::uint8_t*& out, std::size_t size) {
        if (remaining() < size) return fail("truncated: length " + std::to_string(size) + " exceeds the message");
        out = data_;
        data_ += size;
        return true;
    }
    /// Reads a length prefix and checks it against `max` and the bytes left (each element
    /// needs at least `min_element_size` bytes, so a hostile count cannot force a huge
    /// allocation or a long loop). Elements of size 0 cannot be bounded and are refused.
    bool get_length(std::uint64_t& length, std::uint64_t max, std::uint64_t min_element_size) {
        std::uint64_t value = 0;
        if (!get_uint(value, 4)) return false;
        if (min_element_size == 0) return fail("the element type has an encoded size of 0 bytes: cannot bound the count");
        if (value > max) return fail("length " + std::to_string(value) + " exceeds the declared maximum " + std::to_string(max));
        if (value > remaining() / min_element_size)
            return fail("truncated: length " + std::to_string(value) + " exceeds the message");
        length = value;
        return true;
    }
    /// Takes ownership of descriptor number `index` of the message; each may be taken once.
    bool take_fd(std::uint32_t index, UniqueFd& out) {
        if (index >= fds_.size())
            return fail("descriptor index " + std::to_string(index) + " is out of range (message carries " +
                        std::to_string(fds_.size()) + ")");
        if (fd_used_[index]) return fail("descriptor index " + std::to_string(index) + " is used twice");
        fd_used_[index] = true;
        out = std::move(fds_[index]);
        return true;
    }
    bool fail(std::string what) {
        error_ = std::move(what);
        return false;
    }
    void prefix_path(const std::string& segment) { path_.insert(0, segment); }
    [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(end_ - data_); }
    /// After the top-level value: no trailing bytes, every descriptor referenced.
    bool finish();
    [[nodiscard]] Status status() const;

private:
    const std::uint8_t* data_;
    const std::uint8_t* end_;
    std::span<UniqueFd> fds_;
    std::vector<bool> fd_used_;
    std::string error_;
    std::string path_;
};

/// Codec<T> knows T's spec and how to encode/decode it. Specialised below for every
/// supported kind; a type without a codec fails to compile with a message naming it.
template <class T, class Enable = void>
struct Codec {
    static_assert(sizeof(T) == 0,
                  "this type cannot travel in a message: use bool, std::intN_t/uintN_t, an enum with "
                  "AIRLOCK_ENUM, airlock::String<N>, airlock::Bytes<N>, airlock::StringView<N>, "
                  "airlock::BytesView<N>, airlock::Vector<T,N>, std::optional<T>, a struct with "
                  "AIRLOCK_STRUCT, airlock::UniqueFd or airlock::LentFd");
};

/// The spec of T, built once.
template <class T>
const TypeSpec& spec_of() {
    static const TypeSpec spec = [] {
        TypeSpec s;
        Codec<T>::build_spec(s);
        s.min_encoded_size = min_encoded_size(s);  // members' specs are complete already
        return s;
    }();
    return spec;
}

namespace detail {
template <class T>
concept DescribedStruct = requires(const T* p) { airlock_members(p); };
template <class T>
concept DescribedEnum = std::is_enum_v<T> && requires(const T* p) { airlock_enumerators(p); };
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
} // namespace detail

template <>
struct Codec<bool> {
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Bool;
        s.name = "bool";
        s.width = 1;
    }
    static bool encode(Encoder& e, bool v) {
        e.put_uint(v ? 1 : 0, 1);
        return true;
    }
    static bool decode(Decoder& d, bool& v) {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, 1)) return false;
        if (raw > 1) return d.fail("boolean byte is " + std::to_string(raw) + ", expected 0 or 1");
        v = raw == 1;
        return true;
    }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
    static_assert(sizeof(T) <= 8);
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Integer;
        s.is_signed = std::is_signed_v<T>;
        s.width = sizeof(T);
        s.name = std::string(s.is_signed ? "int" : "uint") + std::to_string(8 * sizeof(T));
    }
    static bool encode(Encoder& e, T v) {
        e.put_uint(static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<T>>(v)), sizeof(T));
        return true;
    }
    static bool decode(Decoder& d, T& v) {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, sizeof(T))) return false;
        v = static_cast<T>(static_cast<std::make_unsigned_t<T>>(raw));
        return true;
    }
};

template <class T>
struct Codec<T, std::enable_if_t<detail::DescribedEnum<T>>> {
    using Underlying = std::underlying_type_t<T>;
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Enum;
        s.name = airlock_type_name(static_cast<const T*>(nullptr));
        s.is_signed = std::is_signed_v<Underlying>;
        s.width = sizeof(Underlying);
        for (const auto& [name, value] : airlock_enumerators(static_cast<const T*>(nullptr)))
            s.enumerators.emplace_back(name, static_cast<std::int64_t>(value));
    }
    static bool is_declared(T v) {
        for (const auto& entry : airlock_enumerators(static_cast<const T*>(nullptr)))
            if (entry.second == v) return true;
        return false;
    }
    static bool encode(Encoder& e, T v) {
        if (!is_declared(v))
            return e.fail("value " + std::to_string(static_cast<long long>(v)) + " is not a declared " +
                          airlock_type_name(static_cast<const T*>(nullptr)));
        return Codec<Underlying>::encode(e, static_cast<Underlying>(v));
    }
    static bool decode(Decoder& d, T& v) {
        Underlying raw{};
        if (!Codec<Underlying>::decode(d, raw)) return false;
        v = static_cast<T>(raw);
        if (!is_declared(v))
            return d.fail("value " + std::to_string(static_cast<long long>(raw)) + " is not a declared " +
                          airlock_type_name(static_cast<const T*>(nullptr)));
        return true;
    }
};

/// Strings and byte buffers share one layout: u32 length, then the bytes.
template <class Container, TypeKind Kind>
struct ByteSequenceCodec {
    static void build_spec(TypeSpec& s) {
        s.kind = Kind;
        s.name = Kind == TypeKind::String ? "string" : "bytes";
        s.max_length = Container::max_length;
    }
    static bool encode(Encoder& e, const Container& v) {
        if (v.size() > Container::max_length)
            return e.fail("length " + std::to_string(v.size()) + " exceeds the declared maximum " +
                          std::to_string(Container::max_length));
        e.put_uint(v.size(), 4);
        e.put_sequence(v.data(), v.size());
        return true;
    }
    static bool decode(Decoder& d, Container& v) {
        std::uint64_t length = 0;
        if (!d.get_length(length, Container::max_length, 1)) return false;
        constexpr const std::uint8_t* no_bytes = nullptr;
        if constexpr (requires { v.assign(no_bytes, no_bytes); }) {
            return d.get_sequence(v, length);  // the owning forms copy
        } else {
            const std::uint8_t* start = nullptr;  // the views point into the body
            if (!d.get_view(start, length)) return false;
            if constexpr (Kind == TypeKind::String)
                v = Container(std::string_view(reinterpret_cast<const char*>(start), length));
            else
                v = Container(std::span<const std::uint8_t>(start, length));
            return true;
        }
    }
};

template <std::size_t Max>
struct Codec<String<Max>> : ByteSequenceCodec<String<Max>, TypeKind::String> {};
template <std::size_t Max>
struct Codec<Bytes<Max>> : ByteSequenceCodec<Bytes<Max>, TypeKind::Bytes> {};
template <std::size_t Max>
struct Codec<BytesView<Max>> : ByteSequenceCodec<BytesView<Max>, TypeKind::Bytes> {};
template <std::size_t Max>
struct Codec<StringView<Max>> : ByteSequenceCodec<StringView<Max>, TypeKind::String> {};

template <class T, std::size_t Max>
struct Codec<Vector<T, Max>> {
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Vector;
        s.name = "vector";
        s.max_length = Max;
        s.element = &spec_of<T>();
    }
    static bool encode(Encoder& e, const Vector<T, Max>& v) {
        if (v.size() > Max)
            return e.fail("count " + std::to_string(v.size()) + " exceeds the declared maximum " + std::to_string(Max));
        e.put_uint(v.size(), 4);
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!Codec<T>::encode(e, v[i])) {
                e.prefix_path("[" + std::to_string(i) + "]");
                return false;
            }
        }
        return true;
    }
    static bool decode(Decoder& d, Vector<T, Max>& v) {
        std::uint64_t count = 0;
        if (!d.get_length(count, Max, spec_of<T>().min_encoded_size)) return false;
        v.clear();
        v.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
            if (!Codec<T>::decode(d, v[i])) {
                d.prefix_path("[" + std::to_string(i) + "]");
                return false;
            }
        }
        return true;
    }
};

template <class T>
struct Codec<std::optional<T>> {
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Optional;
        s.name = "optional";
        s.element = &spec_of<T>();
    }
    static bool encode(Encoder& e, const std::optional<T>& v) {
        e.put_uint(v ? 1 : 0, 1);
        return !v || Codec<T>::encode(e, *v);
    }
    static bool decode(Decoder& d, std::optional<T>& v) {
        std::uint64_t present = 0;
        if (!d.get_uint(present, 1)) return false;
        if (present > 1) return d.fail("presence byte is " + std::to_string(present) + ", expected 0 or 1");
        if (!present) {
            v.reset();
            return true;
        }
        v.emplace();
        return Codec<T>::decode(d, *v);
    }
};

/// Descriptors: an i32 index into the message's descriptor array, -1 for none. A held value
/// <= 0 sends none (the seed's rule, so zeroed memory is an empty message).
template <>
struct Codec<UniqueFd> {
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Fd;
        s.name = "fd";
    }
    static bool encode(Encoder& e, const UniqueFd& v) {
        if (v.get() <= 0) {
            e.put_uint(0xFFFFFFFFu, 4);
            return true;
        }
        e.put_uint(e.add_fd(v.get()), 4);
        return true;
    }
    static bool decode(Decoder& d, UniqueFd& v) {
        std::uint64_t raw = 0;
        if (!d.get_uint(raw, 4)) return false;
        if (raw == 0xFFFFFFFFu) {
            v.reset();
            return true;
        }
        return d.take_fd(static_cast<std::uint32_t>(raw), v);
    }
};

/// A lent descriptor: the same wire type as UniqueFd. Sending references the number (the
/// sender keeps it); decoding always yields an owned descriptor.
template <>
struct Codec<LentFd> {
    static void build_spec(TypeSpec& s) { Codec<UniqueFd>::build_spec(s); }
    static bool encode(Encoder& e, const LentFd& v) {
        e.put_uint(v.get() <= 0 ? 0xFFFFFFFFu : e.add_fd(v.get()), 4);
        return true;
    }
    static bool decode(Decoder& d, LentFd& v) {
        UniqueFd received;
        if (!Codec<UniqueFd>::decode(d, received)) return false;
        v = LentFd(std::move(received));
        return true;
    }
};

template <class T>
struct Codec<T, std::enable_if_t<detail::DescribedStruct<T>>> {
    static auto members() { return airlock_members(static_cast<const T*>(nullptr)); }
    static void build_spec(TypeSpec& s) {
        s.kind = TypeKind::Struct;
        s.name = airlock_type_name(static_cast<const T*>(nullptr));
        std::apply([&](auto... m) { (s.members.push_back(MemberSpec{m.name, &spec_of<member_type<decltype(m)>>()}), ...); },
                   members());
    }
    template <class Ref>
    using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*(std::declval<Ref>().pointer))>;

    static bool encode(Encoder& e, const T& v) {
        return std::apply(
            [&](auto... m) {
                return ([&] {
                    if (Codec<member_type<decltype(m)>>::encode(e, v.*(m.pointer))) return true;
                    e.prefix_path(std::string(".") + m.name);
                    return false;
                }() && ...);
            },
            members());
    }
    static bool decode(Decoder& d, T& v) {
        return std::apply(
            [&](auto... m) {
                return ([&] {
                    if (Codec<member_type<decltype(m)>>::decode(d, v.*(m.pointer))) return true;
                    d.prefix_path(std::string(".") + m.name);
                    return false;
                }() && ...);
            },
            members());
    }
};

/// Encodes `value`, appending to `body` and `fds` (borrowed descriptors). On failure (a value
/// breaks its declaration, e.g. a string over its maximum) returns InvalidParameter naming the member.
template <class T>
Status encode_value(const T& value, std::vector<std::uint8_t>& body, std::vector<int>& fds) {
    if (body.capacity() == 0) body.reserve(128);  // one allocation for typical small messages
    Encoder encoder(body, fds);
    if (!Codec<T>::encode(encoder, value)) return encoder.status();
    return {};
}

/// Decodes a whole message body. Takes ownership of `fds`: the ones the value references move
/// into it; on any failure all of them are closed before returning. BytesView/StringView
/// members of the value point into `body`: they are valid while the caller keeps it.
template <class T>
Result<T> decode_value(std::span<const std::uint8_t> body, std::vector<UniqueFd> fds) {
    T value{};
    Decoder decoder(body, fds);
    if (!Codec<T>::decode(decoder, value) || !decoder.finish()) return decoder.status();
    return value;
}

namespace detail {
template <class T, class Enable = void>
struct HoldsViews : std::false_type {};
template <std::size_t Max>
struct HoldsViews<BytesView<Max>> : std::true_type {};
template <std::size_t Max>
struct HoldsViews<StringView<Max>> : std::true_type {};
template <class T, std::size_t Max>
struct HoldsViews<Vector<T, Max>> : HoldsViews<T> {};
template <class T>
struct HoldsViews<std::optional<T>> : HoldsViews<T> {};
template <class Members>
struct AnyMemberHoldsViews;
template <class... Structs, class... Members>
struct AnyMemberHoldsViews<std::tuple<MemberRef<Structs, Members>...>>
    : std::bool_constant<(HoldsViews<Members>::value || ...)> {};
template <class T>
struct HoldsViews<T, std::enable_if_t<DescribedStruct<T>>>
    : AnyMemberHoldsViews<decltype(airlock_members(static_cast<const T*>(nullptr)))> {};
} // namespace detail

/// True when a decoded T points into its message body (it has a BytesView/StringView member,
/// at any depth), so it must not outlive that body.
template <class T>
inline constexpr bool holds_views_v = detail::HoldsViews<T>::value;

/// A value encoded for sending without copying its large byte sequences: the body is a list
/// of pieces, alternating bytes encoded here and String/Bytes/view members of at least
/// kInPlaceMinimum bytes left where they are. It therefore refers to the encoded value,
/// which must stay alive and unchanged until the message has been sent (`send`/`queue`
/// return). The bytes on the wire are exactly those of `encode_value`.
class EncodedMessage {
public:
    EncodedMessage() = default;
    // The pieces point into this object's own buffer: not copyable, and moving would keep them
    // valid only by accident of std::vector's implementation.
    EncodedMessage(const EncodedMessage&) = delete;
    EncodedMessage& operator=(const EncodedMessage&) = delete;

    /// The body, in order.
    [[nodiscard]] BodyPieces pieces() const {
        return in_place_.empty() ? BodyPieces(&whole_, 1) : BodyPieces(pieces_);
    }
    /// The descriptors to attach (borrowed from the value).
    [[nodiscard]] std::span<const int> fds() const { return fds_; }
    /// Bytes in the body, in all pieces.
    [[nodiscard]] std::size_t body_size() const { return copied_.size() + in_place_bytes_; }
    /// How many pieces are sent in place (for tests and diagnostics).
    [[nodiscard]] std::size_t in_place_count() const { return in_place_.size(); }
    /// The message to hand to Connection::send / queue.
    [[nodiscard]] OutgoingMessage outgoing(std::uint16_t tag, MessageKind kind = MessageKind::OneWay,
                                           std::uint32_t call_id = 0) const {
        return OutgoingMessage{tag, kind, call_id, {}, fds_, pieces()};
    }

private:
    template <class T>
    friend Status encode_message(const T& value, EncodedMessage& out);
    void clear() {
        copied_.clear();
        fds_.clear();
        in_place_.clear();
        pieces_.clear();
        in_place_bytes_ = 0;
    }
    /// Interleaves the copied bytes with the in-place pieces (once encoding is complete, so
    /// the copied buffer no longer moves).
    void gather() {
        whole_ = std::span<const std::uint8_t>(copied_);  // the usual case: one piece, no allocation
        std::size_t copied_from = 0;
        for (const InPlacePiece& piece : in_place_) {
            if (piece.at > copied_from) pieces_.emplace_back(copied_.data() + copied_from, piece.at - copied_from);
            pieces_.push_back(piece.bytes);
            in_place_bytes_ += piece.bytes.size();
            copied_from = piece.at;
        }
        if (copied_.size() > copied_from) pieces_.emplace_back(copied_.data() + copied_from, copied_.size() - copied_from);
    }

    std::vector<std::uint8_t> copied_;
    std::vector<int> fds_;
    std::vector<InPlacePiece> in_place_;
    std::vector<std::span<const std::uint8_t>> pieces_;
    std::span<const std::uint8_t> whole_;
    std::size_t in_place_bytes_ = 0;
};

/// Encodes `value` into `out` (replacing what it held), leaving large byte sequences in
/// `value`'s memory. InvalidParameter naming the member when a value breaks its declaration.
template <class T>
Status encode_message(const T& value, EncodedMessage& out) {
    out.clear();
    if (out.copied_.capacity() == 0) out.copied_.reserve(128);
    Encoder encoder(out.copied_, out.fds_, &out.in_place_);
    if (!Codec<T>::encode(encoder, value)) return encoder.status();
    out.gather();
    return {};
}

/// A decoded value together with the message body its views point into: the views stay
/// valid for as long as this object lives (moving it keeps them valid: the body's buffer
/// moves with it). Descriptors are owned by the value, as always.
template <class T>
class Received {
public:
    Received(ByteBuffer body, T value) : body_(std::move(body)), value_(std::move(value)) {}
    T& operator*() { return value_; }
    const T& operator*() const { return value_; }
    T* operator->() { return &value_; }
    const T* operator->() const { return &value_; }

private:
    ByteBuffer body_;  // declared first: destroyed after the value that refers to it
    T value_;
};

/// Decodes `message` as T without copying its byte sequences into the value (for T with
/// BytesView/StringView members; works for any T). Malformed bodies are refused exactly as
/// by decode_value, and every descriptor is then closed.
template <class T>
Result<Received<T>> decode_message(Message message) {
    Result<T> value = decode_value<T>(message.body, std::move(message.fds));
    if (!value) return value.status();
    // Moving a vector hands over its buffer, so the views in *value still point into it.
    return Received<T>(std::move(message.body), std::move(*value));
}

} // namespace airlock
