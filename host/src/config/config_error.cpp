#include "airlock/host/config_loader.hpp"

namespace airlock::host {
namespace {

std::string with_location(const SourceLocation& where, const std::string& message) {
    if (where.file.empty())  // a PluginSpec built in code: nothing to point at
        return message;
    if (where.line == 0)
        return where.file + ": " + message;
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
           ": " + message;
}

} // namespace

ConfigError::ConfigError(SourceLocation where, std::string message)
    : std::runtime_error(with_location(where, message)),
      where_(std::move(where)),
      message_(std::move(message)) {}

} // namespace airlock::host
