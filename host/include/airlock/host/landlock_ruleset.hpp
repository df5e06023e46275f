#pragma once
/// @file landlock_ruleset.hpp
/// Parent side of the Landlock layer: builds a ruleset descriptor that the child enforces
/// with apply_landlock_in_child() (child_confinement.hpp).
///
/// The ruleset handles every access right of the highest ABI the kernel offers, so
/// anything not granted here is denied: filesystem, TCP bind/connect (ABI 4+), abstract
/// UNIX sockets and signals outside the plugin's domain (ABI 6+).

#include "airlock/connection/status.hpp"
#include "airlock/connection/unique_fd.hpp"
#include "airlock/host/plugin_config.hpp"

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace airlock::host {

/// The Landlock ABI version this kernel offers (1, 2, ...), or a failure saying why there
/// is none (not built in, disabled at boot).
Result<int> landlock_abi_version();

/// The filesystem and network rules of one plugin, before they become a ruleset.
struct LandlockPolicy {
    /// Read-only (read files, list directories) beneath each; missing paths are skipped.
    std::vector<std::string> read_only_paths;
    /// `syscalls.allow` names execve: files beneath read_only_paths may be executed too.
    bool read_only_paths_executable = false;
    /// Files that may be executed (and read): the plugin and its ELF interpreter.
    std::vector<std::string> executable_files;
    /// A directory grant: its path and whether it is writable.
    struct DirectoryGrant {
        std::string path;
        bool writable = false;
        std::string name;  ///< the grant's name, for messages
    };
    std::vector<DirectoryGrant> directories;
    /// A file grant with `by_path`: its path, whether it is writable, its name.
    std::vector<DirectoryGrant> files;
    /// Directories some plugin of the config can write: a system path inside one is refused
    /// (a plugin could move the link it is resolved through).
    std::vector<std::string> writable_directories;
};

/// The policy a plugin gets: `system_paths` read-only, its executable plus the ELF
/// interpreter (PT_INTERP) executable, and its directory grants with exactly their access.
/// The interpreter is stored resolved (realpath), refused if it lies inside a writable
/// directory (resolve_trusted_path()).
/// File, connect and memfd grants need no rule: they are descriptors opened by the host.
Result<LandlockPolicy> landlock_policy_for(const PluginConfig& plugin);

/// What one path of a ruleset named when the ruleset was built. Landlock rules bind to
/// inodes, not names, so this is what a reused ruleset is checked against.
struct LandlockRuleSource {
    std::string path;
    std::string resolved;        ///< a system path: its realpath when built (links allowed there)
    bool missing = false;        ///< a skipped read-only path (it did not exist)
    dev_t device = 0;
    ino_t inode = 0;
    bool regular_file = false;   ///< a file: its content matters too (PT_INTERP, #! line)
    timespec change_time{};      ///< st_ctim of a regular file
};

/// A created ruleset, ready to enforce in a child (as often as wanted: the kernel copies
/// the rules into each process's domain at landlock_restrict_self).
struct LandlockRuleset {
    UniqueFd fd;                 ///< close-on-exec ruleset descriptor
    int abi = 0;                 ///< ABI the ruleset was built for
    std::vector<std::string> skipped_paths;  ///< read-only paths that do not exist
    std::vector<LandlockRuleSource> sources;  ///< every path of the policy, as found
};

/// Creates the ruleset for `policy` at the kernel's highest ABI. Read-write directory
/// grants get read, write, create regular files/directories/symlinks, remove, rename
/// (refer, ABI 2+) and truncate (ABI 3+); never execute, device nodes, sockets or FIFOs.
/// A grant or executable that cannot be opened is an error (fail closed). No path is opened
/// through a link (no_follow_open.hpp): dir grants and executables must have none in any
/// component; system paths are resolved with resolve_trusted_path() first.
Result<LandlockRuleset> build_landlock_ruleset(const LandlockPolicy& policy);

/// True while every path of `ruleset` still names what it named at build time: the same
/// inode, for a regular file also an unchanged st_ctime (so the same PT_INTERP), and a
/// skipped path is still missing. Links are not followed: a path that became a link (or a
/// system path that now resolves elsewhere) is not current. An open+fstat per path (plus a
/// realpath per system path), against a dozen system calls per path to build anew. False means: build it again (a replaced executable, a
/// re-created grant directory, a file rewritten in place).
bool landlock_ruleset_is_current(const LandlockRuleset& ruleset);

/// The ELF interpreter (PT_INTERP) of `executable`, e.g. "/lib64/ld-linux-x86-64.so.2";
/// empty for static binaries. For a `#!` script, the script's interpreter. `executable` is
/// resolved with resolve_trusted_path() (refused inside `writable_directories`) and read
/// through a descriptor opened without following links.
Result<std::optional<std::string>> executable_interpreter(const std::string& executable,
                                                          const std::vector<std::string>& writable_directories = {});

/// executable_interpreter() of a file already open (read with pread, at any offset): its ELF
/// program headers or #! line (parse_shebang_line()). `path` only names it in errors. The
/// file may come from an untrusted place (fuzz/targets/fuzz_executable_header.cpp).
Result<std::optional<std::string>> interpreter_of_open_file(int fd, const std::string& path);

} // namespace airlock::host
