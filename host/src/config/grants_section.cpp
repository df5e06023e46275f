// [plugin.NAME.grants]: each grant is exactly one kind (dir, file, connect, memfd) with the
// keys that kind takes. Paths are checked now, so `check` reports what `exec` would hit.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include "sections.hpp"
#include "value_readers.hpp"

namespace airlock::host::config_detail {
namespace {

namespace fs = std::filesystem;

// SCM_RIGHTS carries at most 253 descriptors per message (PLATFORM.md), and the grant
// table travels as one message.
constexpr std::size_t kMaxGrants = 253;


struct KindInfo {
    std::string_view key;
    GrantKind kind;
    std::array<std::string_view, 4> other_keys;  // the keys this kind takes besides its own
};

constexpr std::array<KindInfo, 4> kKinds = {{
    {"dir", GrantKind::Directory, {"access", "inside_writable", "by_path", ""}},
    {"file", GrantKind::File, {"access", "create", "inside_writable", "by_path"}},
    {"connect", GrantKind::Connect, {"inside_writable", "datagram", "", ""}},
    {"memfd", GrantKind::Memfd, {"", "", "", ""}},
}};

// The one kind key of a grant, or a located error for none or several.
const KindInfo& find_kind(const TableReader& grant, const toml::node& grant_node) {
    const KindInfo* found = nullptr;
    for (const auto& [key, node] : grant.entries_in_file_order()) {
        auto it = std::find_if(kKinds.begin(), kKinds.end(),
                               [&](const KindInfo& k) { return k.key == key->str(); });
        if (it == kKinds.end())
            continue;
        if (found != nullptr)
            grant.fail_key(key->str(), grant.context() + " has both " + std::string(found->key) +
                                           " and " + std::string(it->key) +
                                           "; a grant is exactly one of: dir, file, connect, memfd");
        found = &*it;
    }
    if (found == nullptr)
        grant.fail(grant_node, grant.context() +
                                   " says nothing to grant; a grant needs exactly one of: dir, "
                                   "file, connect, memfd");
    return *found;
}

void reject_keys_of_other_kinds(const TableReader& grant, const KindInfo& kind) {
    std::string takes(kind.key);
    for (const auto other : kind.other_keys)
        if (!other.empty())
            takes += ", " + std::string(other);
    for (const auto& [key, node] : grant.entries_in_file_order()) {
        const std::string_view name = key->str();
        if (name == kind.key ||
            std::find(kind.other_keys.begin(), kind.other_keys.end(), name) != kind.other_keys.end())
            continue;
        grant.fail_key(name, "key " + in_quotes(name) + " does not apply to a " + std::string(kind.key) +
                                 " grant (" + grant.context() + "); a " + std::string(kind.key) +
                                 " grant takes: " + takes);
    }
}

// An absolute, lexically normalized path from the kind key.
std::string read_absolute_path(const TableReader& grant, std::string_view key) {
    const auto path = *grant.string(key, "a string (an absolute path)");
    const fs::path fs_path(path.value);
    if (!fs_path.is_absolute())
        grant.fail(*path.node, std::string(key) + " path " + in_quotes(path.value) + " of " +
                                   grant.context() + " is not absolute; grant paths must be "
                                   "absolute (start with \"/\")");
    std::string normal = fs_path.lexically_normal().string();
    if (normal.size() > 1 && normal.back() == '/')
        normal.pop_back();
    return normal;
}

GrantAccess read_access(const TableReader& grant, GrantKind kind) {
    const bool is_dir = kind == GrantKind::Directory;
    const std::string_view allowed =
        is_dir ? "\"read\", \"read-write\"" : "\"read\", \"write\", \"append\", \"read-write\"";
    const auto access = grant.string("access", "one of " + std::string(allowed));
    if (!access || access->value == "read")
        return GrantAccess::Read;
    if (access->value == "read-write")
        return GrantAccess::ReadWrite;
    if (!is_dir && access->value == "write")
        return GrantAccess::Write;
    if (!is_dir && access->value == "append")
        return GrantAccess::Append;
    grant.fail(*access->node, "unknown access " + in_quotes(access->value) + " for " +
                                  (is_dir ? "dir " : "file ") + grant.context() + "; allowed: " +
                                  std::string(allowed));
}

void check_directory(const TableReader& grant, const GrantConfig& config) {
    const toml::node& node = *grant.find("dir");
    std::error_code error;
    const auto status = fs::status(config.path, error);
    if (!fs::exists(status))
        grant.fail(node, "directory " + in_quotes(config.path) + " of " + grant.context() +
                             " does not exist; a dir grant needs an existing directory");
    if (!fs::is_directory(status))
        grant.fail(node, in_quotes(config.path) + " of " + grant.context() +
                             " is not a directory; use file = \"...\" to grant a single file");
}

void check_file(const TableReader& grant, const GrantConfig& config) {
    const toml::node& node = *grant.find("file");
    if (config.create && config.access == GrantAccess::Read)
        grant.fail(*grant.find("create"), "create = true in " + grant.context() +
                                              " needs access \"write\", \"append\" or "
                                              "\"read-write\"; a read grant cannot create a file");
    std::error_code error;
    const auto status = fs::status(config.path, error);
    if (fs::is_directory(status))
        grant.fail(node, in_quotes(config.path) + " of " + grant.context() +
                             " is a directory; use dir = \"...\" to grant a directory");
    if (fs::exists(status))
        return;
    if (!config.create)
        grant.fail(node, "file " + in_quotes(config.path) + " of " + grant.context() +
                             " does not exist; create it first, or set create = true with "
                             "write, append or read-write access");
    const fs::path parent = fs::path(config.path).parent_path();
    if (!fs::is_directory(parent, error))
        grant.fail(node, "cannot create " + in_quotes(config.path) + " for " + grant.context() +
                             ": directory " + in_quotes(parent.string()) +
                             " does not exist; create = true creates only the file");
}

void check_socket_path(const TableReader& grant, const GrantConfig& config) {
    std::error_code error;
    const auto status = fs::status(config.path, error);
    // The socket's server may start after the config is checked; only a wrong kind of file
    // is certain to fail.
    if (fs::exists(status) && !fs::is_socket(status))
        grant.fail(*grant.find("connect"), in_quotes(config.path) + " of " + grant.context() +
                                               " is not a UNIX socket; connect must name a "
                                               "listening UNIX-domain socket");
}

GrantConfig parse_grant(const toml::key& name, const toml::node& node, const TableReader& grants) {
    const std::string context = "grant " + in_quotes(name.str());
    if (!is_valid_name(name.str()))
        fail_at(grants.load(), name.source(),
                "invalid grant name " + in_quotes(name.str()) +
                    "; grant names may contain only letters, digits, '_' and '-'");
    const auto* table = node.as_table();
    if (table == nullptr)
        grants.fail(node, context + " must be a table such as { dir = \"/srv/data\", access = "
                                    "\"read\" }, not " + describe_type(node));
    const TableReader grant(*table, context, grants.load());
    grant.reject_unknown_keys({"dir", "file", "connect", "memfd", "access", "create", "inside_writable", "datagram", "by_path"});
    const KindInfo& kind = find_kind(grant, node);
    reject_keys_of_other_kinds(grant, kind);

    GrantConfig config;
    config.name = name.str();
    config.kind = kind.kind;
    config.where = location_of(grants.load(), node.source());
    switch (kind.kind) {
    case GrantKind::Directory:
        config.path = read_absolute_path(grant, "dir");
        config.access = read_access(grant, kind.kind);
        check_directory(grant, config);
        break;
    case GrantKind::File:
        config.path = read_absolute_path(grant, "file");
        config.access = read_access(grant, kind.kind);
        config.create = grant.boolean("create", "true or false").value_or(false);
        check_file(grant, config);
        break;
    case GrantKind::Connect:
        config.path = read_absolute_path(grant, "connect");
        config.access = GrantAccess::ReadWrite;
        config.datagram = grant.boolean("datagram", "true or false").value_or(false);
        check_socket_path(grant, config);
        break;
    case GrantKind::Memfd:
        config.size = read_size(grant, "memfd", "memfd size");
        config.access = GrantAccess::ReadWrite;
        break;
    }
    if (kind.kind == GrantKind::Directory || kind.kind == GrantKind::File) {
        config.by_path = grant.boolean("by_path", "true or false").value_or(false);
        // Landlock has no append-only right: by path the file could be overwritten.
        if (config.by_path && config.access == GrantAccess::Append)
            grant.fail(*grant.find("by_path"), "by_path = true in " + grant.context() +
                                                   " cannot keep a file append-only (Landlock "
                                                   "has no append right); an append grant is a "
                                                   "descriptor only");
    }
    // Checked against every plugin's writable dirs once all are read (writable_grants_check.cpp).
    if (kind.kind != GrantKind::Memfd)
        config.inside_writable = grant.boolean("inside_writable", "true or false").value_or(false);
    return config;
}

} // namespace

std::vector<GrantConfig> parse_grants(const TableReader& table) {
    std::vector<GrantConfig> grants;
    const auto entries = table.entries_in_file_order();
    if (entries.size() > kMaxGrants)
        fail_at(table.load(), entries[kMaxGrants].first->source(),
                "too many grants in " + table.context() + "; at most " +
                    std::to_string(kMaxGrants) + " (descriptors per message)");
    for (const auto& [key, node] : entries)
        grants.push_back(parse_grant(*key, *node, table));
    return grants;
}

} // namespace airlock::host::config_detail
