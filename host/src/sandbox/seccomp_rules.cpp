// The per-syscall rules of a plugin's seccomp policy, as data (seccomp_rules.hpp). The
// compiler (seccomp_filter.cpp) and the verifier (filter_verifier.cpp) both read them.
#include "airlock/host/seccomp_rules.hpp"

#include "airlock/host/seccomp_filter.hpp"
#include "airlock/host/native_syscall_table.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/sockios.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace airlock::host {

namespace {

using Op = ArgCondition::Op;

// Not in linux-libc-dev 6.1 (Linux 6.9+); the value is ABI.
constexpr std::uint64_t rwf_noappend = 0x00000020;
// The highest syscall number probed for a name (x86_64 tops out near 470; x32 is separate).
constexpr int highest_probed_syscall = 1023;
static_assert(highest_probed_syscall < generated::native_syscall_table_size);
// libseccomp looks a number up by scanning its whole table, so the probe stops once this many
// numbers in a row after the last known one are unknown (x86_64's widest gap, 335..423, is 89).
// A number never probed answers ENOSYS like any unknown one.
constexpr int unknown_numbers_before_stop = 128;
// Masks an argument down to the 32 bits the kernel reads for an `int` parameter.
constexpr std::uint64_t low_32_bits = 0xffffffffULL;
constexpr std::uint64_t namespace_clone_flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                                CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// Syscalls glibc 2.36 tries first and falls back from on ENOSYS; when a policy does not
// allow them they answer ENOSYS instead of counting as a violation.
constexpr std::string_view libc_probed_syscalls[] = {"rseq", "faccessat2"};

// fcntl commands a plugin may use (F_SETFL and F_SETLEASE have rules of their own); unknown
// future commands fall through to ENOSYS.
constexpr int known_fcntl_commands[] = {
    F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_GETLK, F_SETLK, F_SETLKW, F_SETOWN, F_GETOWN,
    F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
    F_GETLEASE, F_NOTIFY, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ,
    F_ADD_SEALS, F_GET_SEALS, F_GET_RW_HINT, F_SET_RW_HINT, F_GET_FILE_RW_HINT, F_SET_FILE_RW_HINT,
};

ArgCondition masked(unsigned arg, std::uint64_t mask, std::uint64_t datum) { return {arg, Op::MaskedEq, mask, datum}; }
ArgCondition int_equals(unsigned arg, std::uint64_t value) { return masked(arg, low_32_bits, value); }
ArgCondition equals(unsigned arg, std::uint64_t value) { return {arg, Op::Eq, ~0ULL, value}; }
ArgCondition differs(unsigned arg, std::uint64_t value) { return {arg, Op::Ne, ~0ULL, value}; }
ArgCondition int_differs(unsigned arg, std::uint64_t value) { return {arg, Op::MaskedNe, low_32_bits, value}; }

// A sandbox denial with the words a violation report gives for it.
ArgRule denial(std::vector<ArgCondition> conditions, std::string why) {
    return {RuleAction::SandboxDenial, std::move(conditions), std::move(why)};
}

const char* clone_flag_name(std::uint64_t flag) {
    switch (flag) {
    case CLONE_NEWNS: return "CLONE_NEWNS";
    case CLONE_NEWCGROUP: return "CLONE_NEWCGROUP";
    case CLONE_NEWUTS: return "CLONE_NEWUTS";
    case CLONE_NEWIPC: return "CLONE_NEWIPC";
    case CLONE_NEWUSER: return "CLONE_NEWUSER";
    case CLONE_NEWPID: return "CLONE_NEWPID";
    case CLONE_NEWNET: return "CLONE_NEWNET";
    }
    return "a namespace flag";
}

constexpr const char* single_process_why =
    " makes a new process, and limits.processes = 1 allows threads only (raise limits.processes to let it fork)";
constexpr const char* append_only_why = "the plugin holds an append-only grant, which must stay append-only";

// Everything the per-syscall decision needs.
struct Inputs {
    std::set<int> allowed;
    std::set<int> always_denied;
    bool single_process = false;
    bool append_hardening = false;
    bool datagram_opt_in = false;
    bool exec_after_launch = false;
    bool all_ioctls = false;
    ExecTag tag = 0;
};

bool is_libc_probed(std::string_view name) {
    for (auto probed : libc_probed_syscalls)
        if (probed == name) return true;
    return false;
}

using Rules = std::vector<ArgRule>;

Rules clone_rules(const Inputs& in) {
    // clone's flags are a register the filter can read (unlike clone3's struct).
    const std::uint64_t mask = namespace_clone_flags | CLONE_PARENT | (in.single_process ? CLONE_THREAD : 0);
    const std::uint64_t wanted = in.single_process ? CLONE_THREAD : 0;
    Rules rules{{RuleAction::Allow, {masked(0, mask, wanted)}}};
    // A CLONE_PARENT child is the plugin's parent's: without a PID namespace the host's, which
    // waits for its own plugins by pidfd only, so each such child stays a zombie of the host
    // (an unbounded count across restarts, charged to the plugin's uid).
    rules.push_back(denial({masked(0, CLONE_PARENT, CLONE_PARENT)},
                           "clone with CLONE_PARENT: the new process would be the host's child, not the plugin's"));
    for (std::uint64_t flag = 1; flag <= namespace_clone_flags; flag <<= 1)
        if (flag & namespace_clone_flags)
            rules.push_back(denial({masked(0, flag, flag)}, std::string("clone with ") + clone_flag_name(flag) +
                                                              ": a plugin may not create namespaces"));
    if (in.single_process)
        rules.push_back(denial({masked(0, CLONE_THREAD | namespace_clone_flags, 0)},
                               std::string("clone without CLONE_THREAD") + single_process_why));
    return rules;
}

// A lease makes every other process's open() of the file (a root host's, the operator's,
// a backup's) wait until the plugin gives it up or fs.lease-break-time (45 s) passes, again
// on every open; a host that is not root shares its uid, and with it the right to lease any
// of its files the plugin can open.
Rules fcntl_rules(const Inputs& in) {
    Rules rules{denial({int_equals(1, F_SETLEASE)},
                       "fcntl F_SETLEASE: a lease makes other processes' open() of the file wait for the plugin "
                       "(fs.lease-break-time, 45 s)")};
    if (!in.append_hardening) {
        // Every command below 1040 but F_SETLEASE (1024), in aligned blocks (a few
        // comparisons instead of one per command): 0..1023, 1025, 1026..1027, 1028..1031,
        // 1032..1039. Linux has none above 1038 yet; newer ones answer ENOSYS.
        static_assert(F_SETLEASE == 1024);
        for (auto [mask, first] : {std::pair{0xfffffc00U, 0U}, {0xffffffffU, 1025U}, {0xfffffffeU, 1026U},
                                   {0xfffffffcU, 1028U}, {0xfffffff8U, 1032U}})
            rules.push_back({RuleAction::Allow, {masked(1, mask, first)}});
        return rules;
    }
    for (int command : known_fcntl_commands)
        rules.push_back({RuleAction::Allow, {int_equals(1, static_cast<std::uint64_t>(command))}});
    const auto is_setfl = int_equals(1, F_SETFL);
    rules.push_back({RuleAction::Allow, {is_setfl, masked(2, O_APPEND, O_APPEND)}});
    rules.push_back(denial({is_setfl, masked(2, O_APPEND, 0)},
                           std::string("fcntl F_SETFL clearing O_APPEND: ") + append_only_why));
    return rules;
}

Rules socketpair_rules() {
    // Only connected stream/seqpacket pairs: an unconnected datagram socket could sendmsg
    // to any pathname socket (Landlock ABI 7 does not cover pathname UNIX sockets).
    Rules rules;
    for (int type : {SOCK_STREAM, SOCK_SEQPACKET})
        rules.push_back({RuleAction::Allow, {equals(0, AF_UNIX), masked(1, 0xf, static_cast<std::uint64_t>(type))}});
    rules.push_back(denial({differs(0, AF_UNIX)}, "socketpair outside AF_UNIX: only AF_UNIX pairs are allowed"));
    rules.push_back(denial({masked(1, 0xf, SOCK_DGRAM)},
                           "socketpair of type SOCK_DGRAM: an unconnected datagram socket could reach any pathname "
                           "socket; only SOCK_STREAM and SOCK_SEQPACKET pairs are allowed"));
    return rules;
}

// A call on another process (same uid: other plugins, or the host when it is not root;
// some, like getsid or sched_getaffinity, have no permission check at all) is refused: only
// the calling process itself, pid 0. getpriority-style calls also need `which` = a process
// (0 with PRIO_PGRP/PRIO_USER would mean the process group or every process of the uid).
Rules self_only_rules(const PidArgument& call) {
    Rules rules;
    ArgRule allow{RuleAction::Allow, {equals(call.pid_arg, 0)}};
    if (call.which_arg >= 0) {
        const auto which = static_cast<unsigned>(call.which_arg);
        allow.conditions.push_back(equals(which, call.which_self));
        rules.push_back(denial({differs(which, call.which_self)},
                               std::string(call.syscall) + " on a process group or user: only the plugin's own "
                                                           "process (which = a process, who = 0) is allowed"));
    }
    rules.push_back(std::move(allow));
    rules.push_back(denial({differs(call.pid_arg, 0)},
                           std::string(call.syscall) + " on another process: only the plugin's own process "
                                                       "(pid argument 0) is allowed"));
    return rules;
}

// sched_getaffinity of any pid but 0 answers ENOSYS instead of being refused: glibc's
// pthread_getattr_np asks for its own thread's affinity by tid (ASan's thread start, the Rust
// and Go runtimes use it) and carries on without an affinity on ENOSYS, while EPERM fails
// it. A filter cannot tell the caller's own tids from other processes, so no tid is answered:
// nothing about another process leaks, and no violation is reported (glibc asks routinely).
Rules affinity_query_rules() {
    return {{RuleAction::Allow, {equals(0, 0)}}, {RuleAction::Enosys, {differs(0, 0)}}};
}

// ioctl by request: the reviewed list runs, anything else answers ENOSYS (the kernel's
// ENOTTY for a request a descriptor does not know is what most programs expect, and they
// handle both). A device grant (device = true) hands over every request.
Rules ioctl_rules(const Inputs& in) {
    if (in.all_ioctls) return {{RuleAction::Allow, {}}};
    Rules rules;
    for (std::uint32_t request : allowed_ioctl_requests()) rules.push_back({RuleAction::Allow, {int_equals(1, request)}});
    return rules;
}

// Calls that take a clockid: a negative one names a CPU-time clock by pid (bits 3..31 hold
// ~pid, bit 2 says thread, bits 0..1 which clock; 3 there is a clock by descriptor), and
// the kernel lets any process read, sleep on or time any other process's CPU time (no
// permission check: the host's and other plugins' activity, without a PID namespace).
// Allowed: the fixed clocks, thread clocks (the kernel limits them to the caller's own
// threads), the caller's own process clock (pid 0) and clocks by descriptor; another
// process's clock answers ENOSYS.
Rules clock_rules() {
    return {{RuleAction::Allow, {masked(0, 0x80000000U, 0)}},
            {RuleAction::Allow, {masked(0, 0x80000004U, 0x80000004U)}},
            {RuleAction::Allow, {masked(0, 0xfffffffcU, 0xfffffff8U)}},
            {RuleAction::Allow, {masked(0, 0x80000007U, 0x80000003U)}}};
}

// madvise(MADV_MERGEABLE) opts a range into KSM, like the refused PR_SET_MEMORY_MERGE: pages
// merged with other processes' identical ones (the host's, other plugins') tell by timing
// what those hold, and share one physical page with them. Refused with EPERM as the kernel
// answers when KSM is off; every other advice (all below 128) runs.
Rules madvise_rules() {
    static_assert(MADV_MERGEABLE == 12);
    Rules rules{{RuleAction::RefuseEperm, {int_equals(2, MADV_MERGEABLE)}}};
    // 0..11, 13, 14..15, 16..31, 32..63, 64..127 in aligned blocks.
    for (auto [mask, first] : {std::pair{0xfffffff8U, 0U}, {0xfffffffcU, 8U}, {0xffffffffU, 13U}, {0xfffffffeU, 14U},
                               {0xfffffff0U, 16U}, {0xffffffe0U, 32U}, {0xffffffc0U, 64U}})
        rules.push_back({RuleAction::Allow, {masked(2, mask, first)}});
    return rules;
}

// prctl by option: the reviewed list runs, the refused options fail with EPERM (so a
// program that tries, e.g., to clear its parent-death signal keeps running, still bound to
// its host), anything newer answers ENOSYS.
Rules prctl_rules() {
    Rules rules;
    for (std::uint32_t option : allowed_prctl_options()) rules.push_back({RuleAction::Allow, {int_equals(0, option)}});
    for (std::uint32_t option : refused_prctl_options())
        rules.push_back({RuleAction::RefuseEperm, {int_equals(0, option)}});
    return rules;
}

// sendto with a destination address re-addresses a datagram socket (Landlock does not cover
// pathname UNIX sockets); without the opt-in only the connected peer (address NULL).
Rules sendto_rules() {
    return {{RuleAction::Allow, {equals(4, 0)}},
            denial({differs(4, 0)}, "sendto with a destination address: only the connected peer, unless a "
                                    "connect grant sets datagram = true")};
}

// SO_BINDTODEVICE and SO_BINDTOIFINDEX look the device up in the network namespace the socket
// was made in: on the connection socket (and connect grants) the host's, whatever namespace
// the plugin runs in. Success or ENODEV told which interface names the host has (round 9).
// Refused with EPERM, what the kernel answers a bound socket's owner without CAP_NET_RAW;
// every other option, at every level, runs.
Rules setsockopt_rules() {
    Rules rules{{RuleAction::Allow, {int_differs(1, SOL_SOCKET)}},
                {RuleAction::Allow,
                 {int_equals(1, SOL_SOCKET), int_differs(2, SO_BINDTODEVICE), int_differs(2, SO_BINDTOIFINDEX)}}};
    for (std::uint64_t option : {SO_BINDTODEVICE, SO_BINDTOIFINDEX})
        rules.push_back({RuleAction::RefuseEperm, {int_equals(1, SOL_SOCKET), int_equals(2, option)}});
    return rules;
}

std::string fallocate_flag_name(std::uint64_t flag) {
    switch (flag) {
    case FALLOC_FL_PUNCH_HOLE: return "FALLOC_FL_PUNCH_HOLE";
    case FALLOC_FL_NO_HIDE_STALE: return "FALLOC_FL_NO_HIDE_STALE";
    case FALLOC_FL_COLLAPSE_RANGE: return "FALLOC_FL_COLLAPSE_RANGE";
    case FALLOC_FL_ZERO_RANGE: return "FALLOC_FL_ZERO_RANGE";
    case FALLOC_FL_INSERT_RANGE: return "FALLOC_FL_INSERT_RANGE";
    case FALLOC_FL_UNSHARE_RANGE: return "FALLOC_FL_UNSHARE_RANGE";
    }
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(flag));
    return text;
}

