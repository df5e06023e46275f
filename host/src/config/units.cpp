#include "units.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace airlock::host::config_detail {
namespace {

struct Unit {
    std::string_view suffix;
    std::uint64_t factor;
};

constexpr std::array<Unit, 5> kSizeUnits = {{
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
}};

constexpr std::array<Unit, 4> kDurationUnits = {{
    {"ms", 1},
    {"s", 1'000},
    {"m", 60'000},
    {"h", 3'600'000},
}};

constexpr std::string_view kSizeHelp =
    "write a whole number with a unit B, KiB, MiB, GiB or TiB (powers of 1024), e.g. \"256MiB\", "
    "or an integer number of bytes";
constexpr std::string_view kDurationHelp =
    "write a whole number with a unit ms, s, m or h, e.g. \"500ms\", \"10s\", \"2m\"";


std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool is_space(char c) { return c == ' ' || c == '\t'; }

// A parsed "<digits><spaces><unit>" value, before the unit is looked up.
struct NumberAndUnit {
    std::uint64_t number = 0;
    std::string_view unit;
};

// Splits text into its leading whole number and the unit after it; `kind` ("size" or
// "duration") and `help` make the messages.
NumberAndUnit split_number(std::string_view text, std::string_view kind, std::string_view help) {
    std::size_t begin = 0;
    while (begin < text.size() && is_space(text[begin]))
        ++begin;
    std::size_t end = text.size();
    while (end > begin && is_space(text[end - 1]))
        --end;
    const std::string_view trimmed = text.substr(begin, end - begin);
    if (trimmed.empty())
        throw std::invalid_argument("empty " + std::string(kind) + "; " + std::string(help));
    if (trimmed.front() == '-')
        throw std::invalid_argument("negative " + std::string(kind) + " " + quote(text) + "; " +
                                    std::string(kind) + "s must be greater than zero");
    std::size_t digits = 0;
    while (digits < trimmed.size() && trimmed[digits] >= '0' && trimmed[digits] <= '9')
        ++digits;
    if (digits == 0)
        throw std::invalid_argument("invalid " + std::string(kind) + " " + quote(text) + "; " +
                                    std::string(help));
    if (digits < trimmed.size() && (trimmed[digits] == '.' || trimmed[digits] == ','))
        throw std::invalid_argument("invalid " + std::string(kind) + " " + quote(text) +
                                    ": fractions are not allowed; use a smaller unit, e.g. " +
                                    (kind == "size" ? "\"1536MiB\" for 1.5GiB" : "\"1500ms\" for 1.5s"));
    NumberAndUnit result;
    const auto [ptr, error] = std::from_chars(trimmed.data(), trimmed.data() + digits, result.number);
    if (error == std::errc::result_out_of_range)
        throw std::invalid_argument(std::string(kind) + " " + quote(text) + " is too large");
    std::size_t unit_begin = digits;
    while (unit_begin < trimmed.size() && is_space(trimmed[unit_begin]))
        ++unit_begin;
    result.unit = trimmed.substr(unit_begin);
    return result;
}

} // namespace

std::uint64_t parse_size(std::string_view text) {
    const auto [number, unit] = split_number(text, "size", kSizeHelp);
    std::uint64_t factor = 1;
    if (!unit.empty()) {
        const Unit* found = nullptr;
        for (const auto& candidate : kSizeUnits)
            if (candidate.suffix == unit)
                found = &candidate;
        if (found == nullptr)
            throw std::invalid_argument("unknown size unit " + quote(unit) + " in " + quote(text) +
                                        "; allowed units: B, KiB, MiB, GiB, TiB (powers of 1024)");
        factor = found->factor;
    }
    if (number == 0)
        throw std::invalid_argument("size " + quote(text) + " is zero; sizes must be greater than zero");
    if (number > std::numeric_limits<std::uint64_t>::max() / factor)
        throw std::invalid_argument("size " + quote(text) +
                                    " is too large; at most 18446744073709551615 bytes (16EiB - 1)");
    return number * factor;
}

std::uint64_t size_from_integer(std::int64_t bytes) {
    if (bytes < 0)
        throw std::invalid_argument("negative size " + std::to_string(bytes) +
                                    "; sizes must be greater than zero");
    if (bytes == 0)
        throw std::invalid_argument("size 0 is zero; sizes must be greater than zero");
    return static_cast<std::uint64_t>(bytes);
}

std::chrono::milliseconds parse_duration(std::string_view text) {
    const auto [number, unit] = split_number(text, "duration", kDurationHelp);
    if (unit.empty())
        throw std::invalid_argument("duration " + quote(text) + " has no unit; " + std::string(kDurationHelp));
    const Unit* found = nullptr;
    for (const auto& candidate : kDurationUnits)
        if (candidate.suffix == unit)
            found = &candidate;
    if (found == nullptr)
        throw std::invalid_argument("unknown duration unit " + quote(unit) + " in " + quote(text) +
                                    "; allowed units: ms, s, m, h");
    if (number == 0)
        throw std::invalid_argument("duration " + quote(text) +
                                    " is zero; durations must be greater than zero");
    // Cap far below milliseconds' int64 range: more than ~292 years is a typo, not a timeout.
    constexpr std::uint64_t kMaxMilliseconds = 1ULL << 53;
    if (number > kMaxMilliseconds / found->factor)
        throw std::invalid_argument("duration " + quote(text) + " is too large; at most " +
                                    std::to_string(kMaxMilliseconds / 3'600'000) + "h");
    return std::chrono::milliseconds(static_cast<std::int64_t>(number * found->factor));
}

std::string format_size(std::uint64_t bytes) {
    for (auto it = kSizeUnits.rbegin(); it != kSizeUnits.rend(); ++it)
        if (bytes >= it->factor && bytes % it->factor == 0)
            return std::to_string(bytes / it->factor) + std::string(it->suffix);
    return std::to_string(bytes) + "B";
}

std::string format_duration(std::chrono::milliseconds duration) {
    const auto ms = static_cast<std::uint64_t>(duration.count());
    for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it)
        if (ms >= it->factor && ms % it->factor == 0)
            return std::to_string(ms / it->factor) + std::string(it->suffix);
    return std::to_string(ms) + "ms";
}

} // namespace airlock::host::config_detail
