// The host<->plugin protocol: the single definition of its message set.
#include <airlock/protocol/plugin_protocol.hpp>

namespace airlock::protocol {

const Protocol& plugin_host_protocol() {
    // The plugin's own methods (tags from kFirstApplicationTag on) are announced at run time,
    // so they stay out of the fingerprint.
    static const Protocol protocol = Protocol("airlock.plugin/1")
                                         .add(grant_table)
                                         .add(ready)
                                         .add(log_record)
                                         .add(stop)
                                         .reserve_application_tags(kFirstApplicationTag);
    return protocol;
}

const char* log_level_name(LogLevel level) noexcept {
    switch (level) {
    case LogLevel::Error: return "error";
    case LogLevel::Warning: return "warning";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
    }
    return "unknown";
}

} // namespace airlock::protocol
