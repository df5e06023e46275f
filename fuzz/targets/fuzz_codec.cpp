// Fuzz target: the typed codec (codec.hpp encode_value/decode_value) on types using every
// kind it supports (support/sample_types.hpp), with the properties of
// support/codec_properties.hpp (for Node also against its twin with views, NodeView). Input: selector:u8 (type and descriptor count), then the body.

#include "../support/codec_properties.hpp"
#include "../support/sample_types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace airlock::fuzz;
    InputReader in(data, size);
    std::uint8_t selector = in.u8();
    std::size_t fd_count = (selector >> 4) % 6;
    auto body = in.rest();
    switch (selector % 4) {
    case 0: check_codec_properties<Tree>(body, fd_count); break;
    case 1:
        check_codec_properties<Node>(body, fd_count);
        check_view_twin<Node, NodeView>(body, fd_count);
        break;
    case 2: check_codec_properties<Scalars>(body, fd_count); break;
    default: check_codec_properties<airlock::Vector<airlock::String<4>, 3>>(body, fd_count); break;
    }
    return 0;
}