Rules append_hardening_rules(std::string_view name, bool& handled) {
    handled = true;
    if (name == "pwritev2")
        return {{RuleAction::Allow, {masked(5, rwf_noappend, 0)}},
                denial({masked(5, rwf_noappend, rwf_noappend)},
                       std::string("pwritev2 with RWF_NOAPPEND: ") + append_only_why)};
    if (name == "fallocate") {
        // Plain allocation is harmless; punching/collapsing/zeroing rewrites the past.
        Rules rules;
        for (std::uint64_t mode : {0ULL, static_cast<unsigned long long>(FALLOC_FL_KEEP_SIZE)})
            rules.push_back({RuleAction::Allow, {int_equals(1, mode)}});
        // Each mode bit other than KEEP_SIZE rewrites existing data; unknown bits: ENOSYS.
        for (std::uint64_t flag = 2; flag <= 0x80; flag <<= 1)
            rules.push_back(denial({masked(1, flag, flag)},
                                   "fallocate mode " + fallocate_flag_name(flag) +
                                       " rewrites existing data (only mode 0 and FALLOC_FL_KEEP_SIZE): " +
                                       append_only_why));
        return rules;
    }
    // ftruncate works on O_APPEND descriptors; io_submit can carry RWF_NOAPPEND.
    if (name == "ftruncate" || name == "io_submit")
        return {denial({}, std::string(name) + (name == "ftruncate" ? " can cut a file short: " : " can carry RWF_NOAPPEND: ") +
                               append_only_why)};
    handled = false;
    return {};
}

