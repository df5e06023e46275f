// The child side of a launch: raw system calls only (see child_launch.hpp).
//
// Why raw `syscall()` and not the glibc wrappers for setresuid & co: glibc's set*id
// wrappers broadcast the change to every thread of "the process" with signals — in a
// CLONE_VM child that would reach into the host's threads. errno written by `syscall()`
// lands in the suspended parent thread's TLS slot; it is read immediately and the parent
// does not rely on errno across clone().
#include "child_launch.hpp"
#include "child_inherited_state.hpp"
#include "child_namespaces.hpp"
#include "child_pid_namespace.hpp"
#include "child_steps.hpp"
#include "child_user_namespace.hpp"

#include <airlock/host/direct_clone.hpp>
#include <airlock/host/spawner.hpp>

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::host::detail {
namespace {

constexpr std::size_t kChildStackSize = 256 * 1024;
constexpr int kLastSignal = 64;

// The kernel's struct sigaction (not glibc's): only used to set SIG_DFL.
struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
};

// Records the failed step in the parent's memory and exits; never returns.
[[noreturn]] void fail(const ChildPlan& plan, ChildStep step, int error, int detail = 0) {
    volatile ChildFailure* failure = plan.failure;
    failure->error = error;
    failure->detail = detail;
    failure->step = static_cast<std::uint32_t>(step);
    ::syscall(SYS_exit_group, 126);
    __builtin_unreachable();
}

void write_decimal(char* out, long value) {
    char digits[24];
    int count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (int i = 0; i < count; ++i) out[i] = digits[count - 1 - i];
    out[count] = '\0';
}

bool in_pid_namespace(const ChildPlan& plan) { return (plan.namespaces.clone_flags & CLONE_NEWPID) != 0; }

// `parent`: the pid getppid() must return. Below a PID namespace's pid 1 that is 1; pid 1
// itself sees 0 for the host and asks the host's pidfd instead.
void arm_parent_death_signal(const ChildPlan& plan, pid_t parent) {
    if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        fail(plan, ChildStep::ParentDeathSignal, errno);
    }
    // The parent may have died before the death signal was armed.
    const bool alive = parent == 0 ? child_host_alive(plan.pid_init.host_pidfd) : ::syscall(SYS_getppid) == parent;
    if (!alive) fail(plan, ChildStep::ParentGone, ESRCH);
}

// The plugin's parent as it sees it: the host, or pid 1 of its PID namespace.
pid_t expected_parent(const ChildPlan& plan) { return in_pid_namespace(plan) ? 1 : plan.parent_pid; }

void reset_signal_handlers() {
    // Handlers are the host's code: a signal arriving before exec must not run them here.
    KernelSigaction default_action{};
    default_action.handler = SIG_DFL;
    for (int signal_number = 1; signal_number <= kLastSignal; ++signal_number) {
        if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
        ::syscall(SYS_rt_sigaction, signal_number, &default_action, nullptr, sizeof(unsigned long));
    }
}

// Descriptors the child needs until exec, placed right after the inherited ones
// (close-on-exec, so the plugin never sees them).
struct KeptDescriptors {
    int exe = -1;
    int landlock_ruleset = -1;
    int listener_handoff = -1;
};

