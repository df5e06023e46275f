// Compiles a SyscallPolicy into seccomp BPF with libseccomp (parent side, may allocate).
#include "airlock/host/seccomp_filter.hpp"

#include "airlock/connection/unique_fd.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace airlock::host {

namespace {

// Not in linux-libc-dev 6.1 (Linux 6.9+); the value is ABI.
constexpr std::uint64_t rwf_noappend = 0x00000020;
// The highest syscall number probed for a name (x86_64 tops out near 470; x32 is separate).
constexpr int highest_probed_syscall = 1023;
// Masks an argument down to the 32 bits the kernel reads for an `int` parameter.
constexpr std::uint64_t low_32_bits = 0xffffffffULL;
constexpr std::uint64_t namespace_clone_flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                                CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// Syscalls glibc 2.36 tries first and falls back from on ENOSYS; when a policy does not
// allow them they answer ENOSYS instead of counting as a violation.
constexpr std::string_view libc_probed_syscalls[] = {"rseq", "faccessat2"};

// fcntl commands a plugin may use when it holds an append-only grant (everything but
// F_SETFL without O_APPEND); unknown future commands fall through to ENOSYS.
constexpr int known_fcntl_commands[] = {
    F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_GETLK, F_SETLK, F_SETLKW, F_SETOWN, F_GETOWN,
    F_SETSIG, F_GETSIG, F_SETOWN_EX, F_GETOWN_EX, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
    F_SETLEASE, F_GETLEASE, F_NOTIFY, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ,
    F_ADD_SEALS, F_GET_SEALS, F_GET_RW_HINT, F_SET_RW_HINT, F_GET_FILE_RW_HINT, F_SET_FILE_RW_HINT,
};

struct ContextDeleter {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Status libseccomp_error(std::string_view what, int rc) {
    return errno_status(std::string("libseccomp ") + std::string(what), -rc);
}

ExecTag random_tag() {
    ExecTag tag = 0;
    while (tag == 0) {
        if (getrandom(&tag, sizeof tag, 0) != static_cast<ssize_t>(sizeof tag)) tag = 0;
    }
    return tag;
}

std::uint32_t action_for(ViolationAction action) {
    switch (action) {
    case ViolationAction::Kill: return SCMP_ACT_KILL_PROCESS;
    case ViolationAction::Errno: return SCMP_ACT_ERRNO(EPERM);
    case ViolationAction::Log: return SCMP_ACT_LOG;
    }
    return SCMP_ACT_KILL_PROCESS;
}

// Adds the rules of one filter, remembering which syscalls the sandbox itself refuses.
class RuleBuilder {
public:
    RuleBuilder(scmp_filter_ctx ctx, const SeccompFilterOptions& options, ViolationAction on_violation)
        : ctx_(ctx) {
        if (options.notify_violations) {
            violation_ = SCMP_ACT_NOTIFY;
            sandbox_denial_ = SCMP_ACT_NOTIFY;
        } else {
            violation_ = action_for(on_violation);
            // "log" must never let a sandbox-level denial through.
            sandbox_denial_ = on_violation == ViolationAction::Log ? SCMP_ACT_ERRNO(EPERM) : violation_;
        }
    }

    Status allow(int nr) { return add(SCMP_ACT_ALLOW, nr, {}); }
    Status allow_if(int nr, std::initializer_list<scmp_arg_cmp> conditions) {
        return add(SCMP_ACT_ALLOW, nr, conditions);
    }
    Status violation(int nr) { return add(violation_, nr, {}); }
    Status violation_if(int nr, std::initializer_list<scmp_arg_cmp> conditions) {
        return add(violation_, nr, conditions);
    }
    // ENOSYS is the filter's default action and libseccomp refuses rules equal to it, so
    // answering ENOSYS means adding no rule at all.
    Status enosys(int) { return {}; }
    Status deny(int nr) {
        never_continue_.insert(nr);
        return add(sandbox_denial_, nr, {});
    }
    Status deny_if(int nr, std::initializer_list<scmp_arg_cmp> conditions) {
        never_continue_.insert(nr);
        return add(sandbox_denial_, nr, conditions);
    }

