// The plugin seccomp filter's own cost: compiling it in the host, and loading it in a child.
//
//   filter_instructions   BPF instructions of the default profile's filter (notified violations,
//                         as a root host compiles it)
//   filter_rules_us       CPU time of build_filter_rules() (the policy as data)
//   filter_build_us       CPU time of build_seccomp_bpf() (the data as BPF)
//   filter_verify_us      CPU time of verify_seccomp_program() (every decision checked)
//   filter_compile_us     CPU time of compile_seccomp_filter(): all three, what a launch of
//                         `airlock-host exec` pays once
//   filter_load_us        CPU time of the child's seccomp(SECCOMP_SET_MODE_FILTER) with that
//                         program (and a listener), in a fresh forked child each time
//   tiny_filter_load_us   the same for a one-instruction program (`return allow`): the kernel's
//                         fixed cost of any filter, for scale
//   init_filter_load_us   the same for a program shaped like airlock-pid-init's own filter
//
// CPU times (CLOCK_THREAD_CPUTIME_ID around the call), medians: the machine is shared, and wall
// time would mostly measure the neighbours. Notes on stderr give the instruction mix.
//
// Environment: AIRLOCK_BENCH_FILTER_ROUNDS (default 200 loads, 50 compiles), AIRLOCK_BENCH_CPU.
#include "support.hpp"

#include <airlock/host/filter_verifier.hpp>
#include <airlock/host/seccomp_bpf_builder.hpp>
#include <airlock/host/seccomp_filter.hpp>
#include <airlock/host/syscall_sets.hpp>

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <ctime>
#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using namespace airlock::host;

namespace {

double thread_cpu_us() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

// Median CPU microseconds of `rounds` calls of `work`.
double median_cpu_us(int rounds, const std::function<void()>& work) {
    std::vector<double> samples;
    for (int i = 0; i < rounds; ++i) {
        const double start = thread_cpu_us();
        work();
        samples.push_back(thread_cpu_us() - start);
    }
    return bench::median(samples);
}

// A forked child loads `program` (with a listener when `listener`) and reports the CPU time of
// the seccomp() call through a pipe; the median over `rounds` children.
double median_load_us(const sock_fprog& program, bool listener, int rounds) {
    std::vector<double> samples;
    for (int i = 0; i < rounds; ++i) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) bench::throw_errno("pipe2");
        const pid_t child = ::fork();
        if (child < 0) bench::throw_errno("fork");
        if (child == 0) {
            double spent = -1;
            if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
                const double start = thread_cpu_us();
                const long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                          listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0UL, &program);
                if (rc >= 0) spent = thread_cpu_us() - start;
            }
            (void)!::write(fds[1], &spent, sizeof spent);
            ::syscall(SYS_exit_group, 0);  // the filter allows exit_group
        }
        ::close(fds[1]);
        double spent = -1;
        const bool got = ::read(fds[0], &spent, sizeof spent) == static_cast<ssize_t>(sizeof spent);
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        if (!got || spent < 0) throw std::runtime_error("the child could not load the filter");
        samples.push_back(spent);
    }
    return bench::median(samples);
}

// The instruction mix, for the notes.
std::string instruction_mix(std::span<const sock_filter> program) {
    std::map<std::string, int> mix;
    for (const auto& insn : program) {
        std::string kind;
        if (insn.code == (BPF_LD | BPF_W | BPF_ABS))
            kind = insn.k >= offsetof(seccomp_data, args) ? "load argument" : "load nr/arch";
        else if (BPF_CLASS(insn.code) == BPF_RET) kind = "return";
        else if (insn.code == (BPF_JMP | BPF_JA)) kind = "jump always";
        else if (insn.code == (BPF_JMP | BPF_JGE | BPF_K)) kind = "jge (the search over numbers)";
        else if (BPF_CLASS(insn.code) == BPF_JMP) kind = "other conditional jump";
        else if (BPF_CLASS(insn.code) == BPF_ALU) kind = "alu";
        else kind = "other";
        ++mix[kind];
    }
    std::string text;
    for (const auto& [kind, count] : mix) text += (text.empty() ? "" : ", ") + kind + " " + std::to_string(count);
    return text;
}