constexpr const char* launch_once_why =
    "executing a program after the launch: the host executes the plugin once, and the plugin may not exec again";

// The launch: execveat(fd, "", argv, envp, AT_EMPTY_PATH) carrying the secret tag.
Rules exec_rules(ExecTag tag) {
    return {{RuleAction::Allow, {equals(exec_tag_argument_index, tag), masked(4, AT_EMPTY_PATH, AT_EMPTY_PATH)}},
            denial({masked(4, AT_EMPTY_PATH, 0)}, launch_once_why),
            denial({differs(exec_tag_argument_index, tag)}, launch_once_why)};
}

// One syscall's rules: the sandbox's own constraints first, then the plugin's policy.
// `assume_allowed`: the rules the call would have if the policy allowed it.
Rules rules_for(int nr, std::string_view name, const Inputs& in, bool assume_allowed = false) {
    const bool allowed = assume_allowed || in.allowed.count(nr) != 0;
    const auto always = [] { return Rules{{RuleAction::Allow, {}}}; };
    if (in.always_denied.count(nr)) return {denial({}, "")};  // the report names the reason
    // Allowing execve by name lets a wrapper exec again; Landlock still decides what.
    if (in.exec_after_launch && (name == "execve" || name == "execveat")) return always();
    if (name == "socket" || name == "connect" || name == "bind")
        return {denial({}, std::string(name) + std::string(": a plugin may not create, bind or connect sockets itself; grant it "
                                               "the socket it needs (a connect grant)"))};
    if (name == "execve") return {denial({}, std::string("execve: ") + launch_once_why)};
    if (name == "clone3") return {};  // flags hidden in memory: cannot be checked; ENOSYS
    if (name == "execveat") return exec_rules(in.tag);
    if (name == "exit" || name == "exit_group") return always();
    if ((name == "sendmsg" || name == "read") && !allowed)  // the listener hand-off
        return {{RuleAction::Allow, {equals(exec_tag_argument_index, in.tag)}},
                {RuleAction::Violation, {differs(exec_tag_argument_index, in.tag)}}};
    if (in.single_process && (name == "fork" || name == "vfork"))
        return {denial({}, std::string(name) + single_process_why)};
    if (!allowed) return is_libc_probed(name) ? Rules{} : Rules{{RuleAction::Violation, {}}};

    if (name == "clone") return clone_rules(in);
    if (name == "socketpair") return socketpair_rules();
    if (name == "prctl") return prctl_rules();
    if (name == "ioctl") return ioctl_rules(in);
    if (name == "madvise") return madvise_rules();
    if (name == "clock_gettime" || name == "clock_getres" || name == "clock_nanosleep" || name == "timer_create")
        return clock_rules();
    if (name == "sendto" && !in.datagram_opt_in) return sendto_rules();
    if (name == "setsockopt") return setsockopt_rules();
    if (name == "sched_getaffinity") return affinity_query_rules();
    if (name == "fcntl") return fcntl_rules(in);
    for (const auto& call : self_only_pid_syscalls())
        if (name == call.syscall) return self_only_rules(call);
    if (in.append_hardening) {
        bool handled = false;
        Rules rules = append_hardening_rules(name, handled);
        if (handled) return rules;
    }
    return always();
}

