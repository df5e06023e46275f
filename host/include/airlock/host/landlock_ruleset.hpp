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
    /// Files that may be executed (and read): the plugin and its ELF interpreter.
    std::vector<std::string> executable_files;
    /// A directory grant: its path and whether it is writable.
    struct DirectoryGrant {
        std::string path;
        bool writable = false;
    };
    std::vector<DirectoryGrant> directories;
};

/// The policy a plugin gets: `system_paths` read-only, its executable plus the ELF
/// interpreter (PT_INTERP) executable, and its directory grants with exactly their access.
/// File, connect and memfd grants need no rule: they are descriptors opened by the host.
Result<LandlockPolicy> landlock_policy_for(const PluginConfig& plugin);

/// A created ruleset, ready to enforce in a child.
struct LandlockRuleset {
    UniqueFd fd;                 ///< close-on-exec ruleset descriptor
    int abi = 0;                 ///< ABI the ruleset was built for
    std::vector<std::string> skipped_paths;  ///< read-only paths that do not exist
};

/// Creates the ruleset for `policy` at the kernel's highest ABI. Read-write directory
/// grants get read, write, create regular files/directories/symlinks, remove, rename
/// (refer, ABI 2+) and truncate (ABI 3+); never execute, device nodes, sockets or FIFOs.
/// A grant or executable that cannot be opened is an error (fail closed).
Result<LandlockRuleset> build_landlock_ruleset(const LandlockPolicy& policy);

/// The ELF interpreter (PT_INTERP) of `executable`, e.g. "/lib64/ld-linux-x86-64.so.2";
/// empty for static binaries. For a `#!` script, the script's interpreter.
Result<std::optional<std::string>> executable_interpreter(const std::string& executable);

} // namespace airlock::host
