#pragma once
// Messages of the SDK test plugin (tests/sdk/programs/sdk_test_plugin.cpp).
#include <airlock/connection/types.hpp>

namespace sdk_test {

struct Text {
    airlock::String<4096> text;
};
AIRLOCK_STRUCT(Text, text)

/// The outcome of one attempt inside the plugin: ok + value, or the PluginError's message.
struct Outcome {
    bool ok = false;
    airlock::String<65536> value;
};
AIRLOCK_STRUCT(Outcome, ok, value)

struct GrantAttempt {
    airlock::String<64> grant;
    airlock::String<32> as;  ///< "file", "dir", "log", "socket" or "memory"
};
AIRLOCK_STRUCT(GrantAttempt, grant, as)

} // namespace sdk_test
