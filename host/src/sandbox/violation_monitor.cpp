// Host side of seccomp user notification: observe, decide, answer.
#include "airlock/host/violation_monitor.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>

namespace airlock::host {

namespace {

// The thread group of a thread, read from the kernel; falls back to the tid itself.
pid_t thread_group_of(pid_t tid) {
    std::ifstream status("/proc/" + std::to_string(tid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::strtol(line.c_str() + 5, nullptr, 10));
    }
    return tid;
}

std::string resolve_name(std::uint32_t arch, int nr) {
    char* name = seccomp_syscall_resolve_num_arch(arch, nr);
    if (!name) return "syscall_" + std::to_string(nr);
    std::string result(name);
    std::free(name);
    return result;
}

// The x32 ABI marks its numbers with this bit on AUDIT_ARCH_X86_64.
constexpr int x32_syscall_bit = 0x40000000;

// Fills in name, architecture and advice; `native_arch` is libseccomp's token for this host.
// `name_of(arch, nr)` resolves a syscall's name (cached by the caller).
template <class NameOf>
void explain(Violation& violation, std::uint32_t arch, int nr, const SeccompViolationPolicy& policy, NameOf&& name_of) {
    const std::uint32_t native_arch = seccomp_arch_native();
    if (arch != native_arch || (nr & x32_syscall_bit) != 0) {
        const bool x32 = arch == native_arch;
        violation.architecture = x32 ? "x32" : arch == SCMP_ARCH_X86 ? "i386 (int 0x80)" : "a foreign architecture";
        violation.syscall_name = name_of(x32 ? SCMP_ARCH_X32 : arch, nr);
        violation.advice = "system calls of another architecture (32-bit int 0x80, x32) are always denied: the "
                           "policy covers native calls only";
        return;
    }
    violation.syscall_name = name_of(arch, nr);
    if (!policy.rules) return;
    const auto found = policy.rules->syscalls.find(nr);
    const ArgRule* rule = found == policy.rules->syscalls.end() ? nullptr : found->second.matching(violation.args);
    if (rule != nullptr && !rule->why.empty()) {
        violation.advice = rule->why;
    } else if (auto reason = sandbox_always_denied_reason(violation.syscall_name); !reason.empty()) {
        violation.advice = violation.syscall_name + " is always denied: " + std::string(reason);
    } else if (rule != nullptr && rule->action == RuleAction::Violation) {
        violation.advice = allow_advice(violation.syscall_name,
                                        policy.group_of ? policy.group_of(violation.syscall_name) : std::string());
    }
}

} // namespace

std::string allow_advice(std::string_view syscall_name, std::string_view group) {
    std::string text = "allow it with syscalls.allow = [\"" + std::string(syscall_name) + "\"]";
    if (!group.empty()) text += " (group " + std::string(group) + ")";
    return text;
}

std::string_view violation_action_outcome(ViolationAction action) noexcept {
    switch (action) {
    case ViolationAction::Kill: return "killed";
    case ViolationAction::Errno: return "refused with EPERM";
    case ViolationAction::Log: return "allowed and logged";
    }
    return "unknown";
}

std::string Violation::describe(std::string_view plugin_name) const {
    std::string text = "plugin ";
    text += plugin_name;
    text += " (pid " + std::to_string(pid) + "): forbidden system call " + syscall_name + " (" +
            std::to_string(syscall_nr & ~x32_syscall_bit);
    if (!architecture.empty()) text += ", " + architecture;
    text += "): ";
    text += violation_action_outcome(action);
    if (!advice.empty()) text += "; " + advice;
    return text;
}

std::string syscall_name(int syscall_nr) { return resolve_name(SCMP_ARCH_NATIVE, syscall_nr); }

// The notification buffers, and what a flood of violations would otherwise look up again and
// again (a plugin under on_violation = "errno" can violate tens of thousands of times a
// second, and each one costs the host's loop): syscall names by (arch, nr), and the thread
// group of the thread that violated last.
struct ViolationMonitor::Buffers {
    seccomp_notif* request = nullptr;
    seccomp_notif_resp* response = nullptr;
    std::size_t request_size = sizeof(seccomp_notif);  // the larger of the kernel's and ours
    std::unordered_map<std::uint64_t, std::string> names;
    pid_t last_tid = -1;
    pid_t last_tgid = -1;
    ~Buffers() { seccomp_notify_free(request, response); }

    const std::string& name_of(std::uint32_t arch, int nr) {
        const std::uint64_t key = (std::uint64_t{arch} << 32) | static_cast<std::uint32_t>(nr);
        auto found = names.find(key);
        if (found == names.end()) {
            if (names.size() >= 1024) names.clear();  // bounded: numbers come from the plugin
            found = names.emplace(key, resolve_name(arch, nr)).first;
        }
        return found->second;
    }