Result<std::set<int>> resolve_names(const std::set<std::string>& names, bool strict) {
    std::set<int> numbers;
    for (const auto& name : names) {
        int nr = native_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) {
            if (strict)
                return Status(StatusCode::InvalidParameter,
                              "seccomp: unknown system call \"" + name + "\" in the allowlist");
            continue;
        }
        if (nr >= 0) numbers.insert(nr);  // negative: does not exist on this architecture
    }
    return numbers;
}

} // namespace

namespace {

// ArgCondition::matches, inlined where the verifier calls it for every rule of every
// argument case (decide).
inline bool holds(const ArgCondition& condition, const std::array<std::uint64_t, 6>& args) noexcept {
    const std::uint64_t value = args[condition.arg];
    switch (condition.op) {
    case Op::MaskedEq: return (value & condition.mask) == condition.datum;
    case Op::Eq: return value == condition.datum;
    case Op::Ne: return value != condition.datum;
    case Op::MaskedNe: return (value & condition.mask) != condition.datum;
    }
    return false;
}

} // namespace

bool ArgCondition::matches(const std::array<std::uint64_t, 6>& args) const noexcept { return holds(*this, args); }

const ArgRule* SyscallRules::matching(const std::array<std::uint64_t, 6>& args) const {
    for (const auto& rule : rules) {
        bool all = true;
        for (const auto& condition : rule.conditions) all = all && holds(condition, args);
        if (all) return &rule;
    }
    return nullptr;
}

