// Type descriptions parsed back into specs, and JSON <-> message bodies through them.
#include <airlock/connection/codec.hpp>
#include <airlock/connection/dynamic_value.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <catch2/catch.hpp>

#include <chrono>

#include <limits>

using airlock::StatusCode;

namespace dyn_test {

enum class Access : std::uint8_t { Read = 1, Write = 2 };
AIRLOCK_ENUM(Access, Read, Write)

enum class Delta : std::int16_t { Down = -300, Flat = 0, Up = 300 };
AIRLOCK_ENUM(Delta, Down, Flat, Up)

struct Inner {
    airlock::String<8> label;
    std::optional<std::int32_t> weight;
};
AIRLOCK_STRUCT(Inner, label, weight)

struct Everything {
    std::int8_t i8 = 0;
    std::int16_t i16 = 0;
    std::int32_t i32 = 0;
    std::int64_t i64 = 0;
    std::uint8_t u8 = 0;
    std::uint16_t u16 = 0;
    std::uint32_t u32 = 0;
    std::uint64_t u64 = 0;
    bool flag = false;
    Access access = Access::Read;
    Delta delta = Delta::Flat;
    airlock::String<16> text;
    airlock::Bytes<8> blob;
    airlock::Vector<Inner, 3> inners;
    std::optional<airlock::String<4>> maybe;
    airlock::Vector<airlock::Vector<std::uint8_t, 2>, 2> nested;
    airlock::UniqueFd fd;
};
AIRLOCK_STRUCT(Everything, i8, i16, i32, i64, u8, u16, u32, u64, flag, access, delta, text, blob, inners, maybe,
               nested, fd)

struct Small {
    std::uint8_t count = 0;
    Access access = Access::Read;
    airlock::String<4> name;
    airlock::Vector<Inner, 2> items;
};
AIRLOCK_STRUCT(Small, count, access, name, items)

} // namespace dyn_test

namespace {

template <class T>
std::vector<std::uint8_t> typed_body(const T& value) {
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    REQUIRE(airlock::encode_value(value, body, fds).ok());
    return body;
}

template <class T>
airlock::ParsedType parsed_of() {
    auto parsed = airlock::ParsedType::parse(airlock::describe(airlock::spec_of<T>()));
    REQUIRE(parsed.ok());
    return std::move(*parsed);
}

/// typed value -> bytes -> JSON -> bytes must give the typed bytes again.
template <class T>
std::string round_trip(const T& value) {
    airlock::ParsedType parsed = parsed_of<T>();
    std::vector<std::uint8_t> body = typed_body(value);
    auto json = airlock::decode_to_json(parsed.spec(), body);
    INFO(json.status().to_string());
    REQUIRE(json.ok());
    auto again = airlock::encode_json(parsed.spec(), *json);
    INFO(*json);
    INFO(again.status().to_string());
    REQUIRE(again.ok());
    CHECK(*again == body);
    return *json;
}

dyn_test::Everything sample() {
    dyn_test::Everything v;
    v.i8 = -128;
    v.i16 = -32768;
    v.i32 = std::numeric_limits<std::int32_t>::min();
    v.i64 = std::numeric_limits<std::int64_t>::min();
    v.u8 = 255;
    v.u16 = 65535;
    v.u32 = 4294967295u;
    v.u64 = std::numeric_limits<std::uint64_t>::max();
    v.flag = true;
    v.access = dyn_test::Access::Write;
    v.delta = dyn_test::Delta::Down;
    v.text = std::string("h\xC3\xA9llo \"q\"\n\t\\");
    v.blob = std::vector<std::uint8_t>{0, 1, 254, 255, 42};
    v.inners = std::vector<dyn_test::Inner>{{airlock::String<8>("a"), -7}, {airlock::String<8>(""), std::nullopt}};
    v.maybe = airlock::String<4>("abcd");
    v.nested = std::vector<airlock::Vector<std::uint8_t, 2>>{{1, 2}, {}};
    return v;
}


airlock::Status encode_error(const airlock::TypeSpec& spec, std::string_view json) {
    auto body = airlock::encode_json(spec, json);
    REQUIRE_FALSE(body.ok());
    return body.status();
}

} // namespace

