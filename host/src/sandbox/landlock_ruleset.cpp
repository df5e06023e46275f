// Builds a Landlock ruleset in the parent; the child only calls landlock_restrict_self.
#include "airlock/host/landlock_ruleset.hpp"

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

// Adds one path-beneath rule; rights the path's kind cannot carry are dropped. Records
// what the path named in `sources`.
Status add_path_rule(int ruleset_fd, const std::string& path, std::uint64_t rights, std::uint64_t handled,
                     bool* missing, std::vector<LandlockRuleSource>& sources) {
    UniqueFd fd(open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd) {
        if (missing && errno == ENOENT) {
            *missing = true;
            LandlockRuleSource source;
            source.path = path;
            source.missing = true;
            sources.push_back(std::move(source));
            return {};
        }
        return errno_status("landlock: open " + path, errno);
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return errno_status("landlock: fstat " + path, errno);
    sources.push_back(source_of(path, st));
    if (!S_ISDIR(st.st_mode)) rights &= ll::fs_file_rights;
    ll::PathBeneathAttr rule;
    rule.allowed_access = rights & handled;
    rule.parent_fd = fd.get();
    if (rule.allowed_access == 0) return {};
    if (syscall(SYS_landlock_add_rule, ruleset_fd, ll::rule_path_beneath, &rule, 0U) != 0)
        return errno_status("landlock_add_rule " + path, errno);
    return {};
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
    policy.executable_files.push_back(plugin.executable);
    // The kernel opens the ELF interpreter with exec rights too; a #! script's interpreter
    // in turn has its own ELF interpreter.
    std::string current = plugin.executable;
    for (int depth = 0; depth < 2; ++depth) {
        auto interpreter = executable_interpreter(current);
        if (!interpreter) return interpreter.status().with_context("landlock policy for " + plugin.name);
        if (!*interpreter) break;
        policy.executable_files.push_back(**interpreter);
        current = **interpreter;
    }
    for (const auto& grant : plugin.grants) {
        if (grant.kind != GrantKind::Directory) continue;
        bool writable = grant.access != GrantAccess::Read;
        policy.directories.push_back({grant.path, writable});
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
    for (const auto& path : policy.read_only_paths) {
        bool missing = false;
        if (auto s = add_path_rule(ruleset.fd.get(), path, read_only_rights, handled, &missing, ruleset.sources); !s)
            return s;
        if (missing) ruleset.skipped_paths.push_back(path);
    }
    for (const auto& path : policy.executable_files)
        if (auto s = add_path_rule(ruleset.fd.get(), path, execute_rights, handled, nullptr, ruleset.sources); !s)
            return s;
    for (const auto& dir : policy.directories) {
        auto rights = dir.writable ? read_write_rights : read_only_rights;
        if (auto s = add_path_rule(ruleset.fd.get(), dir.path, rights, handled, nullptr, ruleset.sources); !s)
            return s;
    }
    return ruleset;
}

bool landlock_ruleset_is_current(const LandlockRuleset& ruleset) {
    for (const LandlockRuleSource& source : ruleset.sources) {
        struct stat st {};
        // stat follows symlinks, as the O_PATH open that made the rule did.
        if (stat(source.path.c_str(), &st) != 0) {
            if (source.missing && errno == ENOENT) continue;
            return false;
        }
        if (source.missing) return false;
        const LandlockRuleSource now = source_of(source.path, st);
        if (now.device != source.device || now.inode != source.inode || now.regular_file != source.regular_file ||
            now.change_time.tv_sec != source.change_time.tv_sec || now.change_time.tv_nsec != source.change_time.tv_nsec)
            return false;
    }
    return true;
}

} // namespace airlock::host
