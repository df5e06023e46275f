#pragma once
/// @file error.hpp
/// The one exception type of the plugin SDK.
///
/// The SDK reports every mistake a plugin author can make, and every failure of the
/// connection to the host, by throwing `PluginError`. Its message says what happened and
/// what would be right, e.g.
/// `grant "input" is not granted to plugin "hello"; granted: config, journal`.

#include <stdexcept>
#include <string>

namespace airlock::plugin {

/// What kind of problem a `PluginError` reports (for programs that react to some of them).
enum class PluginErrorKind {
    NotUnderHost,       ///< started outside `airlock-host` (no or no usable connection descriptor)
    Connection,         ///< the handshake or the connection to the host failed
    GrantNotFound,      ///< no grant of that name (the message lists the granted names)
    WrongGrantKind,     ///< the grant exists but is of another kind or access
    DuplicateHandler,   ///< a method name registered twice
    RegistrationClosed, ///< a handler registered after `run()` started
    InvalidArgument,    ///< e.g. an empty method name, a path that leaves a granted directory
    System,             ///< an operating-system call failed (the message names it and errno)
};

/// Thrown by the SDK; `what()` is a complete sentence a plugin author can act on.
class PluginError : public std::runtime_error {
public:
    PluginError(PluginErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    /// What kind of problem this is.
    [[nodiscard]] PluginErrorKind kind() const noexcept { return kind_; }

private:
    PluginErrorKind kind_;
};

} // namespace airlock::plugin
