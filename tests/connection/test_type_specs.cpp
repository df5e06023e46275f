// Rules 1-2: type specifications and the wire format (pure encode/decode, no sockets).
#include "test_support.hpp"

#include <catch2/catch.hpp>

using airlock::StatusCode;
using airlock::UniqueFd;

namespace {

struct Roundtrip {
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
};

template <class T>
Roundtrip encode(const T& value) {
    Roundtrip r;
    airlock::Status s = airlock::encode_value(value, r.body, r.fds);
    REQUIRE(s.ok());
    return r;
}

// Duplicates borrowed descriptors, as the kernel does when it passes them.
std::vector<UniqueFd> duplicate(const std::vector<int>& fds) {
    std::vector<UniqueFd> copies;
    for (int fd : fds) copies.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    return copies;
}

} // namespace

TEST_CASE("type specs: every kind round-trips with its value", "[type-spec]") {
    test::Outer out;
    out.id = 0x0102030405060708ULL;
    out.delta = -42;
    out.flag = true;
    out.label = "hello";
    out.blob = airlock::Bytes<1 << 21>{1, 2, 3, 255};
    out.grants.push_back(test::Grant{"input", test::Access::Write, {}});
    out.inner = test::Inner{-7, {}};
    out.maybe = 9;
    Roundtrip r = encode(out);
    CHECK(r.fds.empty());
    auto decoded = airlock::decode_value<test::Outer>(r.body, {});
    REQUIRE(decoded.ok());
    CHECK(decoded->id == out.id);
    CHECK(decoded->delta == -42);
    CHECK(decoded->flag);
    CHECK(decoded->label == "hello");
    CHECK(decoded->blob == out.blob);
    REQUIRE(decoded->grants.size() == 1);
    CHECK(decoded->grants[0].name == "input");
    CHECK(decoded->grants[0].access == test::Access::Write);
    REQUIRE(decoded->inner);
    CHECK(decoded->inner->level == -7);
    CHECK(decoded->maybe == std::optional<std::uint8_t>(9));
}

TEST_CASE("type specs: enums are checked against their declared values", "[type-spec]") {
    test::Grant grant{"x", static_cast<test::Access>(3), {}};
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    airlock::Status s = airlock::encode_value(grant, body, fds);
    CHECK(s.code() == StatusCode::InvalidParameter);
    CHECK_THAT(s.message(), Catch::Contains("access") && Catch::Contains("not a declared Access"));

    Roundtrip valid = encode(test::Grant{"x", test::Access::Append, {}});
    valid.body[4 + 1] = 3;  // after the 4-byte length and "x": the enum byte
    auto decoded = airlock::decode_value<test::Grant>(valid.body, {});
    CHECK(decoded.status().code() == StatusCode::Malformed);
    CHECK_THAT(decoded.status().message(), Catch::StartsWith("access: value 3 is not a declared Access"));
}

TEST_CASE("type specs: declared maxima bound strings, bytes and vectors on both sides", "[type-spec]") {
    test::Grant grant;
    grant.name = std::string(65, 'a');
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    CHECK_THAT(airlock::encode_value(grant, body, fds).message(), Catch::Contains("name: length 65 exceeds the declared maximum 64"));

    // A hand-made body announcing a 65-byte name is refused before anything is allocated.
    std::vector<std::uint8_t> hostile = {65, 0, 0, 0};
    hostile.resize(4 + 65 + 1 + 4, 'a');
    auto decoded = airlock::decode_value<test::Grant>(hostile, {});
    CHECK(decoded.status().code() == StatusCode::Malformed);
    CHECK_THAT(decoded.status().message(), Catch::Contains("name: length 65 exceeds the declared maximum 64"));

    // A vector count larger than the bytes left cannot force a huge allocation.
    std::vector<std::uint8_t> huge_count = {0xff, 0xff, 0xff, 0x00};
    auto vector_result = airlock::decode_value<airlock::Vector<std::uint8_t, 1u << 30>>(huge_count, {});
    CHECK(vector_result.status().code() == StatusCode::Malformed);
}

TEST_CASE("type specs: descriptor values <= 0 mean no descriptor", "[type-spec][fd]") {
    test::Outer zeroed;  // zero-initialised message: valid, sends nothing
    zeroed.direct.reset(-1);
    CHECK(encode(zeroed).fds.empty());
    test::Inner inner{1, UniqueFd(0)};  // fd 0 is "none" by the seed rule; never closed here
    Roundtrip r = encode(inner);
    (void)inner.fd.release();
    CHECK(r.fds.empty());
    auto decoded = airlock::decode_value<test::Inner>(r.body, {});
    REQUIRE(decoded.ok());
    CHECK_FALSE(decoded->fd.valid());
}

TEST_CASE("wire format: explicit little-endian, length-prefixed, fds by index", "[wire]") {
    UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    test::Grant grant{"ab", test::Access::Write, std::move(file)};
    Roundtrip r = encode(grant);
    const std::vector<std::uint8_t> expected = {2, 0, 0, 0, 'a', 'b', 2, 0, 0, 0, 0};
    CHECK(r.body == expected);  // u32 length, bytes, enum (uint8), fd index 0 as i32
    REQUIRE(r.fds.size() == 1);
    CHECK(r.fds[0] == grant.fd.get());

    Roundtrip number = encode(test::Inner{0x1234, {}});
    CHECK(number.body == std::vector<std::uint8_t>{0x34, 0x12, 0xff, 0xff, 0xff, 0xff});
}

