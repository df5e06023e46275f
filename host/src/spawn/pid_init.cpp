// airlock-pid-init: pid 1 of a plugin's PID namespace (see docs/sandbox.md, "PID namespace").
//
// A freestanding static program (no libc, no allocation, raw x86-64 system calls only): the
// spawner embeds it (pid_init_image.hpp) and its launch child executes it from a sealed memfd
// once the plugin itself has executed. Inherited from the launch child:
//   argv[1]   the plugin's pid in this namespace (decimal);
//   fd 3      the write end of the exit-status pipe to the host;
//   signals   all blocked, so nothing sent before the loop below is lost.
// It forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the plugin, turns the
// host's SIGRTMAX into SIGKILL for every other process of the namespace, reaps
// every process the namespace reparents to it, and when the plugin has gone writes the
// plugin's raw wait status (4 bytes) to fd 3 and exits. Its exit makes the kernel kill
// whatever else still runs in the namespace: nothing the plugin forked outlives it.
//
// Why the status goes through a pipe: a namespace's pid 1 cannot die by a signal of its own
// choosing (the kernel drops every signal it sends itself without a handler), so it cannot
// re-raise the plugin's death faithfully; the host reads the status instead.
//
// What it may do, once running: its own seccomp filter (below) allows only waiting for
// signals and children, kill(), write() and exiting, and it keeps no capability but
// CAP_KILL (root host: the plugin runs as another user). Exec, open, ptrace and every other
// call end it. It runs outside the plugin's cgroups, Landlock domain and filter; the plugin
// (another uid, or the same uid without ptrace under its filter) cannot reach into it, and
// if it could, this filter is all it would find.

#include <asm/unistd.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/signal.h>

#include <cstddef>
#include <cstdint>

#if !defined(__x86_64__)
#error "airlock-pid-init is written for x86-64 system calls"
#endif

namespace {

constexpr int kStatusFd = 3;
constexpr long kPrSetNoNewPrivs = 38;  // PR_SET_NO_NEW_PRIVS
constexpr long kWaitNoHang = 1;        // WNOHANG
constexpr long kWaitAll = 0x40000000;  // __WALL: clones of any kind
constexpr int kErrnoInterrupted = 4;   // EINTR
constexpr int kSigChld = 17;
constexpr int kForwarded[] = {1 /*HUP*/, 2 /*INT*/, 3 /*QUIT*/, 10 /*USR1*/, 12 /*USR2*/, 15 /*TERM*/};
// The host's SIGKILL: SIGKILL to the init itself would end the namespace before the init
// could report how the plugin ended (it may have exited with its own code a moment before),
// so the host sends this instead and the init kills every other process of the namespace.
// The same number is in plugin_process.cpp.
constexpr int kKillAllSignal = 64;  // SIGRTMAX
constexpr int kSigKill = 9;
constexpr long kAllButInit = -1;
constexpr int kExitSetupFailed = 125;

long raw_syscall(long number, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
    long result;
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    asm volatile("syscall"
                 : "=a"(result)
                 : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                 : "rcx", "r11", "memory");
    return result;
}

[[noreturn]] void exit_now(int code) {
    for (;;) raw_syscall(__NR_exit_group, code);
}

unsigned long long bit(int signal_number) { return 1ULL << (signal_number - 1); }

// Keeps CAP_KILL (if it had it) and nothing else: enough to signal a plugin of another uid.
bool keep_only_kill_capability() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (raw_syscall(__NR_capget, reinterpret_cast<long>(&header), reinterpret_cast<long>(data)) != 0) return false;
    const std::uint32_t kill = 1U << CAP_KILL;
    data[0].effective = data[0].permitted & kill;
    data[0].permitted &= kill;
    data[0].inheritable = 0;
    data[1] = {};
    return raw_syscall(__NR_capset, reinterpret_cast<long>(&header), reinterpret_cast<long>(data)) == 0;
}

#define ALLOW_SYSCALL(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

// The calls the loop below makes, nothing else.
bool load_filter() {
    // Read-only data: with nothing writable the image is one read+execute segment, so the
    // exec maps one segment and the init faults in fewer pages (docs/spawning.md, cost).
    static const sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        ALLOW_SYSCALL(__NR_rt_sigtimedwait),
        ALLOW_SYSCALL(__NR_wait4),
        ALLOW_SYSCALL(__NR_kill),
        ALLOW_SYSCALL(__NR_write),
        ALLOW_SYSCALL(__NR_exit_group),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    static const sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]),
                                    const_cast<sock_filter*>(filter)};
    if (raw_syscall(__NR_prctl, kPrSetNoNewPrivs, 1, 0, 0, 0) != 0) return false;
    return raw_syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(&program)) == 0;
}

long parse_pid(const char* text) {
    long value = 0;
    if (text == nullptr || *text == '\0') return -1;
    for (; *text != '\0'; ++text) {
        if (*text < '0' || *text > '9' || value > 4194304) return -1;
        value = value * 10 + (*text - '0');
    }
    return value;
}

// Reaps every child that has exited; when one is the plugin, reports it and exits.
void reap(long plugin) {
    for (;;) {
        int status = 0;
        long pid = raw_syscall(__NR_wait4, -1, reinterpret_cast<long>(&status), kWaitNoHang | kWaitAll, 0);
        if (pid == -kErrnoInterrupted) continue;
        if (pid <= 0) return;  // none left to reap right now (or no children at all)
        if (pid != plugin) continue;
        while (raw_syscall(__NR_write, kStatusFd, reinterpret_cast<long>(&status), sizeof status) == -kErrnoInterrupted) {
        }
        // The exit code only matters if the host could not read the status.
        exit_now((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f));
    }
}

[[noreturn]] void init_main(long argc, char** argv) {
    const long plugin = argc >= 2 ? parse_pid(argv[1]) : -1;
    if (plugin <= 1) exit_now(kExitSetupFailed);
    if (!keep_only_kill_capability() || !load_filter()) {
        raw_syscall(__NR_kill, plugin, 9);
        exit_now(kExitSetupFailed);
    }
    unsigned long long waited = bit(kSigChld) | bit(kKillAllSignal);
    for (int signal_number : kForwarded) waited |= bit(signal_number);
    for (;;) {
        // The plugin may have exited before this loop: reap first, then wait.
        reap(plugin);
        long signal_number =
            raw_syscall(__NR_rt_sigtimedwait, reinterpret_cast<long>(&waited), 0, 0, sizeof waited);
        if (signal_number == kKillAllSignal) {
            raw_syscall(__NR_kill, kAllButInit, kSigKill);
        } else if (signal_number > 0 && signal_number != kSigChld) {
            raw_syscall(__NR_kill, plugin, signal_number);
        }
    }
}

} // namespace

extern "C" [[noreturn]] void airlock_pid_init_start(long* stack) {
    init_main(stack[0], reinterpret_cast<char**>(stack + 1));
}

// The entry point: the kernel leaves argc, argv... at the stack pointer; align the stack for
// the call as the ABI wants.
asm(".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call airlock_pid_init_start\n"
    "  hlt\n");