    // Reads /proc only when the thread differs from the last one. A cached answer can only be
    // stale if that thread exited and its id was reused under the same filter; it only names
    // the pid in a report line: a kill always reads it afresh (`fresh`).
    pid_t thread_group(pid_t tid, bool fresh) {
        if (fresh || tid != last_tid) {
            last_tgid = thread_group_of(tid);
            last_tid = tid;
        }
        return last_tgid;
    }
};

ViolationMonitor::ViolationMonitor(UniqueFd listener, SeccompViolationPolicy policy)
    : listener_(std::move(listener)), policy_(std::move(policy)) {}

ViolationMonitor::~ViolationMonitor() = default;
ViolationMonitor::ViolationMonitor(ViolationMonitor&&) noexcept = default;
ViolationMonitor& ViolationMonitor::operator=(ViolationMonitor&&) noexcept = default;

int ViolationMonitor::fd() const noexcept { return listener_.get(); }

Result<std::optional<Violation>> ViolationMonitor::handle_one(int timeout_ms) {
    if (!listener_) return Status(StatusCode::InvalidState, "violation monitor has no listener");
    pollfd pfd{listener_.get(), POLLIN, 0};
    int ready;
    do {
        ready = poll(&pfd, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return errno_status("poll (seccomp listener)", errno);
    if (ready == 0) return std::optional<Violation>{};
    if (!(pfd.revents & POLLIN)) {
        if (pfd.revents & (POLLHUP | POLLERR))
            return Status(StatusCode::PeerClosed, "no process uses the seccomp filter any more");
        return std::optional<Violation>{};
    }

    // Allocated for the first notification, not before: the usual end of a plugin is a hang-up
    // without any (and libseccomp's first allocation probes the kernel with a dozen calls).
    if (!buffers_) {
        auto buffers = std::make_unique<Buffers>();
        if (int rc = seccomp_notify_alloc(&buffers->request, &buffers->response); rc < 0)
            return errno_status("seccomp_notify_alloc", -rc);
        seccomp_notif_sizes sizes{};
        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 &&
            sizes.seccomp_notif > buffers->request_size)
            buffers->request_size = sizes.seccomp_notif;
        buffers_ = std::move(buffers);
    }

    seccomp_notif* request = buffers_->request;
    seccomp_notif_resp* response = buffers_->response;
    // The kernel rejects a receive buffer that is not all zeroes (EINVAL), and
    // libseccomp 2.5.4 does not clear it between calls.
    std::memset(request, 0, buffers_->request_size);
    if (seccomp_notify_receive(listener_.get(), request) < 0) {
        // ENOENT: the thread was killed between poll and receive; nothing to answer.
        if (errno == ENOENT || errno == EINTR) return std::optional<Violation>{};
        return errno_status("seccomp_notify_receive", errno);
    }

    Violation violation;
    violation.tid = static_cast<pid_t>(request->pid);
    violation.syscall_nr = request->data.nr;
    for (std::size_t i = 0; i < violation.args.size(); ++i) violation.args[i] = request->data.args[i];
    explain(violation, request->data.arch, request->data.nr, policy_,
            [this](std::uint32_t arch, int nr) -> const std::string& { return buffers_->name_of(arch, nr); });
    violation.action = policy_.on_violation;
    // A foreign-architecture call never continues either: the policy covers native calls only.
    if (violation.action == ViolationAction::Log &&
        (policy_.never_continue.count(request->data.nr) || !violation.architecture.empty()))
        violation.action = ViolationAction::Errno;
    // Nor does a call whose argument rules would deny it even if the policy allowed it (e.g.
    // clone with CLONE_NEWUSER): the arguments are registers, read once by the kernel.
    if (violation.action == ViolationAction::Log && violation.architecture.empty() && policy_.rules) {
        if (!policy_.rules->if_allowed_built)  // rules built for another action: nothing to let through by
            violation.action = ViolationAction::Errno;
        else if (auto found = policy_.rules->if_allowed.find(request->data.nr); found != policy_.rules->if_allowed.end()) {
            const ArgRule* rule = found->second.matching(violation.args);
            if (rule == nullptr || rule->action != RuleAction::Allow) {
                violation.action = ViolationAction::Errno;
                violation.advice = rule != nullptr && !rule->why.empty()
                                       ? rule->why
                                       : violation.syscall_name + " with these arguments is refused even where it is allowed";
            }
        }
    }
    violation.pid = buffers_->thread_group(violation.tid, violation.action == ViolationAction::Kill);

    // The notification id is only valid while the thread waits in the syscall; checking it
    // after resolving the pid proves the pid still names that thread's process (needed before
    // a kill; for EPERM or continue, answering a stale id just fails with ENOENT).
    if (violation.action == ViolationAction::Kill && seccomp_notify_id_valid(listener_.get(), request->id) != 0)
        return std::optional<Violation>{};

    response->id = request->id;
    response->val = 0;
    response->error = 0;
    response->flags = 0;
    switch (violation.action) {
    case ViolationAction::Kill: {
        // Kill before answering, so the plugin never runs past the forbidden call.
        // Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
        UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, violation.pid, 0)));
        if (pidfd && seccomp_notify_id_valid(listener_.get(), request->id) == 0)
            syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
        else if (!pidfd && seccomp_notify_id_valid(listener_.get(), request->id) == 0)
            kill(violation.pid, SIGKILL);  // no pidfd (e.g. EMFILE): the id check still narrows the race
        response->error = -EPERM;
        break;
    }
    case ViolationAction::Errno: response->error = -EPERM; break;
    case ViolationAction::Log: response->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; break;
    }
    // Fails with ENOENT when the thread is already gone (e.g. killed): nothing left to do.
    (void)seccomp_notify_respond(listener_.get(), response);
    return std::optional<Violation>{std::move(violation)};
}

} // namespace airlock::host
