#pragma once
// Sizes and durations read from a table key, with located errors. Shared by the limits,
// grants and plugin sections.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "toml_reader.hpp"

namespace airlock::host::config_detail {

/// The size under `key` (which must exist): a string such as "256MiB" or integer bytes.
/// `what` names the value in messages, e.g. "memory limit".
std::uint64_t read_size(const TableReader& table, std::string_view key, std::string_view what);

/// The duration under `key` (which must exist): a string such as "10s".
std::chrono::milliseconds read_duration(const TableReader& table, std::string_view key,
                                        std::string_view what);

} // namespace airlock::host::config_detail
