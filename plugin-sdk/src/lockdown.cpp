// Self-lockdown: each apply() compiles one libseccomp filter and loads it on every thread
// (SECCOMP_FILTER_FLAG_TSYNC). The kernel stacks it on the host's filter and on earlier
// lockdowns and always applies the most restrictive answer, so a lockdown can only tighten.
#include "airlock/plugin/lockdown.hpp"

#include <seccomp.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace airlock::plugin {
namespace {

// A process must always be able to end and to return from a signal handler; refusing these
// would leave a plugin that can neither work nor exit.
constexpr std::string_view kNeverRefused[] = {"exit", "exit_group", "rt_sigreturn", "restart_syscall"};
constexpr int kMaxErrno = 4095;  // seccomp's errno data is clamped to MAX_ERRNO by the kernel
constexpr const char* kNothingInstalled = "; nothing was installed";

bool never_refused(std::string_view name) {
    return std::find(std::begin(kNeverRefused), std::end(kNeverRefused), name) != std::end(kNeverRefused);
}

[[noreturn]] void invalid(const std::string& message) { throw PluginError(PluginErrorKind::InvalidArgument, message); }
[[noreturn]] void failed(const std::string& message) { throw PluginError(PluginErrorKind::System, message); }

std::string errno_text(int error) {
    const char* name = ::strerrorname_np(error);
    return std::string(std::strerror(error)) + " (" + (name != nullptr ? name : std::to_string(error)) + ")";
}

// libseccomp's number for `name`: the native number, or a negative pseudo number for calls
// that exist only on other architectures (a rule for it is accepted and matches nothing).
int syscall_number(std::string_view name) {
    if (name.empty()) invalid("an empty system call name in a self-lockdown");
    const std::string terminated(name);
    int number = terminated.find('\0') == std::string::npos ? seccomp_syscall_resolve_name(terminated.c_str()) : __NR_SCMP_ERROR;
    if (number == __NR_SCMP_ERROR) {
        if (name.front() == '@') {
            invalid("unknown system call \"" + terminated + "\" in a self-lockdown: @groups belong to the host's config; "
                    "name the system calls themselves (e.g. \"openat\")");
        }
        invalid("unknown system call \"" + terminated + "\" in a self-lockdown; use a Linux system call name as in "
                "syscalls(2) (e.g. \"openat\")");
    }
    return number;
}

void check_refusal(const Refusal& refusal) {
    if (!refusal.kills() && (refusal.error_number() < 1 || refusal.error_number() > kMaxErrno)) {
        invalid("a self-lockdown refusal needs an errno between 1 and " + std::to_string(kMaxErrno) + ", not " +
                std::to_string(refusal.error_number()));
    }
}

std::uint32_t action_of(const Refusal& refusal) {
    return refusal.kills() ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(static_cast<std::uint16_t>(refusal.error_number()));
}

template <class Names>
std::vector<std::string> checked_names(const Names& names) {
    std::vector<std::string> result;
    for (const auto& name : names) {
        (void)syscall_number(name);
        result.emplace_back(name);
    }
    return result;
}

struct ContextDeleter {
    void operator()(void* context) const noexcept { seccomp_release(context); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

const std::string kUnavailable =
    "cannot lock down: the seccomp() system call is not available to this process, so no filter can be installed "
    "on every thread (SECCOMP_FILTER_FLAG_TSYNC). Under airlock-host the plugin's [plugin.NAME.syscalls] policy must "
    "allow \"seccomp\" (the default profile does, through @sandbox)";

void set_attribute(void* context, scmp_filter_attr attribute, std::uint32_t value, const char* what) {
    if (int rc = seccomp_attr_set(context, attribute, value); rc < 0) {
        if (attribute == SCMP_FLTATR_CTL_TSYNC) failed(kUnavailable + " (" + errno_text(-rc) + ")" + kNothingInstalled);
        failed(std::string("cannot lock down: libseccomp refused to set ") + what + ": " + errno_text(-rc) + kNothingInstalled);
    }
}

void add_rule(void* context, std::uint32_t action, const std::string& name) {
    if (int rc = seccomp_rule_add(context, action, syscall_number(name), 0); rc < 0)
        failed("cannot lock down: libseccomp refused the rule for \"" + name + "\": " + errno_text(-rc) + kNothingInstalled);
}

[[noreturn]] void load_failed(int error) {
    switch (error) {
    case ESRCH:
        failed("cannot lock down: a thread of the plugin could not be switched to the new filter (it runs under a "
               "seccomp filter of its own)" + std::string(kNothingInstalled));
    case ENOMEM:
        failed("cannot lock down: the kernel refused the filter for lack of memory, or because all stacked filters "
               "together would exceed its limit of 32768 BPF instructions (too many lockdowns)" +
               std::string(kNothingInstalled));
    case EACCES:
        failed("cannot lock down: seccomp needs no_new_privs (or CAP_SYS_ADMIN) and no_new_privs could not be set" +
               std::string(kNothingInstalled));
    case EPERM:
    case ENOSYS:
        failed("cannot lock down: the kernel refused to install the filter: " + errno_text(error) +
               ". An earlier lockdown, or the host's policy, may refuse the seccomp() system call itself" +
               kNothingInstalled);
    default:
        failed("cannot lock down: the kernel refused to install the filter: " + errno_text(error) + kNothingInstalled);
    }
}

std::mutex& lockdown_mutex() {
    static std::mutex mutex;  // libseccomp's probe cache is process-wide and unsynchronised
    return mutex;
}

} // namespace

std::string Refusal::describe() const {
    if (kill_) return "kill";
    const char* name = ::strerrorname_np(error_);
    return name != nullptr ? name : "errno " + std::to_string(error_);
}

Lockdown& Lockdown::deny(std::initializer_list<std::string_view> syscalls, Refusal refusal) {
    return deny(checked_names(syscalls), refusal);
}

Lockdown& Lockdown::deny(const std::vector<std::string>& syscalls, Refusal refusal) {
    check_refusal(refusal);
    for (const auto& name : checked_names(syscalls)) {  // all names are valid before any is added
        if (never_refused(name)) {
            invalid("\"" + name + "\" cannot be denied in a self-lockdown: a plugin must always be able to end (exit, "
                    "exit_group) and to return from signal handlers (rt_sigreturn, restart_syscall)");
        }
    }
    for (const auto& name : syscalls) {
        auto [it, inserted] = denied_.emplace(name, refusal);
        if (!inserted && !it->second.kills()) it->second = refusal;  // kill stays; a later errno replaces an errno
    }
    return *this;
}

Lockdown& Lockdown::allow_only(std::initializer_list<std::string_view> syscalls) {
    return allow_only(checked_names(syscalls));
}

Lockdown& Lockdown::allow_only(const std::vector<std::string>& syscalls) {
    (void)checked_names(syscalls);  // all names are valid before any is added
    if (!allowed_) allowed_.emplace();
    allowed_->insert(syscalls.begin(), syscalls.end());
    return *this;
}

Lockdown& Lockdown::otherwise(Refusal refusal) {
    check_refusal(refusal);
    otherwise_ = refusal;
    return *this;
}

void Lockdown::apply() const {
    if (denied_.empty() && !allowed_) return;
    std::lock_guard lock(lockdown_mutex());

    // API level 2: the seccomp() system call with TSYNC; 3: SECCOMP_RET_KILL_PROCESS. The
    // level is probed once per process (seccomp(SECCOMP_GET_ACTION_AVAIL), invalid
    // SECCOMP_SET_MODE_* requests) and cached by libseccomp.
    const unsigned int api = seccomp_api_get();
    if (api < 2) failed(kUnavailable + std::string(kNothingInstalled));
    const bool kills = (allowed_ && otherwise_.kills()) ||
                       std::any_of(denied_.begin(), denied_.end(), [](const auto& entry) { return entry.second.kills(); });
    if (kills && api < 3) {
        failed("cannot lock down: Refusal::kill() needs SECCOMP_RET_KILL_PROCESS, which this kernel does not offer "
               "(Linux 4.14 or later); use Refusal::error()" + std::string(kNothingInstalled));
    }

    Context context(seccomp_init(allowed_ ? action_of(otherwise_) : SCMP_ACT_ALLOW));
    if (!context) failed("cannot lock down: libseccomp could not create a filter" + std::string(kNothingInstalled));
    set_attribute(context.get(), SCMP_FLTATR_API_SYSRAWRC, 1, "raw error codes");          // the kernel's errno
    set_attribute(context.get(), SCMP_FLTATR_CTL_NNP, 0, "no_new_privs handling");         // done below, if needed
    set_attribute(context.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "the bad-architecture action");
    set_attribute(context.get(), SCMP_FLTATR_CTL_TSYNC, 1, "thread synchronisation");      // every thread, or nothing

    if (allowed_) {
        std::set<std::string, std::less<>> allowed = *allowed_;
        allowed.insert(std::begin(kNeverRefused), std::end(kNeverRefused));
        for (const auto& name : allowed)
            if (!denied_.contains(name)) add_rule(context.get(), SCMP_ACT_ALLOW, name);
        for (const auto& [name, refusal] : denied_)
            if (!(refusal == otherwise_)) add_rule(context.get(), action_of(refusal), name);  // else the default does it
    } else {
        for (const auto& [name, refusal] : denied_) add_rule(context.get(), action_of(refusal), name);
    }

    int rc = seccomp_load(context.get());
    if (rc == -EACCES) {
        // Unprivileged and without no_new_privs (never the case under airlock-host, which sets
        // it before exec): seccomp requires it. It can be set, never cleared.
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) rc = seccomp_load(context.get());
    }
    if (rc < 0) load_failed(-rc);
}

const std::vector<std::string>& Lockdown::serving_syscalls() {
    static const std::vector<std::string> names = {
        // the connection to the host: wait, receive, answer; descriptors passed with messages
        "poll", "ppoll", "recvmsg", "sendmsg", "fcntl", "close",
        // diagnostics on stderr
        "write",
        // memory allocation
        "brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
        // locks, clocks (when the vDSO cannot answer), identity
        "futex", "sched_yield", "clock_gettime", "getpid", "gettid",
        // a thread ending: glibc blocks signals first
        "rt_sigprocmask",
        // always allowed anyway
        "exit", "exit_group", "rt_sigreturn", "restart_syscall",
    };
    return names;
}

const std::vector<std::string>& Lockdown::thread_syscalls() {
    static const std::vector<std::string> names = {
        // pthread_create: clone3 is answered ENOSYS by the host's filter, and glibc falls back to
        // clone only on ENOSYS, so clone3 must pass this filter for that answer to arrive
        "clone3", "clone", "mmap", "mprotect", "munmap",
        // the new thread's start-up in glibc (a failed rseq registration is fatal there)
        "rseq", "set_robust_list", "rt_sigprocmask",
        // joining, and the thread ending
        "futex", "madvise", "exit",
    };
    return names;
}

void deny_syscalls(std::initializer_list<std::string_view> syscalls, Refusal refusal) {
    Lockdown().deny(syscalls, refusal).apply();
}

void deny_syscalls(const std::vector<std::string>& syscalls, Refusal refusal) {
    Lockdown().deny(syscalls, refusal).apply();
}

void allow_only_syscalls(const std::vector<std::string>& syscalls, Refusal otherwise) {
    Lockdown().allow_only(syscalls).otherwise(otherwise).apply();
}

void allow_only_syscalls(std::initializer_list<std::string_view> syscalls, Refusal otherwise) {
    Lockdown().allow_only(syscalls).otherwise(otherwise).apply();
}

} // namespace airlock::plugin