// Installs plan.moves at 0..n-1, keeps the launch's own descriptors just above them, and
// closes everything else. Sources are first copied above every final number, so placing
// one can never overwrite another that is still to be placed.
KeptDescriptors arrange_descriptors(const ChildPlan& plan) {
    const int move_count = static_cast<int>(plan.move_count);
    int kept_sources[3] = {plan.exe_fd, plan.confinement.landlock_ruleset_fd, plan.listener_handoff_fd};
    int kept_copies[3] = {-1, -1, -1};
    const int first_unused = move_count + 3;
    for (int i = 0; i < move_count; ++i) {
        long copy = ::syscall(SYS_fcntl, plan.moves[i].source, F_DUPFD_CLOEXEC, first_unused);
        if (copy < 0) fail(plan, ChildStep::MoveDescriptors, errno, i);
        plan.scratch[i] = static_cast<int>(copy);
    }
    for (int i = 0; i < 3; ++i) {
        if (kept_sources[i] < 0) continue;
        long copy = ::syscall(SYS_fcntl, kept_sources[i], F_DUPFD_CLOEXEC, first_unused);
        if (copy < 0) fail(plan, ChildStep::MoveDescriptors, errno, move_count + i);
        kept_copies[i] = static_cast<int>(copy);
    }
    for (int i = 0; i < move_count; ++i) {
        // dup3 without O_CLOEXEC: these are the descriptors the plugin inherits.
        if (::syscall(SYS_dup3, plan.scratch[i], i, 0) < 0) fail(plan, ChildStep::MoveDescriptors, errno, i);
    }
    KeptDescriptors kept;
    int* kept_targets[3] = {&kept.exe, &kept.landlock_ruleset, &kept.listener_handoff};
    for (int i = 0; i < 3; ++i) {
        if (kept_copies[i] < 0) continue;
        if (::syscall(SYS_dup3, kept_copies[i], move_count + i, O_CLOEXEC) < 0) {
            fail(plan, ChildStep::MoveDescriptors, errno, move_count + i);
        }
        *kept_targets[i] = move_count + i;
    }
    if (::syscall(SYS_close_range, first_unused, ~0U, 0) != 0) fail(plan, ChildStep::CloseDescriptors, errno);
    return kept;
}

// Before the uid change (needs CAP_SYS_ADMIN) and before Landlock and seccomp (which
// forbid setns); before the descriptors are rearranged, which closes the template's.
void join_private_root(const ChildPlan& plan) {
    int error = 0;
    switch (child_join_private_root(plan.namespaces, &error)) {
    case JoinFailure::None: return;
    case JoinFailure::JoinNetwork: fail(plan, ChildStep::JoinNetwork, error);
    case JoinFailure::JoinUts: fail(plan, ChildStep::JoinUts, error);
    case JoinFailure::JoinIpc: fail(plan, ChildStep::JoinIpc, error);
    case JoinFailure::Join: fail(plan, ChildStep::JoinPrivateRoot, error);
    case JoinFailure::Copy: fail(plan, ChildStep::CopyPrivateRoot, error);
    case JoinFailure::Hostname: fail(plan, ChildStep::SetHostname, error);
    }
}

// A host that is not root: the child is the first process of its user namespace and builds
// the root there itself (user_namespace.hpp), before anything else changes its credentials.
void enter_user_namespace(const ChildPlan& plan) {
    const UserNamespaceFailure failure = child_enter_user_namespace(plan.namespaces);
    if (failure.stage == UserNamespaceFailure::Stage::None) return;
    if (failure.stage != UserNamespaceFailure::Stage::PrivateRoot) fail(plan, ChildStep::UserNamespaceMaps, failure.error);
    fail(plan, ChildStep::BuildPrivateRoot, failure.error,
         failure.root.stage == NamespaceFailure::Stage::RootStep ? failure.root.step : -1 - static_cast<int>(failure.root.stage));
}

void join_cgroups(const ChildPlan& plan) {
    // First, while the descriptors are still where the parent opened them: whatever the
    // process allocates or starts from here on (and after exec) counts in its cgroups. One
    // write per hierarchy; only the first waits for the kernel's RCU grace period, the
    // others follow within it (docs/sandbox.md, "Cost").
    for (std::size_t i = 0; i < plan.cgroup_join_count; ++i) {
        if (int error = child_join_cgroup(plan.cgroup_join_fds[i]); error != 0) {
            fail(plan, ChildStep::JoinCgroups, error, static_cast<int>(i));
        }
    }
}