TEST_CASE("dynamic values: type descriptions parse back to specs that describe the same way", "[dynamic]") {
    for (const std::string& text :
         {airlock::describe(airlock::spec_of<dyn_test::Everything>()), airlock::describe(airlock::spec_of<dyn_test::Small>()),
          airlock::describe(airlock::spec_of<airlock::protocol::GrantTable>()),
          airlock::describe(airlock::spec_of<airlock::protocol::ReadyNotice>()), std::string("uint8"), std::string("bool"),
          std::string("fd"), std::string("enum E:int64{A=-9223372036854775808,B=7}"),
          std::string("optional<vector<bytes<3>,9>>"), std::string("struct ns::Outer{a:struct ns::Inner{b:int16}}")}) {
        INFO(text);
        auto parsed = airlock::ParsedType::parse(text);
        INFO(parsed.status().to_string());
        REQUIRE(parsed.ok());
        CHECK(airlock::describe(parsed->spec()) == text);
    }
    // The parsed tree survives moves of its owner.
    auto parsed = airlock::ParsedType::parse("struct S{v:vector<optional<string<3>>,4>}");
    REQUIRE(parsed.ok());
    airlock::ParsedType moved = std::move(*parsed);
    CHECK(airlock::describe(moved.spec()) == "struct S{v:vector<optional<string<3>>,4>}");
}

TEST_CASE("dynamic values: invalid type descriptions are refused with the offset", "[dynamic]") {
    struct Case {
        const char* text;
        const char* message;
    };
    for (const Case& c : {Case{"", "offset 0: expected a type"}, Case{"int7", "expected a type"},
                          Case{"string<>", "expected a number"}, Case{"string<5", "expected \">\""},
                          Case{"vector<uint8>", "expected \",\""}, Case{"struct S{a:uint8,a:bool}", "appears twice"},
                          Case{"enum E:float{A=1}", "enum's integer type"}, Case{"uint8 trailing", "after the type"},
                          Case{"struct {a:bool}", "expected a name"}}) {
        INFO(c.text);
        auto parsed = airlock::ParsedType::parse(c.text);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.status().code() == StatusCode::InvalidParameter);
        CHECK_THAT(parsed.status().message(), Catch::Contains(c.message));
    }
    std::string deep;
    for (int i = 0; i < 200; ++i) deep += "optional<";
    deep += "bool";
    for (int i = 0; i < 200; ++i) deep += ">";
    auto parsed = airlock::ParsedType::parse(deep);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.status().message(), Catch::Contains("nested deeper"));
}

TEST_CASE("dynamic values: numbers in type descriptions must be canonical (no leading zeros, no -0)", "[dynamic]") {
    // describe(parse(t)) == t needs one spelling per number: "string<064>" would read as
    // "string<64>", "=-07" as -7. The error names the offset of the first digit.
    struct Case {
        const char* text;
        const char* message;
    };
    for (const Case& c : {Case{"string<064>", "offset 7: number \"064\" has a leading zero"},
                          Case{"bytes<00>", "offset 6: number \"00\" has a leading zero"},
                          Case{"vector<uint8,010>", "offset 13: number \"010\" has a leading zero"},
                          Case{"enum E:int8{A=-07}", "offset 15: number \"-07\" has a leading zero"},
                          Case{"enum E:uint8{A=1,B=02}", "offset 19: number \"02\" has a leading zero"},
                          Case{"enum E:int8{A=-0}", "offset 15: number \"-0\" is not canonical"}}) {
        INFO(c.text);
        auto parsed = airlock::ParsedType::parse(c.text);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.status().code() == StatusCode::InvalidParameter);
        CHECK_THAT(parsed.status().message(), Catch::Contains(c.message));
    }
    // "0" itself, and numbers ending in zeros, are canonical and describe back unchanged.
    for (const char* text : {"string<0>", "vector<uint8,0>", "bytes<100>", "enum E:int8{A=0,B=-10,C=10}"}) {
        INFO(text);
        auto parsed = airlock::ParsedType::parse(text);
        INFO(parsed.status().to_string());
        REQUIRE(parsed.ok());
        CHECK(airlock::describe(parsed->spec()) == text);
    }
}

