// Size and duration parsing: the edge cases users hit (units, zero, negative, overflow).
#include <catch2/catch.hpp>

#include "units.hpp"

using namespace airlock::host::config_detail;
using namespace std::chrono_literals;

namespace {
std::string size_error(std::string_view text) {
    try {
        parse_size(text);
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "no error";
}
std::string duration_error(std::string_view text) {
    try {
        parse_duration(text);
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "no error";
}
} // namespace

TEST_CASE("sizes with binary units") {
    CHECK(parse_size("1B") == 1);
    CHECK(parse_size("64KiB") == 64 * 1024);
    CHECK(parse_size("256MiB") == 256ULL * 1024 * 1024);
    CHECK(parse_size("1GiB") == 1ULL << 30);
    CHECK(parse_size("2TiB") == 2ULL << 40);
    CHECK(parse_size("4096") == 4096);
    CHECK(parse_size(" 16 MiB ") == 16ULL << 20);
}

TEST_CASE("size limits: the largest value fits, one more unit does not") {
    CHECK(parse_size("18446744073709551615") == 18446744073709551615ULL);
    CHECK(parse_size("16777215TiB") == 16777215ULL << 40);
    CHECK(size_error("16777216TiB") ==
          "size \"16777216TiB\" is too large; at most 18446744073709551615 bytes (16EiB - 1)");
    CHECK(size_error("18446744073709551616") == "size \"18446744073709551616\" is too large");
}

TEST_CASE("bad sizes say what is wrong and what is allowed") {
    CHECK(size_error("") == "empty size; write a whole number with a unit B, KiB, MiB, GiB or TiB "
                            "(powers of 1024), e.g. \"256MiB\", or an integer number of bytes");
    CHECK(size_error("0") == "size \"0\" is zero; sizes must be greater than zero");
    CHECK(size_error("0MiB") == "size \"0MiB\" is zero; sizes must be greater than zero");
    CHECK(size_error("-5MiB") == "negative size \"-5MiB\"; sizes must be greater than zero");
    CHECK(size_error("256MB") ==
          "unknown size unit \"MB\" in \"256MB\"; allowed units: B, KiB, MiB, GiB, TiB (powers of 1024)");
    CHECK(size_error("256mib") ==
          "unknown size unit \"mib\" in \"256mib\"; allowed units: B, KiB, MiB, GiB, TiB (powers of 1024)");
    CHECK(size_error("1.5GiB") == "invalid size \"1.5GiB\": fractions are not allowed; use a smaller "
                                  "unit, e.g. \"1536MiB\" for 1.5GiB");
    CHECK(size_error("MiB") == "invalid size \"MiB\"; write a whole number with a unit B, KiB, MiB, "
                               "GiB or TiB (powers of 1024), e.g. \"256MiB\", or an integer number of bytes");
}

TEST_CASE("sizes given as TOML integers are bytes") {
    CHECK(size_from_integer(1) == 1);
    CHECK(size_from_integer(9223372036854775807LL) == 9223372036854775807ULL);
    CHECK_THROWS_WITH(size_from_integer(0), "size 0 is zero; sizes must be greater than zero");
    CHECK_THROWS_WITH(size_from_integer(-1), "negative size -1; sizes must be greater than zero");
}

TEST_CASE("durations") {
    CHECK(parse_duration("500ms") == 500ms);
    CHECK(parse_duration("10s") == 10s);
    CHECK(parse_duration("2m") == 2min);
    CHECK(parse_duration("1h") == 1h);
    CHECK(parse_duration("1 s") == 1s);
}

TEST_CASE("bad durations") {
    CHECK(duration_error("10") == "duration \"10\" has no unit; write a whole number with a unit ms, "
                                  "s, m or h, e.g. \"500ms\", \"10s\", \"2m\"");
    CHECK(duration_error("0s") == "duration \"0s\" is zero; durations must be greater than zero");
    CHECK(duration_error("-1s") == "negative duration \"-1s\"; durations must be greater than zero");
    CHECK(duration_error("10sec") == "unknown duration unit \"sec\" in \"10sec\"; allowed units: ms, s, m, h");
    CHECK(duration_error("1m30s") == "unknown duration unit \"m30s\" in \"1m30s\"; allowed units: ms, s, m, h");
    CHECK(duration_error("1.5s") == "invalid duration \"1.5s\": fractions are not allowed; use a "
                                    "smaller unit, e.g. \"1500ms\" for 1.5s");
    CHECK(duration_error("9999999999999h") == "duration \"9999999999999h\" is too large; at most 2501999792h");
}

TEST_CASE("sizes and durations render with the largest exact unit") {
    CHECK(format_size(256ULL << 20) == "256MiB");
    CHECK(format_size(1536ULL << 20) == "1536MiB");
    CHECK(format_size(1000) == "1000B");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(120s) == "2m");
    CHECK(format_duration(10s) == "10s");
}