// From the descriptors on: the steps that end in the plugin's exec, in the process that
// becomes the plugin.
[[noreturn]] void confine_and_exec(const ChildPlan& plan) {
    const KeptDescriptors kept = arrange_descriptors(plan);

    // The host's working directory is none of the plugin's business.
    if (::syscall(SYS_chdir, "/") != 0) fail(plan, ChildStep::ChangeDirectory, errno);

    if (plan.drop_privileges) {
        const gid_t groups[1] = {plan.gid};
        if (::syscall(SYS_setgroups, 1, groups) != 0) fail(plan, ChildStep::DropGroups, errno);
        if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) fail(plan, ChildStep::DropGid, errno);
        if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) fail(plan, ChildStep::DropUid, errno);
        // Until its exec this process runs in the host's memory as the plugin's user: another
        // process of that user must not reach it (ptrace, process_vm_*, /proc/PID/mem,
        // pidfd_getfd), whatever fs.suid_dumpable says (1 would leave it dumpable). A standby
        // child waits here for as long as the next launch takes. The exec makes a new mm,
        // dumpable again for the plugin as ever.
        if (::syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(plan, ChildStep::NotDumpable, errno);
        // Changing credentials clears the parent-death signal: arm it again.
        arm_parent_death_signal(plan, expected_parent(plan));
    }

    // Whatever the host held or passed on (ambient capabilities, every capability of the
    // plugin's user namespace, a real-time priority) the plugin starts without.
    if (int error = child_drop_capabilities(); error != 0) fail(plan, ChildStep::DropCapabilities, error);
    if (int error = child_reset_scheduling(); error != 0) fail(plan, ChildStep::ResetScheduling, error);

    // After the uid change: RLIMIT_NPROC checked at setresuid time would otherwise make
    // the exec fail with EAGAIN whenever the target user already runs other processes.
    for (std::size_t i = 0; i < plan.limit_count; ++i) {
        const ResourceLimitSetting& limit = plan.limits[i];
        if (::syscall(SYS_prlimit64, 0, limit.resource, &limit.value, nullptr) != 0) {
            fail(plan, ChildStep::ResourceLimit, errno, limit.resource);
        }
    }

    if (plan.listen_pid_digits != nullptr) write_decimal(plan.listen_pid_digits, ::syscall(SYS_getpid));

    const unsigned long empty_mask = 0;
    if (::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, sizeof empty_mask) != 0) {
        fail(plan, ChildStep::UnblockSignals, errno);
    }

    if (int error = child_set_no_new_privs(); error != 0) fail(plan, ChildStep::NoNewPrivs, error);
    if (kept.landlock_ruleset >= 0) {
        if (int error = child_apply_landlock(kept.landlock_ruleset); error != 0) {
            fail(plan, ChildStep::Landlock, error);
        }
    }
    // Seccomp last: after it only the tagged sendmsg/execveat and exit_group are sure to pass.
    if (plan.confinement.seccomp_program != nullptr) {
        int listener = -1;
        int error = child_apply_seccomp(*plan.confinement.seccomp_program,
                                        plan.confinement.seccomp_listener ? &listener : nullptr);
        if (error != 0) fail(plan, ChildStep::Seccomp, error);
        if (listener >= 0) {
            error = child_send_listener(kept.listener_handoff, listener, plan.confinement.exec_tag);
            if (error != 0) fail(plan, ChildStep::SendListener, error);
        }
    }
    if (plan.wait_for_release) {
        // Fully confined, parked until the host launches it (or closes the socket: it
        // discarded this child, or died). The tagged read passes the filter as the hand-off's.
        const int error = child_wait_for_release(kept.listener_handoff, plan.confinement.exec_tag, kReleaseByte);
        if (error != 0) fail(plan, ChildStep::WaitForRelease, error);
    }
    fail(plan, ChildStep::Exec, child_exec(kept.exe, plan.argv, plan.envp, plan.confinement.exec_tag));
}

// Below pid 1 of a PID namespace: the plugin, on its own stack, while pid 1 sleeps in vfork.
// Only it joins the cgroups: pid 1 stays out of the plugin's memory, tasks and cpu budget.
int plugin_entry(void* argument) {
    const ChildPlan& plan = *static_cast<const ChildPlan*>(argument);
    // Its own session, out of pid 1's process group.
    if (::syscall(SYS_setsid) < 0) fail(plan, ChildStep::NewSession, errno);
    arm_parent_death_signal(plan, 1);
    const pid_t in_host = child_pid_in_host(plan.pid_init.host_proc_fd);
    if (in_host <= 0) fail(plan, ChildStep::PluginPidInHost, -in_host);
    *static_cast<volatile pid_t*>(plan.pid_init.plugin_pid_in_host) = in_host;
    join_cgroups(plan);
    confine_and_exec(plan);
}

