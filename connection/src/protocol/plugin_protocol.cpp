// The host<->plugin protocol: the single definition of its message set.
#include <airlock/protocol/plugin_protocol.hpp>

#include <airlock/connection/printable_text.hpp>

namespace airlock::protocol {

const Protocol& plugin_host_protocol() {
    // The plugin's own methods (tags from kFirstApplicationTag on) are announced at run time,
    // so they stay out of the fingerprint.
    static const Protocol protocol = Protocol("airlock.plugin/1")
                                         .add(grant_table)
                                         .add(ready)
                                         .add(log_record)
                                         .add(stop)
                                         .add(progress)
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

Status check_announced_types(std::string_view method, std::string_view announced_request,
                             std::string_view announced_reply, std::string_view request, std::string_view reply) {
    auto differs = [&](const char* which, std::string_view announced, std::string_view caller) {
        return Status(StatusCode::ProtocolMismatch, "method \"" + std::string(method) + "\": the " + which +
                                                        " type differs from the plugin's; plugin: " + std::string(announced) +
                                                        "; caller: " + std::string(caller));
    };
    if (announced_request != request) return differs("request", announced_request, request);
    if (announced_reply != reply) return differs("reply", announced_reply, reply);
    return {};
}

std::string format_progress(const ProgressReport& report) {
    std::string line = "progress: " + std::string(report.task) + " " + std::to_string(report.done);
    if (report.total > 0) {
        line += "/" + std::to_string(report.total);
        // done * 100 could overflow for huge counts: divide first there (exact enough).
        const std::uint64_t percent = report.done >= report.total             ? 100
                                      : report.done <= UINT64_MAX / 100 ? report.done * 100 / report.total
                                                                        : report.done / (report.total / 100);
        line += " (" + std::to_string(percent) + "%)";
    }
    if (!report.message.empty()) line += ": " + std::string(report.message);
    return printable_text(line);  // the plugin's words reach terminals (airlockctl status)
}

} // namespace airlock::protocol
