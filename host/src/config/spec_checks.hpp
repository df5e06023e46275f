#pragma once
// Checks and messages shared by PluginSpec::build() and the TOML sections that read values
// outside a plugin ([sandbox]) or reject keys before a spec exists (grants): each lives once.

#include <string>
#include <string_view>
#include <vector>

#include "airlock/host/config_loader.hpp"
#include "user_lookup.hpp"

namespace airlock::host::config_detail {

/// `path` normalized; ConfigError at `where` unless it is absolute and exists.
/// `context` names the table, e.g. `[sandbox]`.
std::string checked_system_path(const std::string& path, const std::string& context, const SourceLocation& where);

/// The account `name`; ConfigError at `where` when there is none.
UserIds checked_user(const std::string& name, const std::string& context, const SourceLocation& where);

/// The keys a grant of `kind` takes, its own kind key first ("dir", "access", ...).
std::vector<std::string_view> grant_keys(GrantKind kind);

/// `key "K" does not apply to a dir grant (grant "g"); a dir grant takes: dir, access, ...`
std::string key_does_not_apply(std::string_view key, GrantKind kind, const std::string& grant_context);

/// The `access` values a grant of `kind` takes, for messages: `"read", "read-write"`.
std::string_view allowed_access(GrantKind kind);

/// `unknown access "V" for dir grant "g"; allowed: "read", "read-write"`.
std::string unknown_access(std::string_view value, GrantKind kind, const std::string& grant_context);

} // namespace airlock::host::config_detail
