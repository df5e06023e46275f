// Fuzz target: the LWMsg-compatible C API's decoder (connection/lwmsg/src/type_translation.cpp),
// which the C plugin SDK (<airlock/plugin.h>) and LWMsg programs use to turn a peer's message
// body into C objects: malloc'ed strings and arrays, length members, nested structures,
// optional and NOT_NULL pointers, integer ranges, descriptors.
//
// Input: selector:u8 (low 3 bits: which sample specification; high 5 bits: descriptor count,
// 0-31, each a duplicate of /dev/null), body (the rest; may be a recipe,
// fuzz/support/fuzz_input.hpp).
//
// Properties beyond "no crash, no sanitizer report, no leak":
//  - a body that decodes re-encodes to itself byte for byte (without descriptors; with them
//    encoding renumbers the indices, so encode is checked as a fixed point instead);
//  - every received descriptor ends up either in the decoded object, exactly once, or
//    closed: after destroy() (or a failed decode) none of them is open;
//  - a decoded length member equals its array's count (re-encoding reads it back).

#include "../support/fuzz_input.hpp"
#include "../support/lwmsg_samples.hpp"

#include "type_translation.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace fuzz = airlock::fuzz;
using airlock::UniqueFd;
using airlock::lwmsg::TypeTranslation;
using airlock::fuzz::lwmsg_samples::kSpecs;

namespace {

const TypeTranslation* translation(std::size_t index) {
    static std::unique_ptr<TypeTranslation> translations[std::size(kSpecs)];
    static bool done[std::size(kSpecs)] = {};
    if (!done[index]) {
        done[index] = true;
        if (auto outcome = TypeTranslation::translate(kSpecs[index], translations[index]); !outcome.ok())
            fuzz::property_failed("a sample specification does not translate", outcome.message);
    }
    return translations[index].get();
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::InputReader in(data, size);
    const std::uint8_t selector = in.u8();
    const TypeTranslation* type = translation(selector & 7);
    const std::vector<std::uint8_t> body = fuzz::expand(in.rest());

    std::vector<UniqueFd> fds;
    std::vector<int> numbers;
    for (unsigned i = 0; i < (selector >> 3); ++i) {
        fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        numbers.push_back(fds.back().get());
    }
    void* payload = nullptr;
    const auto outcome = type->decode(body, fds, &payload);
    if (!outcome.ok()) {
        if (payload != nullptr) fuzz::property_failed("a failed decode left a payload", outcome.message);
        fds.clear();
        for (int fd : numbers)
            if (is_open(fd)) fuzz::property_failed("a failed decode left a descriptor open", outcome.message);
        return 0;
    }
    // The payload owns every descriptor now; re-encode it.
    std::vector<std::uint8_t> again;
    std::vector<int> sent;
    if (auto encoded = type->encode(payload, again, sent); !encoded.ok())
        fuzz::property_failed("a decoded payload does not encode", encoded.message);
    if (sent.size() != numbers.size()) fuzz::property_failed("re-encoding sends a different number of descriptors");
    if (numbers.empty()) {
        if (again != body) fuzz::property_failed("decode then encode changed the body");
    } else {
        // Indices may be renumbered; decoding the re-encoded body must encode to it again.
        std::vector<UniqueFd> copies;
        for (int fd : sent) copies.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
        void* second = nullptr;
        if (auto decoded = type->decode(again, copies, &second); !decoded.ok())
            fuzz::property_failed("a re-encoded body does not decode", decoded.message);
        std::vector<std::uint8_t> third;
        std::vector<int> third_fds;
        if (auto encoded = type->encode(second, third, third_fds); !encoded.ok() || third != again)
            fuzz::property_failed("encoding is not a fixed point");
        type->destroy(second);
    }
    type->destroy(payload);
    for (int fd : numbers)
        if (is_open(fd)) fuzz::property_failed("destroy() left a received descriptor open");
    return 0;
}
