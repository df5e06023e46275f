// PluginProcess and PluginExit: waiting on and signalling a plugin through its pidfd.
#include <airlock/host/spawner.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace airlock::host {
namespace {

// Not through <sys/pidfd.h>: glibc 2.36's header lacks extern "C", so its declarations do
// not link from C++.
int send_through_pidfd(int pidfd, int signal_number) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal_number, nullptr, 0));
}

PluginExit exit_from(const siginfo_t& info) {
    PluginExit result;
    if (info.si_code == CLD_EXITED) {
        result.exit_code = info.si_status;
    } else {
        result.signaled = true;
        result.signal = info.si_status;
        result.core_dumped = info.si_code == CLD_DUMPED;
    }
    return result;
}

// With a PID namespace: what SIGKILL becomes (pid_init.cpp). Killing the init itself would
// lose the plugin's own exit if it had just exited; the init kills everything else instead,
// then reports and exits. Only the destructor's last resort SIGKILLs the init.
constexpr int kPidInitKillAllSignal = 64;  // SIGRTMAX

} // namespace

std::string PluginExit::describe() const {
    if (!signaled) return "exited with status " + std::to_string(exit_code);
    const char* name = sigabbrev_np(signal);
    std::string text = "killed by signal " + std::to_string(signal);
    if (name != nullptr) text += std::string(" (SIG") + name + ")";
    if (core_dumped) text += ", core dumped";
    if (out_of_memory) text += ": out of memory (the memory cgroup's limit was reached)";
    return text;
}

std::string size_text(std::uint64_t bytes) {
    constexpr std::pair<std::uint64_t, const char*> units[] = {
        {1ULL << 40, "TiB"}, {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}};
    for (auto [unit, suffix] : units)
        if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
    return std::to_string(bytes) + " bytes";
}

std::string PluginExit::describe(const Limits& limits) const {
    if (signaled && out_of_memory && limits.memory_bytes) {
        std::string text = "killed by signal " + std::to_string(signal);
        if (const char* name = sigabbrev_np(signal)) text += std::string(" (SIG") + name + ")";
        return text + ": exceeded memory = " + size_text(*limits.memory_bytes) + " (memory cgroup OOM)";
    }
    if (signaled && signal == SIGXCPU && limits.cpu_seconds)
        return describe() + ": exceeded cpu = " + std::to_string(*limits.cpu_seconds) + "s (RLIMIT_CPU)";
    return describe();
}

std::string MemoryEnforcement::describe() const {
    if (!limited) return "none set, so no memory cgroup either";
    if (cgroup) return "enforced by RLIMIT_AS + memory cgroup (" + detail + ")";
    return "enforced by RLIMIT_AS only (memfd/tmpfs pages not counted: " + detail + ")";
}

PluginProcess& PluginProcess::operator=(PluginProcess&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::move(other.pidfd_);
        exit_status_ = std::move(other.exit_status_);
        plugin_pidfd_ = std::move(other.plugin_pidfd_);
        exit_ = std::exchange(other.exit_, std::nullopt);
        resources_ = std::move(other.resources_);
    }
    return *this;
}

PluginProcess::~PluginProcess() { kill_and_reap(); }

std::optional<PluginExit> PluginProcess::try_wait() {
    if (exit_ || !pidfd_) return exit_;
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) != 0) {
        throw std::system_error(errno, std::generic_category(), "waitid on plugin pidfd");
    }
    if (info.si_pid == 0) return std::nullopt;  // still running
    reaped(exit_of(info));
    return exit_;
}

PluginExit PluginProcess::wait() {
    if (exit_) return *exit_;
    if (!pidfd_) throw std::logic_error("PluginProcess::wait on an empty process");
    siginfo_t info{};
    while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0) {
        if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitid on plugin pidfd");
    }
    reaped(exit_of(info));
    return *exit_;
}

bool PluginProcess::send_signal(int signal_number) noexcept {
    if (exit_ || !pidfd_) return false;
    if (exit_status_ && signal_number == SIGKILL) {
        // At once, as without the init (a plugin must not get to act on, e.g., the closed
        // connection first); then the init ends the rest of the namespace.
        if (plugin_pidfd_) send_through_pidfd(plugin_pidfd_.get(), SIGKILL);
        signal_number = kPidInitKillAllSignal;
    }
    return send_through_pidfd(pidfd_.get(), signal_number) == 0;
}

void PluginProcess::kill_and_reap() noexcept {
    if (exit_ || !pidfd_) return;
    send_through_pidfd(pidfd_.get(), SIGKILL);
    siginfo_t info{};
    while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0 && errno == EINTR) {
    }
    reaped(exit_of(info));
}

PluginExit PluginProcess::exit_of(const siginfo_t& info) noexcept {
    if (!exit_status_) return exit_from(info);
    int status = 0;
    ssize_t got = ::read(exit_status_.get(), &status, sizeof status);
    exit_status_.reset();
    if (got != static_cast<ssize_t>(sizeof status)) return exit_from(info);
    PluginExit result;
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else {
        result.signaled = true;
        result.signal = WTERMSIG(status);
        result.core_dumped = WCOREDUMP(status);
    }
    return result;
}

void PluginProcess::reaped(PluginExit exit) noexcept {
    // Only now is no process of the plugin's left in, e.g., its memory cgroup.
    if (resources_) {
        resources_->on_reaped(exit);
        resources_.reset();
    }
    exit_ = exit;
}

} // namespace airlock::host
