#pragma once
// The messages of the hello plugin, shared by the plugin and the programs that call it.
#include <airlock/connection/types.hpp>

namespace hello {

struct GreetRequest {
    airlock::String<256> name;
};
AIRLOCK_STRUCT(GreetRequest, name)

struct GreetReply {
    airlock::String<512> text;
};
AIRLOCK_STRUCT(GreetReply, text)

struct EchoMessage {
    airlock::Bytes<65536> data;
};
AIRLOCK_STRUCT(EchoMessage, data)

} // namespace hello