TEST_CASE("dynamic values: every kind round-trips typed bytes -> JSON -> the same bytes", "[dynamic]") {
    std::string json = round_trip(sample());
    CHECK_THAT(json, Catch::StartsWith(R"({"i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"u8":255,)"));
    CHECK_THAT(json, Catch::Contains("\"text\":\"h\xC3\xA9llo \\\"q\\\"\\n\\t\\\\\""));
    CHECK_THAT(json, Catch::Contains(R"("inners":[{"label":"a","weight":-7},{"label":"","weight":null}])"));
    CHECK_THAT(json, Catch::Contains(R"("nested":[[1,2],[]])"));
    CHECK_THAT(json, Catch::Contains(R"("access":"Write")"));
    CHECK_THAT(json, Catch::Contains(R"("blob":"AAH+/yo=")"));
    CHECK_THAT(json, Catch::Contains(R"("u64":18446744073709551615)"));
    CHECK_THAT(json, Catch::Contains(R"("i64":-9223372036854775808)"));
    CHECK_THAT(json, Catch::Contains(R"("maybe":"abcd")"));
    CHECK_THAT(json, Catch::Contains(R"("fd":null)"));

    // Defaults, empties and the other enumerators.
    dyn_test::Everything zero;
    zero.access = dyn_test::Access::Read;
    zero.delta = dyn_test::Delta::Up;
    std::string z = round_trip(zero);
    CHECK_THAT(z, Catch::Contains(R"("blob":"","inners":[],"maybe":null)"));
    CHECK_THAT(z, Catch::Contains(R"("delta":"Up")"));

    // Base64 of every length remainder, and plain scalars at the top level.
    for (std::size_t n = 0; n <= 8; ++n) {
        dyn_test::Everything v;
        for (std::size_t i = 0; i < n; ++i) v.blob.push_back(static_cast<std::uint8_t>(0xF0 + i));
        round_trip(v);
    }
    round_trip(std::uint16_t{513});
    round_trip(true);
    round_trip(std::optional<std::int8_t>{-1});
    round_trip(airlock::protocol::LogRecord{airlock::protocol::LogLevel::Warning, airlock::String<4096>("line")});
}

TEST_CASE("dynamic values: JSON input: numbers, escapes, bytes as arrays, optional members left out", "[dynamic]") {
    auto parsed = parsed_of<dyn_test::Small>();
    auto body = airlock::encode_json(parsed.spec(),
                                     " { \"items\" : [ {\"label\":\"\\u00e9\\ud83d\\ude00\"} ], \"name\":\"ab\","
                                     " \"access\":\"Read\", \"count\": 0 } ");
    INFO(body.status().to_string());
    REQUIRE(body.ok());
    dyn_test::Small expected{0, dyn_test::Access::Read, airlock::String<4>("ab"),
                             std::vector<dyn_test::Inner>{{airlock::String<8>("\xC3\xA9\xF0\x9F\x98\x80"), std::nullopt}}};
    CHECK(*body == typed_body(expected));

    auto blob = airlock::ParsedType::parse("bytes<4>");
    REQUIRE(blob.ok());
    auto from_array = airlock::encode_json(blob->spec(), "[1, 2, 255]");
    REQUIRE(from_array.ok());
    CHECK(*from_array == std::vector<std::uint8_t>{3, 0, 0, 0, 1, 2, 255});
    auto from_base64 = airlock::encode_json(blob->spec(), "\"AQL/\"");
    REQUIRE(from_base64.ok());
    CHECK(*from_base64 == *from_array);
}

TEST_CASE("dynamic values: out-of-bounds values and wrong JSON types name the member path", "[dynamic]") {
    auto parsed = parsed_of<dyn_test::Small>();
    const airlock::TypeSpec& spec = parsed.spec();
    struct Case {
        const char* json;
        const char* message;
    };
    for (const Case& c : {
             Case{R"({"count":256,"access":"Read","name":"ab","items":[]})", "count: 256 is out of range for uint8 [0, 255]"},
             Case{R"({"count":-1,"access":"Read","name":"ab","items":[]})", "count: -1 is out of range for uint8"},
             Case{R"({"count":1.5,"access":"Read","name":"ab","items":[]})", "count: 1.5 is not an integer"},
             Case{R"({"count":"1","access":"Read","name":"ab","items":[]})", "count: expected an integer (uint8), got a string"},
             Case{R"({"count":1,"access":"Exec","name":"ab","items":[]})",
                  "access: \"Exec\" is not a declared Access (one of: Read, Write)"},
             Case{R"({"count":1,"access":1,"name":"ab","items":[]})", "access: expected the name of a Access"},
             Case{R"({"count":1,"access":"Read","name":"abcde","items":[]})",
                  "name: length 5 exceeds the declared maximum 4"},
             Case{R"({"count":1,"access":"Read","name":"ab","items":[{"label":"123456789"}]})",
                  "items[0].label: length 9 exceeds the declared maximum 8"},
             Case{R"({"count":1,"access":"Read","name":"ab","items":[{"label":"x","weight":2147483648}]})",
                  "items[0].weight: 2147483648 is out of range for int32 [-2147483648, 2147483647]"},
             Case{R"({"count":1,"access":"Read","name":"ab","items":[{"label":"x"},{"label":"x"},{"label":"x"}]})",
                  "items: count 3 exceeds the declared maximum 2"},
             Case{R"({"count":1,"access":"Read","name":"ab","items":[{}]})", "items[0].label: missing"},
             Case{R"({"count":1,"access":"Read","name":"ab"})", "items: missing"},
             Case{R"({"count":1,"access":"Read","name":"ab","items":[],"extra":1})",
                  "struct Small has no member \"extra\" (members: count, access, name, items)"},
             Case{R"([1])", "expected an object (struct Small), got an array"},
         }) {
        INFO(c.json);
        airlock::Status status = encode_error(spec, c.json);
        CHECK(status.code() == StatusCode::InvalidParameter);
        CHECK_THAT(status.message(), Catch::Contains(c.message));
    }

    auto with_fd = parsed_of<dyn_test::Everything>();
    std::string everything_json = *airlock::decode_to_json(with_fd.spec(), typed_body(sample()));
    std::string fd_json = everything_json.substr(0, everything_json.size() - std::string("null}").size()) + "3}";
    airlock::Status fd_status = encode_error(with_fd.spec(), fd_json);
    CHECK_THAT(fd_status.message(), Catch::Contains("fd: is a file descriptor: descriptors cannot be passed as JSON"));

    auto blob = airlock::ParsedType::parse("struct B{b:bytes<2>}");
    REQUIRE(blob.ok());
    CHECK_THAT(encode_error(blob->spec(), R"({"b":"AAAA"})").message(),
               Catch::Contains("b: length 3 exceeds the declared maximum 2"));
    CHECK_THAT(encode_error(blob->spec(), R"({"b":"A*=="})").message(), Catch::Contains("b: expected base64"));
    CHECK_THAT(encode_error(blob->spec(), R"({"b":[1,256]})").message(), Catch::Contains("b[1]: expected a number 0-255, got 256"));
}

TEST_CASE("dynamic values: malformed JSON is refused with line and column", "[dynamic]") {
    auto parsed = parsed_of<dyn_test::Small>();
    struct Case {
        const char* json;
        const char* message;
    };
    for (const Case& c : {Case{"", "line 1, column 1: unexpected end of input"},
                          Case{"{\"count\":1,", "expected a member name"},
                          Case{"{\"count\" 1}", "expected ':'"},
                          Case{"{\n  \"count\": 01}", "line 2, column 13: expected ',' or '}'"},
                          Case{"[1 2]", "expected ',' or ']'"},
                          Case{"\"abc", "unterminated string"},
                          Case{"\"a\\x\"", "invalid escape"},
                          Case{"\"\\ud800\"", "surrogate"},
                          Case{"tru", "expected a value"},
                          Case{"{} {}", "unexpected text after the JSON value"},
                          Case{"{\"a\":1,\"a\":2}", "member \"a\" appears twice"},
                          Case{"-", "expected digits"},
                          Case{"\"tab\there\"", "control character"}}) {
        INFO(c.json);
        airlock::Status status = encode_error(parsed.spec(), c.json);
        CHECK(status.code() == StatusCode::InvalidParameter);
        CHECK_THAT(status.message(), Catch::StartsWith("invalid JSON at line"));
        CHECK_THAT(status.message(), Catch::Contains(c.message));
    }
    std::string deep(1000, '[');
    CHECK_THAT(encode_error(parsed.spec(), deep).message(), Catch::Contains("nested deeper"));
}

TEST_CASE("dynamic values: decoding to JSON verifies the body like the typed codec", "[dynamic]") {
    auto parsed = parsed_of<dyn_test::Small>();
    dyn_test::Small value{3, dyn_test::Access::Write, airlock::String<4>("ab"),
                          std::vector<dyn_test::Inner>{{airlock::String<8>("x"), 5}}};
    std::vector<std::uint8_t> good = typed_body(value);
    auto json = airlock::decode_to_json(parsed.spec(), good);
    REQUIRE(json.ok());
    CHECK(*json == R"({"count":3,"access":"Write","name":"ab","items":[{"label":"x","weight":5}]})");

    auto expect_malformed = [&](std::vector<std::uint8_t> body, const char* message) {
        auto typed = airlock::decode_value<dyn_test::Small>(body, {});
        auto dynamic = airlock::decode_to_json(parsed.spec(), body);
        REQUIRE_FALSE(typed.ok());
        REQUIRE_FALSE(dynamic.ok());
        CHECK(dynamic.status().code() == StatusCode::Malformed);
        CHECK(dynamic.status().message() == typed.status().message());  // same checks, same words
        CHECK_THAT(dynamic.status().message(), Catch::Contains(message));
    };
    std::vector<std::uint8_t> bad_enum = good;
    bad_enum[1] = 9;
    expect_malformed(bad_enum, "access: value 9 is not a declared Access");
    std::vector<std::uint8_t> long_name = good;
    long_name[2] = 5;
    expect_malformed(long_name, "name: length 5 exceeds the declared maximum 4");
    std::vector<std::uint8_t> trailing = good;
    trailing.push_back(0);
    expect_malformed(trailing, "1 trailing bytes");
    std::vector<std::uint8_t> truncated(good.begin(), good.end() - 2);
    expect_malformed(truncated, "items[0].weight: truncated");
    std::vector<std::uint8_t> bad_presence = good;
    bad_presence[bad_presence.size() - 5] = 2;
    expect_malformed(bad_presence, "items[0].weight: presence byte is 2");

    auto boolean = airlock::ParsedType::parse("bool");
    REQUIRE(boolean.ok());
    auto bad_bool = airlock::decode_to_json(boolean->spec(), std::vector<std::uint8_t>{2});
    REQUIRE_FALSE(bad_bool.ok());
    CHECK_THAT(bad_bool.status().message(), Catch::Contains("boolean byte is 2"));
}

TEST_CASE("dynamic values: descriptors in decoded bodies are shown by index and checked", "[dynamic]") {
    auto parsed = airlock::ParsedType::parse("struct F{a:fd,b:fd}");
    REQUIRE(parsed.ok());
    std::vector<std::uint8_t> body{1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
    auto json = airlock::decode_to_json(parsed->spec(), body, 2);
    REQUIRE_FALSE(json.ok());
    CHECK_THAT(json.status().message(), Catch::Contains("descriptor 0 of 2 is not referenced"));
    json = airlock::decode_to_json(parsed->spec(), body, 1);
    REQUIRE_FALSE(json.ok());
    CHECK_THAT(json.status().message(), Catch::Contains("a: descriptor index 1 is out of range"));
    body[0] = 0;
    json = airlock::decode_to_json(parsed->spec(), body, 1);
    REQUIRE(json.ok());
    CHECK(*json == R"({"a":"<fd 0>","b":null})");
}

TEST_CASE("dynamic values: json_quote and json_pretty", "[dynamic]") {
    CHECK(airlock::json_quote("a\x01\x7f") == R"("a\u0001\u007f")");
    CHECK(airlock::json_quote("bad \xFF byte") == "\"bad \xEF\xBF\xBD byte\"");
    CHECK(airlock::json_quote("\xE2\x82") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    CHECK(airlock::json_pretty(R"({"a":[1,{}],"b":"x,{y}"})") == "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": \"x,{y}\"\n}");
}

TEST_CASE("dynamic values: random bodies are judged like the typed codec, and valid ones round-trip", "[dynamic]") {
    auto parsed = parsed_of<dyn_test::Everything>();
    std::vector<std::uint8_t> valid = typed_body(sample());
    std::uint32_t seed = 12345;
    auto next = [&] {
        seed = seed * 1664525u + 1013904223u;
        return seed >> 8;
    };
    int accepted = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<std::uint8_t> body = valid;
        int flips = 1 + static_cast<int>(next() % 3);
        for (int i = 0; i < flips; ++i) body[next() % body.size()] = static_cast<std::uint8_t>(next());
        if (next() % 4 == 0) body.resize(next() % body.size());
        auto typed = airlock::decode_value<dyn_test::Everything>(body, {});
        auto json = airlock::decode_to_json(parsed.spec(), body);
        REQUIRE(typed.ok() == json.ok());
        if (!json.ok()) {
            CHECK(json.status().message() == typed.status().message());
            continue;
        }
        ++accepted;
        // Strings with invalid UTF-8 are shown with U+FFFD (lossy, and possibly longer than the
        // bound), so only bodies with valid text must round-trip exactly.
        if (json->find("\xEF\xBF\xBD") != std::string::npos) continue;
        auto again = airlock::encode_json(parsed.spec(), *json);
        INFO(*json);
        REQUIRE(again.ok());
        CHECK(*again == body);
    }
    CHECK(accepted > 0);
}

TEST_CASE("dynamic values: corrupted JSON text never crashes and fails as InvalidParameter", "[dynamic]") {
    auto parsed = parsed_of<dyn_test::Everything>();
    std::string valid = *airlock::decode_to_json(parsed.spec(), typed_body(sample()));
    const std::string alphabet = "{}[]\",:0123456789-.eE\\u tnfalsr\x01\xC3\xFF";
    std::uint32_t seed = 777;
    auto next = [&] {
        seed = seed * 1664525u + 1013904223u;
        return seed >> 8;
    };
    for (int round = 0; round < 3000; ++round) {
        std::string text = valid;
        int edits = 1 + static_cast<int>(next() % 4);
        for (int i = 0; i < edits; ++i) {
            std::size_t at = next() % text.size();
            switch (next() % 3) {
            case 0: text[at] = alphabet[next() % alphabet.size()]; break;
            case 1: text.erase(at, 1 + next() % 3); break;
            default: text.insert(at, 1, alphabet[next() % alphabet.size()]); break;
            }
            if (text.empty()) text = "{";
        }
        auto body = airlock::encode_json(parsed.spec(), text);
        if (!body.ok()) CHECK(body.status().code() == StatusCode::InvalidParameter);
        else CHECK(airlock::decode_to_json(parsed.spec(), *body).ok());  // whatever was accepted is a valid body
    }
}

// ------------------------------------------------------------------------------------------
// Limits: untrusted descriptions, bodies and JSON cannot drive time or memory past linear.
// ------------------------------------------------------------------------------------------

namespace dyn_test {

struct Pair {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
};
AIRLOCK_STRUCT(Pair, a, b)

struct Pairs {
    airlock::Vector<Pair, 100> items;
};
AIRLOCK_STRUCT(Pairs, items)

} // namespace dyn_test

namespace {

// A little-endian u32 appended to `body`.
void put_u32(std::vector<std::uint8_t>& body, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) body.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::string many(const std::string& prefix, std::size_t count, const std::string& suffix, const char* separator = ",") {
    std::string text;
    for (std::size_t i = 0; i < count; ++i) text += (i ? separator : "") + prefix + std::to_string(i) + suffix;
    return text;
}

} // namespace

TEST_CASE("dynamic values: every spec knows its minimum encoded size, typed and parsed alike", "[dynamic][limits]") {
    CHECK(airlock::spec_of<dyn_test::Pair>().min_encoded_size == 16);
    CHECK(airlock::spec_of<dyn_test::Pairs>().min_encoded_size == 4);
    CHECK(airlock::spec_of<dyn_test::Inner>().min_encoded_size == 4 + 1);
    for (const std::string& text : {airlock::describe(airlock::spec_of<dyn_test::Everything>()),
                                    airlock::describe(airlock::spec_of<airlock::protocol::ReadyNotice>()),
                                    airlock::describe(airlock::spec_of<dyn_test::Pair>())}) {
        INFO(text);
        auto parsed = airlock::ParsedType::parse(text);
        REQUIRE(parsed.ok());
        CHECK(parsed->spec().min_encoded_size > 0);
    }
    CHECK(airlock::ParsedType::parse(airlock::describe(airlock::spec_of<dyn_test::Everything>()))->spec().min_encoded_size ==
          airlock::spec_of<dyn_test::Everything>().min_encoded_size);
    auto parsed = airlock::ParsedType::parse("struct S{a:int16,b:optional<uint64>,c:fd,d:vector<bool,3>,e:enum K:uint32{X=1}}");
    REQUIRE(parsed.ok());
    CHECK(parsed->spec().min_encoded_size == 2 + 1 + 4 + 4 + 4);
}

TEST_CASE("dynamic values: empty structs and enums are refused (AIRLOCK_STRUCT/ENUM cannot declare them)", "[dynamic][limits]") {
    for (const char* text : {"struct E{}", "vector<vector<struct E{},4294967295>,4294967295>", "enum K:uint8{}",
                             "struct S{a:uint8,b:struct E{}}"}) {
        INFO(text);
        auto parsed = airlock::ParsedType::parse(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.status().code() == StatusCode::InvalidParameter);
        CHECK_THAT(parsed.status().message(), Catch::Contains("has no members") || Catch::Contains("has no enumerators"));
    }
}

TEST_CASE("dynamic values: a vector's count is bounded by its element's minimum size", "[dynamic][limits]") {
    // Two 16-byte elements claimed in 16 bytes: refused at the count, before any element.
    std::vector<std::uint8_t> body;
    put_u32(body, 2);
    body.resize(body.size() + 16, 0);
    auto parsed = airlock::ParsedType::parse(airlock::describe(airlock::spec_of<dyn_test::Pairs>()));
    REQUIRE(parsed.ok());
    auto json = airlock::decode_to_json(parsed->spec(), body);
    REQUIRE_FALSE(json.ok());
    CHECK(json.status().message() == "items: truncated: length 2 exceeds the message");
    auto typed = airlock::decode_value<dyn_test::Pairs>(body, {});
    REQUIRE_FALSE(typed.ok());
    CHECK(typed.status().message() == "items: truncated: length 2 exceeds the message");
}

TEST_CASE("dynamic values: type descriptions are bounded in length, name length and member count", "[dynamic][limits]") {
    auto refused = [](const std::string& text, const std::string& message) {
        auto parsed = airlock::ParsedType::parse(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.status().code() == StatusCode::InvalidParameter);
        CHECK_THAT(parsed.status().message(), Catch::Contains(message));
    };
    refused("struct S{a:bytes<1>," + many("m", 2000, ":bool") + "}", "more than the limit of 16384");
    refused("struct " + std::string(129, 'N') + "{a:bool}", "a name longer than 128 bytes");
    refused("struct S{" + many("m", 257, ":bool") + "}", "struct S has more than 256 members");
    refused("enum K:uint16{" + many("v", 257, "=1") + "}", "enum K has more than 256 enumerators");
    CHECK(airlock::ParsedType::parse("struct S{" + many("m", 256, ":bool") + "}").ok());
    CHECK(airlock::ParsedType::parse("struct " + std::string(128, 'N') + "{a:bool}").ok());
}

TEST_CASE("dynamic values: JSON objects are bounded in members, duplicates found fast, values bounded", "[dynamic][limits]") {
    auto parsed = airlock::ParsedType::parse("struct S{a:bool}");
    REQUIRE(parsed.ok());
    // 80,000 distinct names: refused at the member limit (this took seconds when every name was
    // compared with every earlier one).
    std::string huge = "{" + many("\"k", 80000, "\":0") + "}";
    CHECK_THAT(encode_error(parsed->spec(), huge).message(), Catch::Contains("more than 4096 members in one object"));
    // A duplicate as the last of 4096 names is still found, naming the member.
    std::string duplicate = "{" + many("\"k", 4095, "\":0") + ",\"k17\":1}";
    CHECK_THAT(encode_error(parsed->spec(), duplicate).message(), Catch::Contains("member \"k17\" appears twice"));
    // Values at any depth count towards one limit.
    std::string numbers = "[" + many("", 262145, "") + "]";
    auto bytes = airlock::ParsedType::parse("bytes<4294967295>");
    REQUIRE(bytes.ok());
    CHECK_THAT(encode_error(bytes->spec(), numbers).message(), Catch::Contains("more than 262144 values in one document"));
    std::string deep(129, '[');
    CHECK_THAT(encode_error(bytes->spec(), deep).message(), Catch::Contains("nested deeper than 128 levels"));
}

TEST_CASE("dynamic values: encode_json caps the body it builds", "[dynamic][limits]") {
    // Each "{}" leaves out 256 descriptors: 1 KiB of body for 3 bytes of JSON.
    auto parsed = airlock::ParsedType::parse("vector<struct F{" + many("f", 256, ":fd") + "},100000>");
    REQUIRE(parsed.ok());
    std::string json = "[";
    for (int i = 0; i < 70000; ++i) json += i ? ",{}" : "{}";
    json += "]";
    // 210,001 bytes of JSON: refused at 16 bytes per byte of it plus 64 KiB (3,425,552 bytes).
    // Before, only at 64 MiB: a second of CPU time and 170 MB for what a control client sent.
    const auto started = std::chrono::steady_clock::now();
    airlock::Status status = encode_error(parsed->spec(), json);
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(status.code() == StatusCode::InvalidParameter);
    CHECK_THAT(status.message(), Catch::Contains("the message body would exceed 3425552 bytes"));
    CHECK_THAT(status.message(), Catch::Contains("write left-out optional and fd members as null"));
    CHECK(took < std::chrono::milliseconds(500));
    // A few left out fit the allowance (63 "{}": 63 KiB of body from 190 bytes of JSON).
    std::string few = "[";
    for (int i = 0; i < 63; ++i) few += i ? ",{}" : "{}";
    few += "]";
    auto small = airlock::encode_json(parsed->spec(), few);
    REQUIRE(small.ok());
    CHECK(small->size() == 4 + 63 * 1024);
    // Written out, the same members are not limited by it: 200 structs of 256 nulls.
    const std::string nulls = "{" + many("\"f", 256, "\":null") + "}";
    std::string written = "[" + nulls;
    for (int i = 1; i < 200; ++i) written += "," + nulls;
    written += "]";
    auto body = airlock::encode_json(parsed->spec(), written);
    REQUIRE(body.ok());
    CHECK(body->size() == 4 + 200 * 1024);
}

TEST_CASE("dynamic values: decode_to_json caps the JSON it builds", "[dynamic][limits]") {
    // One byte of body per element, 128+ bytes of JSON per element (the member name).
    const std::string name(128, 'n');
    auto parsed = airlock::ParsedType::parse("vector<struct W{" + name + ":uint8},4294967295>");
    REQUIRE(parsed.ok());
    const std::uint32_t count = 200000;  // about 26 MB of JSON
    std::vector<std::uint8_t> body;
    put_u32(body, count);
    body.resize(body.size() + count, 7);
    auto json = airlock::decode_to_json(parsed->spec(), body);
    REQUIRE_FALSE(json.ok());
    CHECK(json.status().code() == StatusCode::Malformed);
    CHECK_THAT(json.status().message(), Catch::Contains("the message as JSON would exceed 16777216 bytes"));
    // Under the cap it decodes.
    std::vector<std::uint8_t> small;
    put_u32(small, 1000);
    small.resize(small.size() + 1000, 7);
    CHECK(airlock::decode_to_json(parsed->spec(), small).ok());
}

TEST_CASE("dynamic values: json_pretty never fails on unbalanced input", "[dynamic][limits]") {
    CHECK(airlock::json_pretty("]]") == "\n]\n]");
    CHECK(airlock::json_pretty("}{\"a\":1") == "\n}{\n  \"a\": 1");
    // Indentation stops at 64 levels: the output stays linear in the input.
    std::string deep(10000, '[');
    CHECK(airlock::json_pretty(deep).size() < deep.size() * (2 + 2 * 64));
}

TEST_CASE("a refused long type description is quoted only around the error") {
    // A peer's description can be tens of kilobytes; the refusal is logged on every restart.
    std::string text = "struct Big{";
    for (int i = 0; i < 200; ++i) text += "f" + std::to_string(i) + ":string<64>,";
    text += "bad:nonsense}";
    auto parsed = airlock::ParsedType::parse(text);
    REQUIRE_FALSE(parsed.ok());
    const std::string message = parsed.status().message();
    INFO(message);
    CHECK(message.size() < 400);
    CHECK(message.find("invalid type description at offset") == 0);
    CHECK(message.find("bad:nonsense") != std::string::npos);  // the excerpt shows where
    CHECK(message.find("f0:string<64>") == std::string::npos);

    auto short_one = airlock::ParsedType::parse("struct S{x:nonsense}");
    REQUIRE_FALSE(short_one.ok());
    CHECK(short_one.status().message().find("(in \"struct S{x:nonsense}\")") != std::string::npos);
}
