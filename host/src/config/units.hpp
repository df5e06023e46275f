#pragma once
// Size and duration values as users write them in the config ("256MiB", "10s").
// Internal to the config loader; the parse functions throw std::invalid_argument whose
// message says what is wrong and what is allowed, and the loader adds the location.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::host::config_detail {

/// "256MiB", "64KiB", "1GiB", "512B" or "4096" (bytes). Units are powers of 1024.
/// Whole numbers only; zero, negative and values beyond 2^64-1 bytes are rejected.
std::uint64_t parse_size(std::string_view text);

/// A size given as a TOML integer: bytes, greater than zero.
std::uint64_t size_from_integer(std::int64_t bytes);

/// "500ms", "10s", "2m", "1h": a whole number and one unit. Zero, negative, unit-less
/// and overflowing values are rejected.
std::chrono::milliseconds parse_duration(std::string_view text);

/// "1536MiB" style rendering for messages and describe_policy (largest exact unit).
std::string format_size(std::uint64_t bytes);

/// "10s" / "1500ms" / "2m" style rendering (largest exact unit).
std::string format_duration(std::chrono::milliseconds duration);

} // namespace airlock::host::config_detail