RuleAction SyscallRules::decide(const std::array<std::uint64_t, 6>& args, bool* ambiguous) const {
    bool found = false;
    RuleAction decision = RuleAction::Enosys;
    for (const auto& rule : rules) {
        bool all = true;
        for (const auto& condition : rule.conditions) all = all && holds(condition, args);
        if (!all) continue;
        if (found && rule.action != decision && ambiguous) *ambiguous = true;
        if (!found) decision = rule.action;
        found = true;
    }
    return decision;
}

const std::set<std::uint32_t>& allowed_prctl_options() {
    // Reads of one's own state, naming threads and mappings, and settings that only
    // tighten (no_new_privs, MDWE, dropping capabilities, THP off, timer slack).
    static const std::set<std::uint32_t> options = {
        PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_GET_UNALIGN, PR_GET_KEEPCAPS, PR_GET_FPEMU, PR_GET_FPEXC,
        PR_GET_TIMING, PR_SET_NAME, PR_GET_NAME, PR_GET_ENDIAN, PR_GET_SECCOMP, PR_CAPBSET_READ,
        PR_CAPBSET_DROP, PR_GET_TSC, PR_GET_SECUREBITS, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK,
        PR_MCE_KILL_GET, PR_GET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
        PR_GET_TID_ADDRESS, PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_GET_FP_MODE, PR_CAP_AMBIENT,
        PR_GET_SPECULATION_CTRL, PR_GET_TAGGED_ADDR_CTRL, PR_GET_IO_FLUSHER,
        65 /* PR_SET_MDWE */, 66 /* PR_GET_MDWE */, 68 /* PR_GET_MEMORY_MERGE */,
        74 /* PR_GET_SHADOW_STACK_STATUS */, PR_SET_VMA, 0x41555856 /* PR_GET_AUXV */,
    };
    return options;
}