TEST_CASE("wire format: decoding verifies descriptor indices, names the member path", "[wire][fd]") {
    test::Outer out;
    for (int i = 0; i < 3; ++i) out.grants.push_back(test::Grant{"g", test::Access::Read, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC))});
    Roundtrip r = encode(out);
    REQUIRE(r.fds.size() == 3);
    int before = test::open_fd_count();

    SECTION("an index out of range") {
        auto fds = duplicate(r.fds);
        fds.pop_back();
        auto decoded = airlock::decode_value<test::Outer>(r.body, std::move(fds));
        CHECK(decoded.status().code() == StatusCode::Malformed);
        CHECK(decoded.status().message() == "grants[2].fd: descriptor index 2 is out of range (message carries 2)");
    }
    SECTION("an index used twice") {
        // Point grants[2].fd at descriptor 1: the last 4 bytes before the optional/direct tail.
        std::vector<std::uint8_t> body = r.body;
        std::size_t at = body.size() - (1 + 1 + 4) - 4;  // inner(absent) maybe(absent) direct(fd) ; grants[2].fd
        body[at] = 1;
        auto decoded = airlock::decode_value<test::Outer>(body, duplicate(r.fds));
        CHECK(decoded.status().message() == "grants[2].fd: descriptor index 1 is used twice");
    }
    SECTION("a descriptor nobody references") {
        auto fds = duplicate(r.fds);
        fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        auto decoded = airlock::decode_value<test::Outer>(r.body, std::move(fds));
        CHECK(decoded.status().message() == "descriptor 3 of 4 is not referenced by the message");
    }
    SECTION("trailing bytes") {
        std::vector<std::uint8_t> body = r.body;
        body.push_back(0);
        auto decoded = airlock::decode_value<test::Outer>(body, duplicate(r.fds));
        CHECK(decoded.status().message() == "1 trailing bytes after the message");
    }
    CHECK(test::open_fd_count() == before);  // every arrived descriptor was closed
}

TEST_CASE("protocol: fingerprint changes with any member, bound or enumerator", "[protocol]") {
    const auto& base = test::protocol();
    CHECK(base.status().ok());
    airlock::Protocol same = airlock::Protocol("airlock.test").add(test::bounce).add(test::echo).add(test::fail_always)
                                 .add(test::unserved).add(test::note).add(test::ask_back);
    CHECK(same.fingerprint() == base.fingerprint());
    airlock::Protocol fewer = airlock::Protocol("airlock.test").add(test::bounce);
    CHECK(fewer.fingerprint() != base.fingerprint());
    CHECK(airlock::describe(airlock::spec_of<test::Grant>()) ==
          "struct Grant{name:string<64>,access:enum Access:uint8{Read=1,Write=2,Append=4},fd:fd}");
    airlock::Protocol duplicate = airlock::Protocol("p").add(test::bounce).add(airlock::Method<test::Echo, test::Echo>{1, "other"});
    CHECK(duplicate.status().code() == StatusCode::InvalidParameter);
    CHECK_THAT(duplicate.status().message(), Catch::Contains("tag 1 is used by both"));
}

TEST_CASE("protocol: application tags are outside the fingerprint and must not overlap", "[protocol]") {
    airlock::Protocol base = airlock::Protocol("p").add(test::bounce);
    airlock::Protocol open = airlock::Protocol("p").add(test::bounce).reserve_application_tags(100);
    CHECK(open.status().ok());
    CHECK(open.fingerprint() != base.fingerprint());  // the range itself is part of the contract
    CHECK(open.accepts(1));
    CHECK_FALSE(open.accepts(2));
    CHECK(open.accepts(100));
    CHECK(open.accepts(65535));
    airlock::Protocol overlapping = airlock::Protocol("p").reserve_application_tags(5).add(test::fail_always).add(test::note);
    CHECK(overlapping.status().code() == StatusCode::InvalidParameter);
    CHECK_THAT(overlapping.status().message(), Catch::Contains("lies in the application range starting at 5"));
}

TEST_CASE("protocol: a fingerprint asked early follows later additions, and copies keep it", "[protocol]") {
    airlock::Protocol growing("p");
    const std::uint64_t empty = growing.fingerprint();
    growing.add(test::bounce);
    CHECK(growing.fingerprint() != empty);
    CHECK(growing.fingerprint() == airlock::Protocol("p").add(test::bounce).fingerprint());
    const std::uint64_t before = growing.fingerprint();
    growing.reserve_application_tags(100);
    CHECK(growing.fingerprint() != before);
    airlock::Protocol copy = growing;
    CHECK(copy.fingerprint() == growing.fingerprint());
    airlock::Protocol moved = std::move(copy);
    CHECK(moved.fingerprint() == growing.fingerprint());
    airlock::Protocol assigned("other");
    (void)assigned.fingerprint();
    assigned = growing;
    CHECK(assigned.fingerprint() == growing.fingerprint());
    assigned.add(test::echo);
    CHECK(assigned.fingerprint() != growing.fingerprint());
}