// pid 1 of the plugin's PID namespace: starts the plugin, then replaces itself (and with it
// the host's memory it runs in) by airlock-pid-init. Every signal is still blocked, as the
// host blocked them around clone: they wait for the init's loop.
// A standby's pid 1 sleeps in the vfork for as long as its plugin is parked, holding a copy
// of every descriptor the host had open at the clone (another launch's socket end among
// them, whose end of stream would then never come). It keeps only what it and the plugin
// still need.
void keep_only_plan_descriptors(const ChildPlan& plan) {
    constexpr std::size_t kMaxKept = 64;
    int kept[kMaxKept];
    std::size_t count = 0;
    const auto keep = [&](int fd) {
        if (fd < 0) return;
        if (count == kMaxKept) fail(plan, ChildStep::CloseDescriptors, EMFILE);
        kept[count++] = fd;
    };
    for (std::size_t i = 0; i < plan.move_count; ++i) keep(plan.moves[i].source);
    for (std::size_t i = 0; i < plan.cgroup_join_count; ++i) keep(plan.cgroup_join_fds[i]);
    keep(plan.exe_fd);
    keep(plan.confinement.landlock_ruleset_fd);
    keep(plan.listener_handoff_fd);
    keep(plan.pid_init.image_fd);
    keep(plan.pid_init.status_fd);
    keep(plan.pid_init.host_proc_fd);
    keep(plan.pid_init.host_pidfd);
    for (std::size_t i = 1; i < count; ++i) {  // insertion sort: no library code here
        const int fd = kept[i];
        std::size_t j = i;
        for (; j > 0 && kept[j - 1] > fd; --j) kept[j] = kept[j - 1];
        kept[j] = fd;
    }
    unsigned int next = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto fd = static_cast<unsigned int>(kept[i]);
        if (fd > next && ::syscall(SYS_close_range, next, fd - 1, 0) != 0) fail(plan, ChildStep::CloseDescriptors, errno);
        if (fd >= next) next = fd + 1;
    }
    if (::syscall(SYS_close_range, next, ~0U, 0) != 0) fail(plan, ChildStep::CloseDescriptors, errno);
}

[[noreturn]] void become_pid_init(const ChildPlan& plan) {
    if (plan.wait_for_release) keep_only_plan_descriptors(plan);
    const int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    const int plugin = plan.pid_init.clone(plugin_entry, plan.pid_init.plugin_stack_top, flags,
                                           const_cast<ChildPlan*>(&plan));
    if (plugin < 0) fail(plan, ChildStep::StartPlugin, errno);
    // The plugin has executed, or recorded its failure and exited (then this exits too, and
    // the kernel reaps it with the namespace).
    if (static_cast<volatile ChildFailure*>(plan.failure)->step != 0) ::syscall(SYS_exit_group, 126);
    fail(plan, ChildStep::StartPidInit, child_exec_pid_init(plan.pid_init.image_fd, plan.pid_init.status_fd, plugin));
}

[[noreturn]] void child_main(const ChildPlan& plan) {
    reset_signal_handlers();
    if (int error = child_reset_oom_score(); error != 0) fail(plan, ChildStep::ResetOomScore, error);
    if (::syscall(SYS_setsid) < 0) fail(plan, ChildStep::NewSession, errno);
    if (in_pid_namespace(plan)) {
        arm_parent_death_signal(plan, 0);
        if (plan.namespaces.template_fd >= 0) join_private_root(plan);
        if (plan.namespaces.uid_map != nullptr) enter_user_namespace(plan);
        become_pid_init(plan);
    }
    arm_parent_death_signal(plan, plan.parent_pid);
    join_cgroups(plan);
    if (plan.namespaces.template_fd >= 0) join_private_root(plan);
    confine_and_exec(plan);
}

