// Fuzz target: every message of the control protocol (control_protocol.hpp) — the requests
// the host's control server receives from clients and the replies and log lines airlockctl
// receives from the server — with the properties of support/codec_properties.hpp.
// Input: selector:u8 (message), then the body. Control messages carry no descriptors.

#include "../support/codec_properties.hpp"

#include <airlock/protocol/control_protocol.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace airlock::protocol;
    using airlock::fuzz::check_codec_properties;
    airlock::fuzz::InputReader in(data, size);
    std::uint8_t selector = in.u8();
    auto body = in.rest();
    switch (selector % 12) {
    case 0: check_codec_properties<StatusRequest>(body, 0); break;
    case 1: check_codec_properties<StatusReply>(body, 0); break;
    case 2: check_codec_properties<PluginRequest>(body, 0); break;
    case 3: check_codec_properties<ActionReply>(body, 0); break;
    case 4: check_codec_properties<LogsReply>(body, 0); break;
    case 5: check_codec_properties<DescribeReply>(body, 0); break;
    case 6: check_codec_properties<CallRequest>(body, 0); break;
    case 7: check_codec_properties<CallReply>(body, 0); break;
    case 8: check_codec_properties<FollowLogsRequest>(body, 0); break;
    case 9: check_codec_properties<LogLine>(body, 0); break;
    case 10: check_codec_properties<ProgressEntry>(body, 0); break;
    default: check_codec_properties<PluginStatusEntry>(body, 0); break;
    }
    return 0;
}
