// Red team, round 9 (amplification): what the host does with a peer's type descriptions, JSON
// and bodies costs the same per byte however the peer shapes them. Each case converts two
// inputs of about the same size, one shaped for the worst case (structs and enums of 256
// names) and one plain, and compares the CPU time per byte. Before round 9 names were looked
// up by scanning all of them, and the worst case cost 4.2 to 9 times the plain one per byte
// (now 0.5 to 1.3, also under ASan and TSan); the bound (2.5 times) leaves room for noise, and
// both sides run interleaved on one thread's CPU clock, so a busy machine slows both alike.
#include <airlock/connection/dynamic_value.hpp>

#include <catch2/catch.hpp>

#include "../support/type_description_shapes.hpp"

#include <time.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace airlock;
using airlock::test::nested_structs;
using airlock::test::two_letter_name;

namespace {

std::chrono::nanoseconds thread_cpu() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// CPU time per byte of `shaped` over that of `plain`, each run `rounds` times, alternately.
double cost_ratio(const std::function<void()>& shaped, std::size_t shaped_bytes, const std::function<void()>& plain,
                  std::size_t plain_bytes, int rounds) {
    std::chrono::nanoseconds shaped_time{0}, plain_time{0};
    for (int i = 0; i < rounds; ++i) {
        auto start = thread_cpu();
        shaped();
        auto middle = thread_cpu();
        plain();
        plain_time += thread_cpu() - middle;
        shaped_time += middle - start;
    }
    const double ratio = (double(shaped_time.count()) / double(shaped_bytes)) /
                         (double(plain_time.count()) / double(plain_bytes));
    WARN("shaped " << shaped_time.count() / 1000 / rounds << " us for " << shaped_bytes << " bytes, plain "
                            << plain_time.count() / 1000 / rounds << " us for " << plain_bytes << " bytes: ratio "
                            << ratio);
    return ratio;
}

std::string enum_of(int count, std::uint64_t max) {
    std::string text = "vector<enum E:uint8{";
    for (int i = 0; i < count; ++i) text += (i ? "," : "") + two_letter_name(i) + "=" + std::to_string(i);
    return text + "}," + std::to_string(max) + ">";
}

std::vector<std::uint8_t> counted(std::uint32_t count, std::uint8_t byte) {
    std::vector<std::uint8_t> body(4 + count, byte);
    for (int i = 0; i < 4; ++i) body[i] = static_cast<std::uint8_t>(count >> (8 * i));
    return body;
}

} // namespace

TEST_CASE("amplification: a description of 256-member structs and 256-name enums parses at the cost per byte of any other") {
    const std::string wide = nested_structs(256, kMaxTypeDescriptionLength);
    const std::string narrow = nested_structs(16, kMaxTypeDescriptionLength);
    std::string enums = "struct T{";
    for (int e = 0; e < 6; ++e) {
        enums += (e ? "," : "") + two_letter_name(e) + ":enum E" + std::to_string(e) + ":uint8{";
        for (int i = 0; i < 256; ++i) enums += (i ? "," : "") + two_letter_name(i) + "=" + std::to_string(i % 10);
        enums += "}";
    }
    enums += "}";
    for (const std::string* text : {&wide, &narrow, static_cast<const std::string*>(&enums)}) {
        REQUIRE(text->size() <= kMaxTypeDescriptionLength);
        REQUIRE(ParsedType::parse(*text));
    }
    auto parse = [](const std::string& text) {
        return [&text] {
            for (int i = 0; i < 10; ++i) (void)ParsedType::parse(text);
        };
    };
    CHECK(cost_ratio(parse(wide), wide.size(), parse(narrow), narrow.size(), 20) < 2.5);
    CHECK(cost_ratio(parse(enums), enums.size(), parse(narrow), narrow.size(), 20) < 2.5);
}

TEST_CASE("amplification: JSON objects of 256 members and enum names convert at the cost per byte of integers") {
    std::string members_type = "vector<struct S{";
    for (int i = 0; i < 256; ++i) members_type += (i ? "," : "") + two_letter_name(i) + ":optional<uint8>";
    members_type += "},100000>";
    auto members = ParsedType::parse(members_type);
    auto enums = ParsedType::parse(enum_of(256, 1000000));
    auto integers = ParsedType::parse("vector<uint16,1000000>");
    REQUIRE(members);
    REQUIRE(enums);
    REQUIRE(integers);

    std::string object = "{";
    for (int i = 255; i >= 0; --i) object += "\"" + two_letter_name(i) + "\":null" + (i ? "," : "");
    object += "}";
    std::string objects = "[", names = "[", numbers = "[";
    for (int k = 0; k < 100; ++k) objects += (k ? "," : "") + object;
    for (int k = 0; k < 40000; ++k) names += k ? ",\"" + two_letter_name(255) + "\"" : "\"" + two_letter_name(255) + "\"";
    for (int k = 0; k < 40000; ++k) numbers += k ? ",65535" : "65535";
    objects += "]";
    names += "]";
    numbers += "]";
    REQUIRE(encode_json(members->spec(), objects));
    REQUIRE(encode_json(enums->spec(), names));
    REQUIRE(encode_json(integers->spec(), numbers));

    auto encode = [](const ParsedType& type, const std::string& json) {
        return [&type, &json] { (void)encode_json(type.spec(), json); };
    };
    CHECK(cost_ratio(encode(*members, objects), objects.size(), encode(*integers, numbers), numbers.size(), 10) < 2.5);
    CHECK(cost_ratio(encode(*enums, names), names.size(), encode(*integers, numbers), numbers.size(), 10) < 2.5);
}

TEST_CASE("amplification: a body of enum values converts to JSON at the cost per byte of integers") {
    // The last of 256 enumerators, one byte each, against uint8 values of three digits.
    auto enums = ParsedType::parse(enum_of(256, 100000000));
    auto integers = ParsedType::parse("vector<uint8,100000000>");
    REQUIRE(enums);
    REQUIRE(integers);
    const std::vector<std::uint8_t> names = counted(200000, 255), numbers = counted(200000, 255);
    REQUIRE(decode_to_json(enums->spec(), names));
    REQUIRE(decode_to_json(integers->spec(), numbers));
    auto decode = [](const ParsedType& type, const std::vector<std::uint8_t>& body) {
        return [&type, &body] { (void)decode_to_json(type.spec(), body); };
    };
    CHECK(cost_ratio(decode(*enums, names), names.size(), decode(*integers, numbers), numbers.size(), 10) < 2.5);
}