int child_entry(void* argument) {
    child_main(*static_cast<const ChildPlan*>(argument));
}

// A private stack for the child, with a guard page below it.
class ChildStack {
public:
    ChildStack() {
        base_ = ::mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (base_ == MAP_FAILED) {
            throw SpawnError(std::string("cannot map the child stack: ") + std::strerror(errno));
        }
        ::mprotect(base_, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_NONE);
    }
    ChildStack(const ChildStack&) = delete;
    ChildStack& operator=(const ChildStack&) = delete;
    ~ChildStack() { ::munmap(base_, kChildStackSize); }
    void* top() const noexcept { return static_cast<char*>(base_) + kChildStackSize; }

private:
    void* base_ = nullptr;
};

// The calling thread's child stack, mapped on its first launch and kept until it exits.
// The child only runs on it while this thread sleeps in vfork, so one per thread is
// enough; mapping and unmapping it per launch cost about 70 us (docs/spawning.md).
void* child_stack_top() {
    thread_local ChildStack stack;
    return stack.top();
}

} // namespace

void* plugin_stack_top() {
    thread_local ChildStack stack;
    return stack.top();
}

namespace {

// Blocks every signal for the current thread while alive: the CLONE_VM child must not run
// a host signal handler before it has reset them.
class AllSignalsBlocked {
public:
    AllSignalsBlocked() noexcept {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous_);
    }
    AllSignalsBlocked(const AllSignalsBlocked&) = delete;
    AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;
    ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

private:
    sigset_t previous_{};
};

} // namespace

const char* child_step_description(ChildStep step) noexcept {
    switch (step) {
    case ChildStep::NewSession: return "start a new session (setsid)";
    case ChildStep::ParentDeathSignal: return "set the parent-death signal";
    case ChildStep::ParentGone: return "check that the host is still alive";
    case ChildStep::JoinCgroups: return "join its cgroups";
    case ChildStep::JoinNetwork: return "join its empty network namespace (setns)";
    case ChildStep::JoinUts: return "join the UTS namespace of its private root (setns)";
    case ChildStep::JoinIpc: return "join the IPC namespace of its private root (setns)";
    case ChildStep::JoinPrivateRoot: return "join the mount namespace of its private root (setns)";
    case ChildStep::CopyPrivateRoot: return "take a private copy of its root (unshare CLONE_NEWNS)";
    case ChildStep::SetHostname: return "set its hostname (namespaces)";
    case ChildStep::MoveDescriptors: return "install the inherited descriptors";
    case ChildStep::CloseDescriptors: return "close all other descriptors (close_range)";
    case ChildStep::ChangeDirectory: return "change directory to /";
    case ChildStep::DropGroups: return "drop supplementary groups (setgroups)";
    case ChildStep::DropGid: return "switch group (setresgid)";
    case ChildStep::DropUid: return "switch user (setresuid)";
    case ChildStep::ResourceLimit: return "set a resource limit";
    case ChildStep::UnblockSignals: return "unblock signals";
    case ChildStep::NoNewPrivs: return "set no_new_privs";
    case ChildStep::Landlock: return "enforce the Landlock ruleset";
    case ChildStep::Seccomp: return "load the seccomp filter";
    case ChildStep::SendListener: return "hand the seccomp listener to the host";
    case ChildStep::Exec: return "execute the plugin";
    case ChildStep::PluginPidInHost: return "read its pid as the host sees it (/proc/self)";
    case ChildStep::StartPlugin: return "start the plugin below pid 1 of its PID namespace (clone)";
    case ChildStep::StartPidInit: return "execute airlock-pid-init as pid 1 of its PID namespace";
    case ChildStep::UserNamespaceMaps: return "map the host's uid and gid in its user namespace (/proc/self/uid_map)";
    case ChildStep::BuildPrivateRoot: return "build its private root in its user namespace";
    case ChildStep::DropCapabilities: return "drop its capabilities (capset)";
    case ChildStep::ResetScheduling: return "give up a real-time scheduling or I/O priority";
    case ChildStep::ResetOomScore: return "raise a negative oom_score_adj to 0 (/proc/self/oom_score_adj)";
    case ChildStep::WaitForRelease: return "wait, prepared, for its launch";
    case ChildStep::NotDumpable: return "make itself undumpable (prctl PR_SET_DUMPABLE)";
    }
    return "an unknown step";
}