const std::set<std::uint32_t>& refused_prctl_options() {
    // Everything that detaches from the host or loosens the process: the parent-death
    // signal, dumpability, keepcaps, securebits, seccomp mode, child subreaper, the Yama
    // ptracer, mm fields, syscall user dispatch, core scheduling (takes a pid), KSM, speculation
    // control, perf, other architectures' knobs and checkpoint/restore helpers.
    static const std::set<std::uint32_t> options = {
        PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_UNALIGN, PR_SET_KEEPCAPS, PR_SET_FPEMU, PR_SET_FPEXC,
        PR_SET_TIMING, PR_SET_ENDIAN, PR_SET_SECCOMP, PR_SET_TSC, PR_SET_SECUREBITS,
        PR_TASK_PERF_EVENTS_DISABLE, PR_TASK_PERF_EVENTS_ENABLE, PR_MCE_KILL, PR_SET_MM,
        PR_SET_PTRACER, PR_SET_CHILD_SUBREAPER, PR_MPX_ENABLE_MANAGEMENT, PR_MPX_DISABLE_MANAGEMENT,
        PR_SET_FP_MODE, PR_SVE_SET_VL, PR_SVE_GET_VL, PR_SET_SPECULATION_CTRL, PR_PAC_RESET_KEYS,
        PR_SET_TAGGED_ADDR_CTRL, PR_SET_IO_FLUSHER, PR_SET_SYSCALL_USER_DISPATCH,
        PR_PAC_SET_ENABLED_KEYS, PR_PAC_GET_ENABLED_KEYS, PR_SCHED_CORE, PR_SME_SET_VL, PR_SME_GET_VL,
        67 /* PR_SET_MEMORY_MERGE */, 69, 70, 71 /* RISC-V */, 72, 73 /* PowerPC DEXCR */,
        75 /* PR_SET_SHADOW_STACK_STATUS */, 76 /* PR_LOCK_SHADOW_STACK_STATUS */,
        77 /* PR_TIMER_CREATE_RESTORE_IDS */, 78 /* PR_FUTEX_HASH */,
    };
    return options;
}

