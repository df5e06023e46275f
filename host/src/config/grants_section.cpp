// [plugin.NAME.grants]: each grant is exactly one kind (dir, file, connect, memfd) with the
// keys that kind takes. This reads the TOML shape and types; PluginSpec::build() checks the
// values (paths, access, sizes) so `check` reports what `exec` would hit.
#include <algorithm>
#include <array>

#include "sections.hpp"
#include "spec_checks.hpp"

namespace airlock::host::config_detail {
namespace {

constexpr std::array<GrantKind, 4> kKinds = {GrantKind::Directory, GrantKind::File, GrantKind::Connect,
                                             GrantKind::Memfd};

// The one kind key of a grant, or a located error for none or several.
GrantKind find_kind(const TableReader& grant, const toml::node& grant_node) {
    std::optional<GrantKind> found;
    for (const auto& [key, node] : grant.entries_in_file_order()) {
        auto it = std::find_if(kKinds.begin(), kKinds.end(),
                               [&](GrantKind k) { return grant_kind_name(k) == key->str(); });
        if (it == kKinds.end())
            continue;
        if (found)
            grant.fail_key(key->str(), grant.context() + " has both " + grant_kind_name(*found) +
                                           " and " + grant_kind_name(*it) +
                                           "; a grant is exactly one of: dir, file, connect, memfd");
        found = *it;
    }
    if (!found)
        grant.fail(grant_node, grant.context() +
                                   " says nothing to grant; a grant needs exactly one of: dir, "
                                   "file, connect, memfd");
    return *found;
}

void reject_keys_of_other_kinds(const TableReader& grant, GrantKind kind) {
    const auto takes = grant_keys(kind);
    for (const auto& [key, node] : grant.entries_in_file_order())
        if (std::find(takes.begin(), takes.end(), key->str()) == takes.end())
            grant.fail_key(key->str(), key_does_not_apply(key->str(), kind, grant.context()));
}

GrantAccess read_access(const TableReader& grant, GrantKind kind) {
    const auto access = grant.string("access", "one of " + std::string(allowed_access(kind)));
    if (!access)
        return GrantAccess::Read;
    for (const GrantAccess known : {GrantAccess::Read, GrantAccess::Write, GrantAccess::Append, GrantAccess::ReadWrite})
        if (access->value == grant_access_name(known))
            return known;  // one a dir grant does not take is refused by PluginSpec::build()
    grant.fail(*access->node, unknown_access(access->value, kind, grant.context()));
}

bool read_flag(const TableReader& grant, std::string_view key) {
    return grant.boolean(key, "true or false").value_or(false);
}

void parse_grant(const toml::key& name, const toml::node& node, const TableReader& grants, PluginSpec& spec) {
    const std::string context = "grant " + in_quotes(name.str());
    const std::string at = "grants." + std::string(name.str());
    spec.locate(at, location_of(grants.load(), node.source()));
    spec.locate(at + ".name", location_of(grants.load(), name.source()));
    const auto* table = node.as_table();
    if (table == nullptr)
        grants.fail(node, context + " must be a table such as { dir = \"/srv/data\", access = "
                                    "\"read\" }, not " + describe_type(node));
    const TableReader grant(*table, context, grants.load());
    grant.reject_unknown_keys({"dir", "file", "connect", "memfd", "access", "create", "inside_writable", "datagram", "device", "by_path"});
    const GrantKind kind = find_kind(grant, node);
    reject_keys_of_other_kinds(grant, kind);
    for (const auto& [key, value] : grant.entries_in_file_order())
        spec.locate(at + "." + std::string(key->str()), location_of(grants.load(), value->source()));

    GrantConfig config;
    config.name = name.str();
    config.kind = kind;
    const std::string kind_key = grant_kind_name(kind);
    if (kind == GrantKind::Memfd) {
        const toml::node& size = *grant.find("memfd");
        if (const auto* text = size.as_string()) {
            reject_nul(grant, size, text->get(), "\"memfd\"");
            spec.grant_memfd(config.name, text->get());
        } else if (const auto* bytes = size.as_integer()) {
            spec.grant_memfd(config.name, bytes->get());
        } else {
            grant.fail_type("memfd", size, "a size such as \"256MiB\" or an integer number of bytes");
        }
        return;
    }
    config.path = grant.string(kind_key, "a string (an absolute path)")->value;
    if (kind == GrantKind::Directory || kind == GrantKind::File)
        config.access = read_access(grant, kind);
    config.create = read_flag(grant, "create");
    config.datagram = read_flag(grant, "datagram");
    config.device = read_flag(grant, "device");
    config.by_path = read_flag(grant, "by_path");
    // Checked against every plugin's writable dirs once all are read (writable_grants_check.cpp).
    config.inside_writable = read_flag(grant, "inside_writable");
    spec.grant(std::move(config));
}

} // namespace

void parse_grants(const TableReader& table, PluginSpec& spec) {
    for (const auto& [key, node] : table.entries_in_file_order())
        parse_grant(*key, *node, table, spec);
}

} // namespace airlock::host::config_detail