    std::set<int> take_never_continue() { return std::move(never_continue_); }

private:
    Status add(std::uint32_t action, int nr, std::initializer_list<scmp_arg_cmp> conditions) {
        int rc = seccomp_rule_add_exact_array(ctx_, action, nr, static_cast<unsigned>(conditions.size()),
                                              conditions.size() ? conditions.begin() : nullptr);
        if (rc < 0) {
            const char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
            std::string what = std::string("rule for ") + (name ? name : std::to_string(nr));
            std::free(const_cast<char*>(name));
            return libseccomp_error(what, rc);
        }
        return {};
    }

    scmp_filter_ctx ctx_;
    std::uint32_t violation_;
    std::uint32_t sandbox_denial_;
    std::set<int> never_continue_;
};

// Everything the per-syscall decision needs.
struct FilterInputs {
    std::set<int> allowed;
    std::set<int> always_denied;
    bool single_process = false;
    bool append_hardening = false;
    ExecTag tag = 0;
};

bool is_libc_probed(std::string_view name) {
    for (auto probed : libc_probed_syscalls)
        if (probed == name) return true;
    return false;
}

Status add_clone_rules(RuleBuilder& rules, int nr, const FilterInputs& in) {
    // clone's flags are a register the filter can read (unlike clone3's struct).
    const std::uint64_t mask = namespace_clone_flags | (in.single_process ? CLONE_THREAD : 0);
    const std::uint64_t wanted = in.single_process ? CLONE_THREAD : 0;
    if (auto s = rules.allow_if(nr, {SCMP_A0(SCMP_CMP_MASKED_EQ, mask, wanted)}); !s) return s;
    for (std::uint64_t flag = 1; flag <= namespace_clone_flags; flag <<= 1) {
        if (!(flag & namespace_clone_flags)) continue;
        if (auto s = rules.deny_if(nr, {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)}); !s) return s;
    }
    if (in.single_process)
        return rules.deny_if(nr, {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | namespace_clone_flags, 0)});
    return {};
}

Status add_fcntl_rules(RuleBuilder& rules, int nr) {
    for (int command : known_fcntl_commands) {
        if (auto s = rules.allow_if(nr, {SCMP_A1(SCMP_CMP_MASKED_EQ, low_32_bits, static_cast<std::uint64_t>(command))});
            !s)
            return s;
    }
    const auto is_setfl = SCMP_A1(SCMP_CMP_MASKED_EQ, low_32_bits, static_cast<std::uint64_t>(F_SETFL));
    if (auto s = rules.allow_if(nr, {is_setfl, SCMP_A2(SCMP_CMP_MASKED_EQ, O_APPEND, O_APPEND)}); !s) return s;
    return rules.deny_if(nr, {is_setfl, SCMP_A2(SCMP_CMP_MASKED_EQ, O_APPEND, 0)});
}

Status add_socketpair_rules(RuleBuilder& rules, int nr) {
    // Only connected stream/seqpacket pairs: an unconnected datagram socket could sendmsg
    // to any pathname socket (Landlock ABI 7 does not cover pathname UNIX sockets).
    for (int type : {SOCK_STREAM, SOCK_SEQPACKET}) {
        if (auto s = rules.allow_if(nr, {SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, static_cast<std::uint64_t>(type))});
            !s)
            return s;
    }
    if (auto s = rules.deny_if(nr, {SCMP_A0(SCMP_CMP_NE, AF_UNIX)}); !s) return s;
    return rules.deny_if(nr, {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM)});
}

