#pragma once
// The start every raw-protocol plugin of the tests and benchmarks makes: plugins written
// against the connection library without the SDK, so that they can break the protocol.

#include <airlock/connection/connection.hpp>
#include <airlock/protocol/plugin_protocol.hpp>

#include <chrono>
#include <cstdlib>

namespace airlock::test_support {

/// What went wrong in start_raw_plugin: `step` ("adopt", "handshake", "grant table") and why;
/// `step` is null when the plugin is connected and has its grant table.
struct RawPluginStart {
    const char* step = nullptr;
    Status status;
};

/// Adopts the connection whose descriptor number the host passed (`fd_text`, the value of
/// protocol::kConnectionFdVariable), each operation limited to 10 s, does the handshake and
/// reads the grant table (kept in `*grants` when given, with its descriptors).
inline RawPluginStart start_raw_plugin(Connection& connection, const char* fd_text,
                                       protocol::GrantTable* grants = nullptr) {
    connection.set_timeout(std::chrono::seconds(10));
    if (Status s = connection.set_fd(ConnectionMode::Pair, UniqueFd(std::atoi(fd_text))); !s.ok()) return {"adopt", s};
    if (Status s = connection.establish(); !s.ok()) return {"handshake", s};
    Result<protocol::GrantTable> table = connection.receive_value<protocol::GrantTable>(protocol::grant_table.tag);
    if (!table) return {"grant table", table.status()};
    if (grants != nullptr) *grants = std::move(*table);
    return {};
}

} // namespace airlock::test_support
