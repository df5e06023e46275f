#pragma once
// Base64 (standard alphabet, '=' padding) for bytes<N> values in JSON. Internal to the
// connection library.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::detail {

/// `data` in base64, padded with '='.
std::string base64_encode(std::span<const std::uint8_t> data);

/// The bytes `text` encodes; nullopt when it is not padded base64 of the standard alphabet.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

} // namespace airlock::detail