void run() {
    bench::pin_to_cpu(bench::choose_cpu());
    const int rounds = bench::env_int("AIRLOCK_BENCH_FILTER_ROUNDS", 200);
    const int compile_rounds = rounds / 4 > 0 ? rounds / 4 : 1;

    SyscallPolicy policy;
    policy.profile = "default";
    policy.allowed = resolve_allowlist("default", {}, {});
    const Limits limits;
    const SeccompFilterOptions options{false, true, false};  // notified violations, as a root host
    auto filter = compile_seccomp_filter(policy, limits, options);
    if (!filter) throw std::runtime_error(filter.status().to_string());
    bench::note("default profile, notified violations: " + instruction_mix(filter->instructions()));
    bench::note("verifier: " + std::to_string(filter->verification().cases) + " decisions checked in " +
                std::to_string(filter->verification().program_runs) + " program runs");
    bench::print_result("filter_instructions", static_cast<double>(filter->instructions().size()), "count");

    const SeccompRuleOptions rule_options{};
    bench::print_result("filter_rules_us", median_cpu_us(compile_rounds, [&] {
        if (!build_filter_rules(policy, limits, rule_options, 1).ok())
            throw std::runtime_error("build_filter_rules failed");
    }), "us");
    SeccompBpfActions actions;
    actions.allow = SECCOMP_RET_ALLOW;
    actions.violation = actions.sandbox_denial = actions.foreign = SECCOMP_RET_USER_NOTIF;
    actions.refuse_eperm = SECCOMP_RET_ERRNO | EPERM;
    actions.enosys = SECCOMP_RET_ERRNO | ENOSYS;
    const FilterRules& rules = filter->rules();
    bench::print_result("filter_build_us", median_cpu_us(compile_rounds, [&] {
        if (!build_seccomp_bpf(rules, actions).ok()) throw std::runtime_error("build_seccomp_bpf failed");
    }), "us");
    bench::print_result("filter_verify_us", median_cpu_us(compile_rounds, [&] {
        if (!verify_seccomp_program(filter->instructions(), rules, true).ok())
            throw std::runtime_error("verify_seccomp_program failed");
    }), "us");
    bench::print_result("filter_compile_us", median_cpu_us(compile_rounds, [&] {
        if (!compile_seccomp_filter(policy, limits, options).ok()) throw std::runtime_error("compile failed");
    }), "us");

    bench::print_result("filter_load_us", median_load_us(filter->program(), true, rounds), "us");
    static sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    const sock_fprog tiny{1, allow_all};
    bench::print_result("tiny_filter_load_us", median_load_us(tiny, false, rounds), "us");
    // The shape of airlock-pid-init's own filter (host/src/spawn/pid_init.cpp): the architecture
    // check and five allowed calls in a row (15 instructions), and clock_gettime for the
    // measurement itself (CLOCK_THREAD_CPUTIME_ID is a system call).
    auto allow = [](long nr) {
        return std::array<sock_filter, 2>{{BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, 1),
                                           BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}};
    };
    static std::vector<sock_filter> init_like{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    };
    for (long nr : {SYS_rt_sigtimedwait, SYS_wait4, SYS_kill, SYS_write, SYS_exit_group, SYS_clock_gettime})
        for (const auto& insn : allow(nr)) init_like.push_back(insn);
    init_like.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    const sock_fprog init{static_cast<unsigned short>(init_like.size()), init_like.data()};
    bench::print_result("init_filter_load_us", median_load_us(init, false, rounds), "us");
}

} // namespace

int main() {
    try {
        run();
        return 0;
    } catch (const std::exception& error) {
        bench::note(std::string("filter_bench failed: ") + error.what());
        return 1;
    }
}
