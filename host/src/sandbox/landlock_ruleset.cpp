// Builds a Landlock ruleset in the parent; the child only calls landlock_restrict_self.
#include "airlock/host/landlock_ruleset.hpp"

#include "airlock/host/no_follow_open.hpp"
#include "landlock_abi.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock::host {

namespace {

namespace ll = landlock;

constexpr std::uint64_t read_only_rights = ll::fs_read_file | ll::fs_read_dir;
constexpr std::uint64_t read_write_rights = read_only_rights | ll::fs_write_file | ll::fs_remove_dir |
                                            ll::fs_remove_file | ll::fs_make_dir | ll::fs_make_reg |
                                            ll::fs_make_sym | ll::fs_refer | ll::fs_truncate;
constexpr std::uint64_t execute_rights = ll::fs_execute | ll::fs_read_file;

std::string landlock_unavailable_reason(int error) {
    switch (error) {
    case ENOSYS: return "landlock_create_ruleset: ENOSYS (Landlock is not built into this kernel)";
    case EOPNOTSUPP: return "landlock_create_ruleset: EOPNOTSUPP (Landlock is disabled at boot, see lsm=)";
    default: return errno_status("landlock_create_ruleset", error).message();
    }
}


LandlockRuleSource source_of(const std::string& path, const struct stat& st) {
    LandlockRuleSource source;
    source.path = path;
    source.device = st.st_dev;
    source.inode = st.st_ino;
    source.regular_file = S_ISREG(st.st_mode);
    if (source.regular_file) source.change_time = st.st_ctim;
    return source;
}

// Adds one path-beneath rule on an already opened path; rights its kind cannot carry are dropped.
Status add_rule(int ruleset_fd, const std::string& path, const NoFollowFile& opened, std::uint64_t rights,
                std::uint64_t handled) {
    if (!S_ISDIR(opened.status.st_mode)) rights &= ll::fs_file_rights;
    ll::PathBeneathAttr rule;
    rule.allowed_access = rights & handled;
    rule.parent_fd = opened.fd.get();
    if (rule.allowed_access == 0) return {};
    if (syscall(SYS_landlock_add_rule, ruleset_fd, ll::rule_path_beneath, &rule, 0U) != 0)
        return errno_status("landlock_add_rule " + path, errno);
    return {};
}

// A path the config names exactly (an executable, a dir grant): no link in any component.
Status add_exact_path_rule(LandlockRuleset& ruleset, const std::string& path, ExpectedType expected,
                           const std::string& rule_name, const char* no_links, std::uint64_t rights,
                           std::uint64_t handled) {
    auto opened = open_no_follow(path, O_PATH, 0, expected, no_links);
    if (!opened) return Status(opened.status().code(), rule_name + ": " + opened.status().message());
    ruleset.sources.push_back(source_of(path, opened->status));
    return add_rule(ruleset.fd.get(), path, *opened, rights, handled);
}

// An operator's system path, which may be a link (/lib64 -> usr/lib64): resolved, refused
// inside a writable directory, then opened no-follow. A missing one is skipped.
Status add_system_path_rule(LandlockRuleset& ruleset, const std::string& path, const LandlockPolicy& policy,
                            std::uint64_t handled) {
    auto resolved = resolve_trusted_path(path, policy.writable_directories);
    if (!resolved && resolved.status().code() == StatusCode::NotFound) {
        LandlockRuleSource source;
        source.path = path;
        source.missing = true;
        ruleset.sources.push_back(std::move(source));
        ruleset.skipped_paths.push_back(path);
        return {};
    }
    if (!resolved) return resolved.status().with_context("landlock: system path");
    auto opened = open_no_follow(*resolved, O_PATH, 0, ExpectedType::Any, "system paths are resolved once");
    if (!opened) return opened.status().with_context("landlock: system path " + path);
    LandlockRuleSource source = source_of(path, opened->status);
    source.resolved = *resolved;
    ruleset.sources.push_back(std::move(source));
    const std::uint64_t rights = policy.read_only_paths_executable ? read_only_rights | ll::fs_execute : read_only_rights;
    return add_rule(ruleset.fd.get(), path, *opened, rights, handled);
}

// Whether one recorded path still names the same thing, following no link.
bool source_is_current(const LandlockRuleSource& source) {
    std::string path = source.path;
    struct stat status {};
    bool walked = false;
    if (source.missing || !source.resolved.empty()) {
        auto resolved = resolve_trusted_path(source.path, {}, &status);
        if (!resolved) return source.missing && resolved.status().code() == StatusCode::NotFound;
        if (source.missing || *resolved != source.resolved) return false;
        path = *resolved;
        // The walk's lstat of the resolved path, every link on the way resolved by hand, is
        // what opening it without following any and fstat() would answer: not asked twice.
        walked = !source.path.empty() && source.path[0] == '/';
    }
    if (!walked) {
        auto opened = open_no_follow(path, O_PATH, 0, ExpectedType::Any, "");
        if (!opened) return false;
        status = opened->status;
    }
    if (S_ISLNK(status.st_mode)) return false;
    const LandlockRuleSource now = source_of(source.path, status);
    return now.device == source.device && now.inode == source.inode && now.regular_file == source.regular_file &&
           now.change_time.tv_sec == source.change_time.tv_sec && now.change_time.tv_nsec == source.change_time.tv_nsec;
}

} // namespace