// prlimit64 on another process could read or change its limits (same uid: other plugins,
// or the host when it is not root): only the calling process itself (pid 0).
Status add_prlimit_rules(RuleBuilder& rules, int nr) {
    if (auto s = rules.allow_if(nr, {SCMP_A0(SCMP_CMP_EQ, 0)}); !s) return s;
    return rules.deny_if(nr, {SCMP_A0(SCMP_CMP_NE, 0)});
}

// The launch: execveat(fd, "", argv, envp, AT_EMPTY_PATH) carrying the secret tag.
Status add_exec_rules(RuleBuilder& rules, int nr, ExecTag tag) {
    const auto tagged = SCMP_CMP(exec_tag_argument_index, SCMP_CMP_EQ, tag);
    if (auto s = rules.allow_if(nr, {tagged, SCMP_A4(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)}); !s)
        return s;
    if (auto s = rules.deny_if(nr, {SCMP_A4(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0)}); !s) return s;
    return rules.deny_if(nr, {SCMP_CMP(exec_tag_argument_index, SCMP_CMP_NE, tag)});
}

// The listener hand-off needs sendmsg even when the plugin's policy does not allow it.
Status add_handoff_rules(RuleBuilder& rules, int nr, ExecTag tag) {
    if (auto s = rules.allow_if(nr, {SCMP_CMP(exec_tag_argument_index, SCMP_CMP_EQ, tag)}); !s) return s;
    return rules.violation_if(nr, {SCMP_CMP(exec_tag_argument_index, SCMP_CMP_NE, tag)});
}

// One syscall's rules: the sandbox's own constraints first, then the plugin's policy.
Status add_syscall_rules(RuleBuilder& rules, int nr, std::string_view name, const FilterInputs& in) {
    const bool allowed = in.allowed.count(nr) != 0;
    if (in.always_denied.count(nr)) return rules.deny(nr);
    if (name == "socket" || name == "connect" || name == "bind" || name == "execve") return rules.deny(nr);
    if (name == "clone3") return rules.enosys(nr);  // flags hidden in memory: cannot be checked
    if (name == "execveat") return add_exec_rules(rules, nr, in.tag);
    if (name == "exit" || name == "exit_group") return rules.allow(nr);
    if (name == "sendmsg" && !allowed) return add_handoff_rules(rules, nr, in.tag);
    if (in.single_process && (name == "fork" || name == "vfork")) return rules.deny(nr);
    if (!allowed) return is_libc_probed(name) ? rules.enosys(nr) : rules.violation(nr);

    if (name == "clone") return add_clone_rules(rules, nr, in);
    if (name == "socketpair") return add_socketpair_rules(rules, nr);
    if (name == "prlimit64") return add_prlimit_rules(rules, nr);
    if (in.append_hardening) {
        if (name == "fcntl") return add_fcntl_rules(rules, nr);
        if (name == "pwritev2") {
            if (auto s = rules.allow_if(nr, {SCMP_A5(SCMP_CMP_MASKED_EQ, rwf_noappend, 0)}); !s) return s;
            return rules.deny_if(nr, {SCMP_A5(SCMP_CMP_MASKED_EQ, rwf_noappend, rwf_noappend)});
        }
        if (name == "fallocate") {
            // Plain allocation is harmless; punching/collapsing/zeroing rewrites the past.
            for (std::uint64_t mode : {0ULL, static_cast<unsigned long long>(FALLOC_FL_KEEP_SIZE)})
                if (auto s = rules.allow_if(nr, {SCMP_A1(SCMP_CMP_MASKED_EQ, low_32_bits, mode)}); !s) return s;
            // Each mode bit other than KEEP_SIZE rewrites existing data; unknown bits: ENOSYS.
            for (std::uint64_t flag = 2; flag <= 0x80; flag <<= 1)
                if (auto s = rules.deny_if(nr, {SCMP_A1(SCMP_CMP_MASKED_EQ, flag, flag)}); !s) return s;
            return {};
        }
        // ftruncate works on O_APPEND descriptors; io_submit can carry RWF_NOAPPEND.
        if (name == "ftruncate" || name == "io_submit") return rules.deny(nr);
    }
    return rules.allow(nr);
}

