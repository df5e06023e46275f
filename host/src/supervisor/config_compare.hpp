#pragma once
// Whether two plugin configurations would run the same plugin (source locations ignored).
#include <airlock/host/plugin_config.hpp>

namespace airlock::host::detail {
bool same_plugin_config(const PluginConfig& a, const PluginConfig& b);
}
