#pragma once
/// @file isolation_layers.hpp
/// Which confinement layers this kernel provides, and failing closed when a required one
/// is missing. Used by `airlock-host check` and before every spawn.

#include "airlock/connection/status.hpp"
#include "airlock/host/plugin_config.hpp"

#include <set>
#include <string>
#include <string_view>

namespace airlock::host {

/// Whether one layer is usable, and in words why (not).
struct LayerAvailability {
    bool available = false;
    std::string detail;  ///< e.g. "ABI 7" or "landlock_create_ruleset: ENOSYS (not built into the kernel)"
};

/// The probe result for this kernel and process.
struct IsolationLayers {
    LayerAvailability seccomp;            ///< filter mode with KILL_PROCESS and ERRNO
    LayerAvailability seccomp_user_notification;  ///< SECCOMP_RET_USER_NOTIF + listener
    LayerAvailability landlock;
    int landlock_abi = 0;                 ///< 0 when Landlock is unavailable
    LayerAvailability no_new_privs;
    /// Private mount, network, UTS, IPC and PID namespaces (kNamespaceCloneFlags) can be created.
    LayerAvailability namespaces;
    /// With `namespaces` available to a host that is not root: they are made inside a user
    /// namespace of their own (CLONE_NEWUSER, docs/sandbox.md "In a user namespace").
    bool namespaces_in_user_namespace = false;

    /// The availability of one configurable layer.
    [[nodiscard]] const LayerAvailability& of(IsolationLayer layer) const noexcept;
};

/// The clone flags of the namespaces layer: mount, network, UTS and IPC.
extern const unsigned long kNamespaceCloneFlags;

/// Probes the running kernel (cheap, no side effects on this process; the namespaces probe
/// starts one short-lived child, once per process).
IsolationLayers probe_isolation_layers();

/// The empty network namespace the namespaces probe created (a descriptor of it, close-on-exec),
/// handed over once: the first private root built in this process takes it instead of
/// creating another (about 0.3 ms of kernel time each, docs/spawning.md). -1 when it was
/// taken already, or the probe made none (not run yet, failed, or in a user namespace, whose
/// network namespace a root built outside it must not use). The caller owns the descriptor.
int take_probed_network_namespace() noexcept;

/// Descriptors (close-on-exec) of the namespaces the probe created, -1 each where none.
struct ProbedNamespaces {
    int mount = -1;    ///< a copy of the host's mount table, as CLONE_NEWNS makes it
    int network = -1;  ///< empty
    int uts = -1;
    int ipc = -1;
};

/// All the namespaces the probe kept, handed over once (the network one only if
/// take_probed_network_namespace() has not taken it): the first private root is built in
/// them instead of new ones, so the host makes one mount namespace, not two, and does not
/// wait for the probe's copy of the mount table to be torn down (an RCU grace period, paid
/// by the probe child's exit). The same conditions as take_probed_network_namespace().
/// The caller owns the descriptors. A process forked from the one that probed gets none
/// (its copies name namespaces its parent may still build its private root in).
ProbedNamespaces take_probed_namespaces() noexcept;

/// Closes what the probe kept and nobody took. The kept mount namespace holds a copy of the
/// host's mounts (as any mount namespace does, until it goes): a long-running host that may
/// never build a private root calls this once its plugins have started.
void release_probed_namespaces() noexcept;

/// The config name of a layer: "seccomp", "landlock", "no-new-privs".
std::string_view isolation_layer_name(IsolationLayer layer) noexcept;

/// Success when every layer in `required` is available; otherwise Unsupported with a
/// message naming each missing layer and why, e.g.
/// `required isolation layer landlock is unavailable: landlock_create_ruleset: ...`.
Status check_required_layers(const IsolationLayers& layers, const std::set<IsolationLayer>& required);

/// Multi-line human-readable summary for `airlock-host check`.
std::string describe_isolation_layers(const IsolationLayers& layers);

} // namespace airlock::host
