#pragma once
// Typed, located access to toml++ tables for the section parsers: every accessor that finds
// something wrong throws ConfigError at the offending key or value, so the parsers read like
// the schema and never format locations themselves.

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "airlock/host/config_loader.hpp"

namespace airlock::host::config_detail {

/// What every section parser needs to know about the file being loaded.
struct LoadContext {
    std::string file;                 ///< as given by the caller, used in every message
    std::filesystem::path base_dir;   ///< absolute directory that relative `exec` paths start from
};

/// file:line:column of a toml++ source region.
SourceLocation location_of(const LoadContext& load, const toml::source_region& region);

/// Throws ConfigError at `region`.
[[noreturn]] void fail_at(const LoadContext& load, const toml::source_region& region,
                          std::string message);

/// "a string", "an integer", "a table", ... for type messages.
std::string describe_type(const toml::node& node);

/// A string value together with the node it came from (for per-element messages).
struct LocatedString {
    std::string value;
    const toml::node* node = nullptr;
};

/// One TOML table plus how to name it in messages, e.g. `[plugin.thumbnailer.limits]`.
class TableReader {
public:
    TableReader(const toml::table& table, std::string context, const LoadContext& load);

    const toml::table& table() const noexcept { return *table_; }
    const std::string& context() const noexcept { return context_; }
    const LoadContext& load() const noexcept { return *load_; }

    /// Throws at the first key (in file order) that is not in `allowed`.
    void reject_unknown_keys(std::initializer_list<std::string_view> allowed) const;

    /// The value under `key`, or nullptr.
    const toml::node* find(std::string_view key) const;
    /// The key object (with its own location) for a key that exists.
    const toml::key& key_of(std::string_view key) const;

    /// Typed getters: nullopt if the key is absent, ConfigError if it has another type.
    /// `expected` describes the value for messages, e.g. "a string (path of an executable)".
    std::optional<LocatedString> string(std::string_view key, std::string_view expected) const;
    std::optional<bool> boolean(std::string_view key, std::string_view expected) const;
    std::optional<std::int64_t> integer(std::string_view key, std::string_view expected) const;
    std::optional<std::vector<LocatedString>> string_array(std::string_view key,
                                                           std::string_view expected) const;
    std::optional<TableReader> table(std::string_view key, std::string context,
                                     std::string_view expected) const;

    /// Throws ConfigError at `node` / at the key `key`.
    [[noreturn]] void fail(const toml::node& node, std::string message) const;
    [[noreturn]] void fail_key(std::string_view key, std::string message) const;

    /// `"exec" in plugin "p" must be a string (...), not an integer`.
    [[noreturn]] void fail_type(std::string_view key, const toml::node& node,
                                std::string_view expected) const;

    /// Keys of this table ordered as they appear in the file (toml++ sorts them by name).
    std::vector<std::pair<const toml::key*, const toml::node*>> entries_in_file_order() const;

private:
    const toml::table* table_;
    std::string context_;
    const LoadContext* load_;
};

/// Throws if `text` contains a NUL character (it would silently truncate a C string).
void reject_nul(const TableReader& reader, const toml::node& node, std::string_view text,
                std::string_view what);

/// `text` in double quotes, for messages.
std::string in_quotes(std::string_view text);

/// A name for a plugin or grant: `[A-Za-z0-9_-]+`.
bool is_valid_name(std::string_view name);

} // namespace airlock::host::config_detail