Result<std::set<int>> resolve_names(const std::set<std::string>& names, bool strict) {
    std::set<int> numbers;
    for (const auto& name : names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
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

Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    UniqueFd memfd(memfd_create("airlock-seccomp-bpf", MFD_CLOEXEC));
    if (!memfd) return errno_status("memfd_create", errno);
    if (int rc = seccomp_export_bpf(ctx, memfd.get()); rc < 0) return libseccomp_error("export_bpf", rc);
    struct stat st {};
    if (fstat(memfd.get(), &st) != 0) return errno_status("fstat", errno);
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0 || size % sizeof(sock_filter) != 0)
        return Status(StatusCode::SystemError, "seccomp: exported BPF has an odd size of " + std::to_string(size));
    std::vector<sock_filter> instructions(size / sizeof(sock_filter));
    std::size_t done = 0;
    auto* bytes = reinterpret_cast<char*>(instructions.data());
    while (done < size) {
        ssize_t n = pread(memfd.get(), bytes + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_status("pread (seccomp BPF)", n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    if (instructions.size() > BPF_MAXINSNS)
        return Status(StatusCode::TooLarge, "seccomp: filter has " + std::to_string(instructions.size()) +
                                                " instructions, the kernel accepts " + std::to_string(BPF_MAXINSNS));
    return instructions;
}

} // namespace

CompiledSeccompFilter::CompiledSeccompFilter(std::vector<sock_filter> instructions, ExecTag tag,
                                             bool uses_notification, SeccompViolationPolicy violation_policy)
    : instructions_(std::move(instructions)), tag_(tag), uses_notification_(uses_notification),
      violation_policy_(std::move(violation_policy)) {}

sock_fprog CompiledSeccompFilter::program() const noexcept {
    sock_fprog program{};
    program.len = static_cast<unsigned short>(instructions_.size());
    program.filter = const_cast<sock_filter*>(instructions_.data());
    return program;
}

Result<CompiledSeccompFilter> compile_seccomp_filter(const SyscallPolicy& policy, const Limits& limits,
                                                     const SeccompFilterOptions& options) {
    // Unknown numbers (newer than this policy) answer ENOSYS so libc falls back.
    Context ctx(seccomp_init(SCMP_ACT_ERRNO(ENOSYS)));
    if (!ctx) return Status(StatusCode::Memory, "seccomp_init failed");
    const std::pair<scmp_filter_attr, std::uint32_t> attributes[] = {
        {SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS},  // other arches and x32
        {SCMP_FLTATR_CTL_NNP, 0},                          // the child sets it itself
        {SCMP_FLTATR_CTL_OPTIMIZE, 2},                     // binary tree: ~log(n) per call
        {SCMP_FLTATR_API_SYSRAWRC, 1},
    };
    for (auto [attribute, value] : attributes)
        if (int rc = seccomp_attr_set(ctx.get(), attribute, value); rc < 0)
            return libseccomp_error("attr_set", rc);

    FilterInputs in;
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
    in.tag = random_tag();

    RuleBuilder rules(ctx.get(), options, policy.on_violation);
    for (int nr = 0; nr <= highest_probed_syscall; ++nr) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (!name) continue;  // not a syscall libseccomp knows: default ENOSYS
        std::string owned(name);
        std::free(name);
        if (auto s = add_syscall_rules(rules, nr, owned, in); !s) return s;
    }

    auto instructions = export_bpf(ctx.get());
    if (!instructions) return instructions.status();
    SeccompViolationPolicy violation_policy{policy.on_violation, rules.take_never_continue()};
    return CompiledSeccompFilter(std::move(*instructions), in.tag, options.notify_violations,
                                 std::move(violation_policy));
}

} // namespace airlock::host