Result<int> landlock_abi_version() {
    long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, ll::create_ruleset_version);
    if (abi < 0) return Status(StatusCode::Unsupported, landlock_unavailable_reason(errno));
    return static_cast<int>(abi);
}

Result<LandlockPolicy> landlock_policy_for(const PluginConfig& plugin) {
    LandlockPolicy policy;
    policy.read_only_paths = plugin.system_paths;
    policy.read_only_paths_executable = plugin.syscalls.exec_after_launch;
    policy.writable_directories = writable_directories_of(plugin);
    policy.executable_files.push_back(plugin.executable);
    // The kernel opens the ELF interpreter with exec rights too; a #! script's interpreter
    // in turn has its own ELF interpreter. Stored resolved: /lib64/ld-linux-x86-64.so.2 is
    // reached through the /lib64 link, and the rule is then opened without following any.
    std::string current = plugin.executable;
    for (int depth = 0; depth < 2; ++depth) {
        auto interpreter = executable_interpreter(current, policy.writable_directories);
        if (!interpreter) return interpreter.status().with_context("landlock policy for " + plugin.name);
        if (!*interpreter) break;
        auto resolved = resolve_trusted_path(**interpreter, policy.writable_directories);
        if (!resolved) return resolved.status().with_context("landlock policy for " + plugin.name + ": interpreter");
        policy.executable_files.push_back(*resolved);
        current = *resolved;
    }
    for (const auto& grant : plugin.grants) {
        if (grant.kind == GrantKind::File && grant.by_path)
            policy.files.push_back({grant.path, grant.access != GrantAccess::Read, grant.name});
        if (grant.kind != GrantKind::Directory) continue;
        bool writable = grant.access != GrantAccess::Read;
        policy.directories.push_back({grant.path, writable, grant.name});
    }
    return policy;
}

Result<LandlockRuleset> build_landlock_ruleset(const LandlockPolicy& policy) {
    auto abi = landlock_abi_version();
    if (!abi) return abi.status();

    ll::RulesetAttr attr;
    attr.handled_access_fs = ll::handled_fs_rights(*abi);
    if (*abi >= 4) attr.handled_access_net = ll::net_bind_tcp | ll::net_connect_tcp;  // no rules: all denied
    if (*abi >= 6) attr.scoped = ll::scope_abstract_unix_socket | ll::scope_signal;
    // Older kernels reject a struct larger than they know unless the tail is zero, and
    // ABI < 4 does not know the net field at all: pass only what this ABI understands.
    std::size_t attr_size = *abi >= 6 ? sizeof attr : *abi >= 4 ? 2 * sizeof(std::uint64_t) : sizeof(std::uint64_t);

    LandlockRuleset ruleset;
    ruleset.abi = *abi;
    ruleset.fd.reset(static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0U)));
    if (!ruleset.fd) return errno_status("landlock_create_ruleset", errno);

    const std::uint64_t handled = attr.handled_access_fs;
    for (const auto& path : policy.read_only_paths)
        if (auto s = add_system_path_rule(ruleset, path, policy, handled); !s) return s;
    for (const auto& path : policy.executable_files)
        if (auto s = add_exact_path_rule(ruleset, path, ExpectedType::RegularFile, "landlock: executable",
                                         "executables are never reached through a link", execute_rights, handled);
            !s)
            return s;
    for (const auto& dir : policy.directories) {
        auto rights = dir.writable ? read_write_rights : read_only_rights;
        const std::string rule_name = "grant \"" + dir.name + "\"";
        if (auto s = add_exact_path_rule(ruleset, dir.path, ExpectedType::Directory, rule_name,
                                         "grants never follow links", rights, handled);
            !s)
            return s;
    }
    for (const auto& file : policy.files) {
        // Read-write files: read, write and truncate (add_rule keeps only file rights).
        auto rights = file.writable ? read_write_rights : ll::fs_read_file;
        const std::string rule_name = "grant \"" + file.name + "\"";
        if (auto s = add_exact_path_rule(ruleset, file.path, ExpectedType::RegularFile, rule_name,
                                         "grants never follow links", rights, handled);
            !s)
            return s;
    }
    return ruleset;
}

bool landlock_ruleset_is_current(const LandlockRuleset& ruleset) {
    for (const LandlockRuleSource& source : ruleset.sources)
        if (!source_is_current(source)) return false;
    return true;
}

} // namespace airlock::host