namespace {

LaunchedChild launched_or_throw(pid_t pid, int pidfd, int clone_error) {
    if (pid < 0) throw SpawnError(std::string("clone failed: ") + std::strerror(clone_error));
    LaunchedChild child;
    child.pid = pid;
    child.pidfd.reset(pidfd);
    return child;
}

} // namespace

LaunchedChild launch_child(const ChildPlan& plan) {
    void* stack_top = child_stack_top();
    int pidfd = -1;
    pid_t pid = -1;
    int clone_error = 0;
    {
        AllSignalsBlocked blocked;
        // CLONE_VM|CLONE_VFORK: no copy of the host's page tables, so the cost does not
        // grow with host memory; this thread sleeps until the child executes or exits.
        // The namespace flags create the plugin's own UTS and IPC namespaces with it.
        const int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | static_cast<int>(plan.namespaces.clone_flags);
        pid = direct_clone()(child_entry, stack_top, flags, const_cast<ChildPlan*>(&plan), &pidfd);
        clone_error = errno;
    }
    return launched_or_throw(pid, pidfd, clone_error);
}

StandbyStacks::StandbyStacks() {
    // Both in one mapping: [guard | launch stack | guard | plugin stack].
    base_ = ::mmap(nullptr, 2 * kChildStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (base_ == MAP_FAILED) throw SpawnError(std::string("cannot map a standby child's stacks: ") + std::strerror(errno));
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    ::mprotect(base_, page, PROT_NONE);
    ::mprotect(static_cast<char*>(base_) + kChildStackSize, page, PROT_NONE);
}

StandbyStacks::~StandbyStacks() { ::munmap(base_, 2 * kChildStackSize); }

void* StandbyStacks::launch_stack_top() const noexcept { return static_cast<char*>(base_) + kChildStackSize; }
void* StandbyStacks::plugin_stack_top() const noexcept { return static_cast<char*>(base_) + 2 * kChildStackSize; }

bool StandbyStacks::exec_done() const noexcept { return __atomic_load_n(&clear_word_, __ATOMIC_ACQUIRE) == 0; }

void StandbyStacks::wait_exec_done() const noexcept {
    while (!wait_exec_done_for(std::chrono::hours(1))) {
    }
}

bool StandbyStacks::wait_exec_done_for(std::chrono::milliseconds limit) const noexcept {
    // The kernel writes 0 and wakes the word (a shared futex) when the launch child releases
    // the host's memory, at its execve or its exit: what vfork waits for, without the wait.
    const auto until = std::chrono::steady_clock::now() + limit;
    for (int seen; (seen = __atomic_load_n(&clear_word_, __ATOMIC_ACQUIRE)) != 0;) {
        const auto left = until - std::chrono::steady_clock::now();
        if (left <= std::chrono::nanoseconds::zero()) return false;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        const timespec relative{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        ::syscall(SYS_futex, &clear_word_, FUTEX_WAIT, seen, &relative, nullptr, 0);
    }
    return true;
}

LaunchedChild launch_standby_child(const ChildPlan& plan, StandbyStacks& stacks) {
    int pidfd = -1;
    pid_t pid = -1;
    int clone_error = 0;
    {
        AllSignalsBlocked blocked;
        // No CLONE_VFORK: the child parks before its exec and this thread goes on.
        const int flags = CLONE_VM | CLONE_PIDFD | CLONE_CHILD_CLEARTID | SIGCHLD |
                          static_cast<int>(plan.namespaces.clone_flags);
        pid = direct_clone()(child_entry, stacks.launch_stack_top(), flags, const_cast<ChildPlan*>(&plan), &pidfd,
                             nullptr, stacks.clear_word());
        clone_error = errno;
    }
    return launched_or_throw(pid, pidfd, clone_error);
}

} // namespace airlock::host::detail
