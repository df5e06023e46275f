#pragma once
// The vfork-style launch and the async-signal-safe child side (internal to the spawner).
//
// Everything the child reads is in a `ChildPlan` the parent filled in beforehand; the child
// only issues raw system calls on it. With CLONE_VM the child runs in the parent's memory
// until it executes, so it must not allocate, lock, log or touch C++ objects.

#include "namespace_plan.hpp"

#include <airlock/connection/unique_fd.hpp>
#include <airlock/host/direct_clone.hpp>

#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <string>

struct sock_fprog;

namespace airlock::host::detail {

/// The child-side steps, in the order they run; a failure names one of them.
enum class ChildStep : std::uint32_t {
    NewSession = 1,
    ParentDeathSignal,
    ParentGone,
    JoinCgroups,
    JoinNetwork,
    JoinUts,
    JoinIpc,
    JoinPrivateRoot,
    CopyPrivateRoot,
    SetHostname,
    MoveDescriptors,
    CloseDescriptors,
    ChangeDirectory,
    DropGroups,
    DropGid,
    DropUid,
    ResourceLimit,
    UnblockSignals,
    NoNewPrivs,
    Landlock,
    Seccomp,
    SendListener,
    Exec,
    // With a PID namespace (child_pid_namespace.hpp):
    PluginPidInHost,   ///< the plugin reads its pid as the host sees it
    StartPlugin,       ///< pid 1 starts the plugin as its child
    StartPidInit,      ///< pid 1 executes airlock-pid-init
    // In a user namespace (child_user_namespace.hpp; detail: the failed root step's index):
    UserNamespaceMaps,  ///< deny setgroups and write its uid/gid maps
    BuildPrivateRoot,   ///< build and enter its private root
    DropCapabilities,   ///< the plugin clears its capabilities (child_inherited_state.hpp)
    ResetScheduling,    ///< the plugin gives up a real-time policy, negative nice, real-time I/O class
    ResetOomScore,      ///< the child raises a negative oom_score_adj to 0
    WaitForRelease,     ///< a standby child waits for its launch (child_launch.hpp)
    NotDumpable,        ///< the child, now the plugin's user, makes itself undumpable until exec
};

/// A human description of a step, e.g. "set the resource limit".
const char* child_step_description(ChildStep step) noexcept;

/// The confinement the child applies last, as plain data prepared by the parent.
struct ChildConfinement {
    const sock_fprog* seccomp_program = nullptr;  ///< nullptr: no seccomp filter
    bool seccomp_listener = false;   ///< load with a user-notification listener and hand it over
    std::uint64_t exec_tag = 0;      ///< lets the launch's execveat/sendmsg through the filter
    int landlock_ruleset_fd = -1;    ///< -1: no Landlock
};

/// One descriptor the child puts at a fixed number.
struct DescriptorMove {
    int source = -1;
    int target = -1;
};

/// One resource limit the child sets.
struct ResourceLimitSetting {
    int resource = 0;
    rlimit value{};
};

/// A failed child step. With CLONE_VM the child writes it straight into the parent's
/// memory: that needs no system call, so it works even after the seccomp filter is loaded
/// (where a write to a pipe may be refused, or worse, wait for a user notification that
/// the vfork-suspended host cannot answer). glibc's posix_spawn reports errors the same way.
struct ChildFailure {
    std::uint32_t step = 0;    ///< a ChildStep; 0 = no failure
    std::int32_t error = 0;    ///< errno
    std::int32_t detail = 0;   ///< e.g. the RLIMIT_* resource for ResourceLimit
};

/// The PID namespace (namespaces.clone_flags has CLONE_NEWPID): the launch child is its pid 1,
/// starts the plugin as its child and then executes airlock-pid-init (pid_init.cpp).
struct PidInitPlan {
    int image_fd = -1;     ///< the sealed memfd holding airlock-pid-init
    int status_fd = -1;    ///< write end of the pipe the init reports the plugin's wait status on
    int host_proc_fd = -1; ///< O_PATH descriptor of the host's /proc
    int host_pidfd = -1;   ///< the host's own pidfd ("is the host still alive")
    /// Where the plugin writes its pid as the host sees it (parent memory).
    pid_t* plugin_pid_in_host = nullptr;
    CloneFunction clone = nullptr;      ///< resolved by the parent (direct_clone())
    void* plugin_stack_top = nullptr;   ///< the plugin's own stack until it executes
};

/// Everything the child needs; every pointer refers to parent-owned storage that outlives
/// the launch.
struct ChildPlan {
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    /// Where to write the child's own pid in decimal (inside the LISTEN_PID=... string);
    /// nullptr when there is none. Has room for 20 digits and the terminating NUL.
    char* listen_pid_digits = nullptr;
    int exe_fd = -1;          ///< O_PATH descriptor of the executable
    /// Child end of the seccomp listener hand-off socketpair; -1 without a listener.
    int listener_handoff_fd = -1;
    /// `cgroup.procs` of each of the plugin's cgroups (one per hierarchy), opened by the parent.
    const int* cgroup_join_fds = nullptr;
    std::size_t cgroup_join_count = 0;
    /// Where the child reports a failed step (parent memory, see ChildFailure).
    ChildFailure* failure = nullptr;
    /// Descriptors to install at 0, 1, 2, 3, ... (targets must be 0..count-1 in order).
    const DescriptorMove* moves = nullptr;
    std::size_t move_count = 0;
    int* scratch = nullptr;   ///< move_count ints the child may write (temporary copies)
    const ResourceLimitSetting* limits = nullptr;
    std::size_t limit_count = 0;
    bool drop_privileges = false;
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t parent_pid = 0;
    /// New namespaces to clone into and the private root to join (clone_flags 0: none).
    NamespaceChildPlan namespaces;
    PidInitPlan pid_init;
    ChildConfinement confinement;
    /// A standby child (launch_standby_child): after the listener hand-off, wait on the
    /// hand-off socket for kReleaseByte before executing; anything else ends it.
    bool wait_for_release = false;
};

/// What the host sends a standby child to let it execute.
inline constexpr char kReleaseByte = 'G';


/// The result of a launch that reached exec or failed in the child.
struct LaunchedChild {
    pid_t pid = -1;
    UniqueFd pidfd;
};

/// The calling thread's stack for the plugin below a PID namespace's pid 1 (mapped once).
void* plugin_stack_top();

/// The stacks of one standby child (its pid 1's and the plugin's), and the word the kernel
/// clears when its launch child has executed or exited (CLONE_CHILD_CLEARTID). Must outlive
/// the child's use of the host's memory: until exec_done() (or the child has been reaped).
class StandbyStacks {
public:
    StandbyStacks();
    ~StandbyStacks();
    StandbyStacks(const StandbyStacks&) = delete;
    StandbyStacks& operator=(const StandbyStacks&) = delete;
    void* launch_stack_top() const noexcept;
    void* plugin_stack_top() const noexcept;
    /// Whether the launch child no longer runs in the host's memory (executed or exited).
    bool exec_done() const noexcept;
    /// Waits until exec_done().
    void wait_exec_done() const noexcept;
    /// Waits until exec_done() or `limit` has passed; whether it is done.
    bool wait_exec_done_for(std::chrono::milliseconds limit) const noexcept;
    int* clear_word() noexcept { return &clear_word_; }

private:
    void* base_ = nullptr;
    alignas(4) int clear_word_ = 1;
};

/// Starts a standby child: as launch_child(), but without CLONE_VFORK, on `stacks`, and with
/// plan.wait_for_release set, so it stops just before its execveat and this returns at once.
/// The child then shares the host's memory while the host runs: it touches only the plan
/// (which must stay alive and unchanged until stacks.exec_done() or the child is reaped) and
/// its stacks, with raw system calls. Call it on the standby thread (standby_thread.hpp),
/// which outlives every child it starts (their parent-death signal follows that thread) and
/// never reads errno the children may write into its TLS.
/// @throws SpawnError when clone itself fails.
LaunchedChild launch_standby_child(const ChildPlan& plan, StandbyStacks& stacks);

/// Starts the child with clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD, plus the namespace flags of
/// plan.namespaces) on its own stack and runs
/// the child steps. Returns once the child has executed or exited (vfork semantics); by
/// then `*plan.failure` holds the failed step, if any.
/// @throws SpawnError when clone itself fails.
LaunchedChild launch_child(const ChildPlan& plan);

} // namespace airlock::host::detail
