#pragma once
// The properties every typed message must have, checked by the codec, plugin-protocol and
// control-protocol fuzz targets on whatever body the fuzzer makes up:
//  - decode_value<T> and decode_to_json(spec_of<T>()) accept exactly the same bodies
//    (dynamic_value.hpp promises to verify "exactly like the typed codec");
//  - decode then encode gives back the body (descriptor indices may be renumbered: then
//    encode is a fixed point);
//  - descriptor accounting: every received descriptor ends up in the value exactly once, and
//    all of them are closed once the value (or the failed decode) is gone;
//  - for bodies without descriptors, encode_json(decode_to_json(body)) == body (where the
//    JSON mapping is not lossy, see json_round_trip.hpp).

#include "fuzz_input.hpp"
#include "json_round_trip.hpp"

#include <airlock/connection/codec.hpp>
#include <airlock/connection/dynamic_value.hpp>
#include <airlock/connection/type_spec.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace airlock::fuzz {

/// Descriptors to attach to a decoded message: duplicates of one /dev/null descriptor.
inline std::vector<UniqueFd> make_descriptors(std::size_t count) {
    static const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    std::vector<UniqueFd> fds;
    for (std::size_t i = 0; i < count; ++i) fds.emplace_back(::fcntl(null_fd, F_DUPFD_CLOEXEC, 3));
    return fds;
}

inline bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

inline void require_all_closed(const std::vector<int>& numbers, const char* when) {
    for (int fd : numbers)
        if (is_open(fd)) property_failed("a received descriptor is still open", when);
}

/// describe() of T's spec parses back into the same description (checked once per type).
template <class T>
void check_description_fixed_point() {
    static const bool checked = [] {
        std::string text = describe(spec_of<T>());
        auto parsed = ParsedType::parse(text);
        if (!parsed) property_failed("ParsedType::parse refuses describe() of a codec type", text);
        if (describe(parsed->spec()) != text) property_failed("describe(parse(text)) != text", text);
        return true;
    }();
    (void)checked;
}

/// Checks the file comment's properties for one body received with `fd_count` descriptors.
template <class T>
void check_codec_properties(std::span<const std::uint8_t> body, std::size_t fd_count) {
    check_description_fixed_point<T>();
    std::vector<UniqueFd> fds = make_descriptors(fd_count);
    std::vector<int> numbers;
    for (const UniqueFd& fd : fds) numbers.push_back(fd.get());

    auto json = decode_to_json(spec_of<T>(), body, fd_count);
    Result<T> decoded = decode_value<T>(body, std::move(fds));
    if (decoded.ok() != json.ok())
        property_failed("decode_value and decode_to_json disagree",
                        decoded.ok() ? "decode_to_json: " + json.status().to_string()
                                     : "decode_value: " + decoded.status().to_string());
    if (!decoded) {
        require_all_closed(numbers, "after a failed decode");
        return;
    }

    std::vector<std::uint8_t> again;
    std::vector<int> sent;
    if (Status s = encode_value(*decoded, again, sent); !s.ok()) property_failed("a decoded value does not encode", s.to_string());
    std::vector<int> sorted_sent = sent, sorted_numbers = numbers;
    std::sort(sorted_sent.begin(), sorted_sent.end());
    std::sort(sorted_numbers.begin(), sorted_numbers.end());
    if (sorted_sent != sorted_numbers) property_failed("the decoded value does not hold each received descriptor once");
    if (sent == numbers) {
        if (!std::equal(again.begin(), again.end(), body.begin(), body.end()))
            property_failed("encode(decode(body)) != body");
    } else {
        // Indices were renumbered in traversal order: the re-encoded body is a fixed point.
        Result<T> twice = decode_value<T>(again, make_descriptors(sent.size()));
        if (!twice) property_failed("a re-encoded body does not decode", twice.status().to_string());
        std::vector<std::uint8_t> third;
        std::vector<int> third_fds;
        (void)encode_value(*twice, third, third_fds);
        if (third != again) property_failed("encode(decode(x)) is not a fixed point");
    }
    if (fd_count == 0 && json_round_trip_holds(spec_of<T>(), *json)) {
        auto from_json = encode_json(spec_of<T>(), *json);
        if (!from_json) property_failed("encode_json refuses what decode_to_json produced", *json + "\n" + from_json.status().to_string());
        if (!std::equal(from_json->begin(), from_json->end(), body.begin(), body.end()))
            property_failed("encode_json(decode_to_json(body)) != body", *json);
    }
    decoded = Status(StatusCode::Malformed, "done");  // drop the value and its descriptors
    require_all_closed(numbers, "after the decoded value was destroyed");
}

/// `View` is `Owning` with views: both decode exactly the same bodies, the views point into the
/// body, and encoding the view (in pieces, as senders do) gives back the body when the
/// descriptors kept their order.
template <class Owning, class View>
void check_view_twin(std::span<const std::uint8_t> body, std::size_t fd_count) {
    Result<Owning> owning = decode_value<Owning>(body, make_descriptors(fd_count));
    Result<View> view = decode_value<View>(body, make_descriptors(fd_count));
    if (owning.ok() != view.ok())
        property_failed("the owning and the view form disagree on a body",
                        owning.ok() ? view.status().to_string() : owning.status().to_string());
    if (!view) return;
    if (!view->name.empty() && (reinterpret_cast<const std::uint8_t*>(view->name.data()) < body.data() ||
                                reinterpret_cast<const std::uint8_t*>(view->name.data()) >= body.data() + body.size()))
        property_failed("a decoded view does not point into the body");
    EncodedMessage encoded;
    if (Status s = encode_message(*view, encoded); !s.ok()) property_failed("a decoded view does not encode", s.to_string());
    std::vector<std::uint8_t> gathered;
    for (std::span<const std::uint8_t> piece : encoded.pieces()) gathered.insert(gathered.end(), piece.begin(), piece.end());
    std::vector<std::uint8_t> again;
    std::vector<int> sent;
    (void)encode_value(*owning, again, sent);
    if (gathered != again) property_failed("encode_message(view) != encode_value(owning)");
}

} // namespace airlock::fuzz