const std::set<std::uint32_t>& allowed_ioctl_requests() {
    // What ordinary programs ask of their descriptors: terminal reads (isatty, window size;
    // a plugin never holds a terminal, so they answer ENOTTY), readiness and blocking mode,
    // close-on-exec (Python, Rust, libuv), socket queue sizes and timestamps, and a file's
    // flags, attributes, extents and block size. Left out, among others: setting inode flags
    // and attributes (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR: any owner, through a read-only
    // descriptor), fs-verity and encryption set-up, the network device calls a socket
    // carries into its namespace (SIOCGIFCONF on the host's connection socket lists the
    // host's interfaces and addresses; the bridge and VLAN calls load kernel modules).
    static const std::set<std::uint32_t> requests = {
        TCGETS, 0x802c542a /* TCGETS2 */, TIOCGWINSZ, TIOCGPGRP,
        FIONREAD, TIOCOUTQ, FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX, FIOQSIZE,
        SIOCATMARK, SIOCGSTAMP_OLD, SIOCGSTAMPNS_OLD, SIOCGSTAMP_NEW, SIOCGSTAMPNS_NEW, SIOCOUTQNSD,
        FIGETBSZ, FS_IOC_GETFLAGS, FS_IOC32_GETFLAGS, FS_IOC_FSGETXATTR, FS_IOC_FIEMAP,
    };
    return requests;
}

const std::vector<PidArgument>& self_only_pid_syscalls() {
    static const std::vector<PidArgument> calls = {
        {"prlimit64", 0},          {"getsid", 0},           {"getpgid", 0},
        {"sched_getaffinity", 0},  {"sched_setaffinity", 0}, {"sched_getparam", 0},
        {"sched_setparam", 0},     {"sched_getscheduler", 0}, {"sched_setscheduler", 0},
        {"sched_getattr", 0},      {"sched_setattr", 0},     {"sched_rr_get_interval", 0},
        {"get_robust_list", 0},    {"migrate_pages", 0},     {"move_pages", 0},
        {"pidfd_open", 0},
        {"getpriority", 1, 0, PRIO_PROCESS}, {"setpriority", 1, 0, PRIO_PROCESS},
        {"ioprio_get", 1, 0, IOPRIO_WHO_PROCESS}, {"ioprio_set", 1, 0, IOPRIO_WHO_PROCESS},
    };
    return calls;
}

Result<FilterRules> build_filter_rules(const SyscallPolicy& policy, const Limits& limits,
                                       const SeccompRuleOptions& options, ExecTag tag) {
    Inputs in;
    auto allowed = resolve_names(policy.allowed, true);
    if (!allowed) return allowed.status();
    auto denied = resolve_names(policy.denied, false);
    if (!denied) return denied.status();
    in.allowed = std::move(*allowed);
    for (int nr : *denied) in.allowed.erase(nr);
    std::set<std::string> always_denied_names;
    for (const char* name : sandbox_always_denied_syscalls()) always_denied_names.insert(name);
    in.always_denied = *resolve_names(always_denied_names, false);
    in.single_process = limits.processes && *limits.processes <= 1;
    in.append_hardening = options.has_append_grants;
    in.datagram_opt_in = options.datagram_opt_in;
    in.exec_after_launch = policy.exec_after_launch;
    in.all_ioctls = options.all_ioctls;
    in.tag = tag;

    FilterRules result;
    result.tag = tag;
    result.on_violation = policy.on_violation;
    result.always_denied = in.always_denied;
    result.allowed = in.allowed;
    result.if_allowed_built = policy.on_violation == ViolationAction::Log;
    int last_known = -1;
    for (int nr = 0; nr <= highest_probed_syscall && nr - last_known <= unknown_numbers_before_stop; ++nr) {
        std::optional<std::string> name = native_syscall_name(nr);
        if (!name) continue;  // not a syscall libseccomp knows: default ENOSYS
        last_known = nr;
        std::string owned = std::move(*name);
        SyscallRules entry{nr, std::string(), rules_for(nr, owned, in)};
        if (result.if_allowed_built && !in.allowed.count(nr)) {
            // What `log` must still refuse when it lets this call continue: every argument its
            // rules would not allow (sandbox denials, refused prctl options, ioctl requests
            // off the list, other processes' clocks), not only the sandbox denials.
            Rules if_allowed = rules_for(nr, owned, in, true);
            const bool checked = !(if_allowed.size() == 1 && if_allowed.front().action == RuleAction::Allow &&
                                   if_allowed.front().conditions.empty());
            if (checked) result.if_allowed.emplace(nr, SyscallRules{nr, owned, std::move(if_allowed)});
        }
        entry.name = std::move(owned);
        result.syscalls.emplace_hint(result.syscalls.end(), nr, std::move(entry));
    }
    return result;
}

} // namespace airlock::host
