#pragma once
// The one method outside_plugin serves, shared with the embedders that call it.
#include <airlock/connection/codec.hpp>

struct Ping {
    airlock::String<64> text;
};
AIRLOCK_STRUCT(Ping, text)
