// The seccomp filter verifier (issue 10): it accepts every shipped profile and example
// config, and catches programs that disagree with their rules — built by patching the
// instructions the BPF builder wrote.
#include <airlock/host/config_loader.hpp>
#include <airlock/host/filter_verifier.hpp>
#include <airlock/host/seccomp_filter.hpp>
#include <airlock/host/syscall_sets.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <filesystem>

using namespace airlock::host;

namespace {

SyscallPolicy profile_policy(const std::string& profile, ViolationAction on_violation) {
    SyscallPolicy policy;
    policy.profile = profile;
    policy.allowed = resolve_allowlist(profile, {}, {});
    policy.on_violation = on_violation;
    return policy;
}

CompiledSeccompFilter compile_or_fail(const SyscallPolicy& policy, const Limits& limits, SeccompFilterOptions options) {
    auto filter = compile_seccomp_filter(policy, limits, options);
    INFO(filter.status().to_string());
    REQUIRE(filter.ok());
    return std::move(*filter);
}

/// Verifies `program` against the rules `filter` was compiled from; the failure message, or "".
std::string verify_patched(const CompiledSeccompFilter& filter, const std::vector<sock_filter>& program,
                           bool notify) {
    auto report = verify_seccomp_program(program, filter.rules(), notify);
    return report.ok() ? std::string() : report.status().message();
}

std::vector<sock_filter> copy_of(const CompiledSeccompFilter& filter) {
    return {filter.instructions().begin(), filter.instructions().end()};
}

} // namespace

TEST_CASE("the verifier accepts every shipped profile under every option", "[seccomp][verifier]") {
    for (const auto& profile : syscall_profiles()) {
        for (auto action : {ViolationAction::Kill, ViolationAction::Errno, ViolationAction::Log}) {
            for (bool notify : {true, false}) {
                for (bool append : {false, true}) {
                    for (bool single_process : {false, true}) {
                        for (bool datagram : {false, true}) {
                            Limits limits;
                            if (single_process) limits.processes = 1;
                            SeccompFilterOptions options{append, notify, datagram};
                            options.device_ioctls = datagram;  // both values verified, without doubling the loop
                            INFO(profile.name << " action " << int(action) << " notify " << notify << " append "
                                              << append << " single " << single_process << " datagram " << datagram);
                            auto filter = compile_or_fail(profile_policy(profile.name, action), limits, options);
                            const auto& report = filter.verification();
                            CHECK(report.syscall_numbers > 400);
                            CHECK(report.argument_cases > report.syscall_numbers);
                            // Foreign calls: killed, or notified so the host can name them.
                            const char* foreign = notify ? "user-notif" : "kill-process";
                            CHECK(report.decisions.at("i386").at(foreign) == report.syscall_numbers);
                            CHECK(report.decisions.at("x32").at(foreign) == report.syscall_numbers);
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("the verifier accepts the filters of every example config", "[seccomp][verifier]") {
    int configs = 0;
    for (const auto& entry : std::filesystem::directory_iterator(AIRLOCK_SOURCE_DIR "/config/examples")) {
        if (entry.path().extension() != ".toml") continue;
        HostConfig config = load_config(entry.path().string());
        for (const auto& [name, plugin] : config.plugins) {
            INFO(entry.path() << " plugin " << name);
            for (bool notify : {true, false}) {
                auto filter = compile_or_fail(plugin.syscalls, plugin.limits, seccomp_filter_options_for(plugin, notify));
                CHECK(filter.verification().cases > 0);
            }
            ++configs;
        }
    }
    CHECK(configs >= 3);
}

TEST_CASE("the verifier's BPF interpreter gives the decisions the policy names on a compiled program", "[seccomp][verifier]") {
    auto filter = compile_or_fail(profile_policy("default", ViolationAction::Errno), {}, {false, false, false});
    SeccompInput input;
    input.arch = AUDIT_ARCH_X86_64;
    input.nr = SYS_getpid;
    CHECK(*run_seccomp_bpf(filter.instructions(), input) == SECCOMP_RET_ALLOW);
    input.nr = SYS_ptrace;
    CHECK(*run_seccomp_bpf(filter.instructions(), input) == (SECCOMP_RET_ERRNO | EPERM));
    input.nr = 1000;  // unknown
    CHECK(*run_seccomp_bpf(filter.instructions(), input) == (SECCOMP_RET_ERRNO | ENOSYS));
    input.nr = SYS_getpid;
    input.arch = AUDIT_ARCH_I386;
    CHECK(*run_seccomp_bpf(filter.instructions(), input) == SECCOMP_RET_KILL_PROCESS);
    // getsid: only pid 0
    input.arch = AUDIT_ARCH_X86_64;
    input.nr = SYS_getsid;
    CHECK(*run_seccomp_bpf(filter.instructions(), input) == SECCOMP_RET_ALLOW);
    input.args[0] = 1;
    CHECK(*run_seccomp_bpf(filter.instructions(), input) == (SECCOMP_RET_ERRNO | EPERM));
    // An instruction seccomp does not accept is an error, not a guess.
    std::vector<sock_filter> bad{BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64)};
    CHECK_FALSE(run_seccomp_bpf(bad, input).ok());
}

TEST_CASE("the verifier catches a wrong program", "[seccomp][verifier]") {
    const bool notify = false;
    auto filter = compile_or_fail(profile_policy("default", ViolationAction::Errno), {}, {true, notify, false});
    REQUIRE(verify_patched(filter, copy_of(filter), notify).empty());

    SECTION("a flipped argument rule: fcntl(F_SETFL) without O_APPEND allowed") {
        // The builder compares a masked argument as `and MASK; jeq DATUM`: swap the branches
        // of the O_APPEND comparison.
        auto program = copy_of(filter);
        bool patched = false;
        for (std::size_t i = 0; i + 1 < program.size() && !patched; ++i) {
            if (program[i].code == (BPF_ALU | BPF_AND | BPF_K) && program[i].k == O_APPEND &&
                program[i + 1].code == (BPF_JMP | BPF_JEQ | BPF_K)) {
                std::swap(program[i + 1].jt, program[i + 1].jf);
                patched = true;
            }
        }
        REQUIRE(patched);
        const std::string failure = verify_patched(filter, program, notify);
        INFO(failure);
        CHECK_THAT(failure, Catch::Contains("x86_64 syscall fcntl (72)"));
        CHECK_THAT(failure, Catch::Contains("the policy says"));
    }
    SECTION("a flipped syscall decision: an allowed call refused, or a refused one allowed") {
        auto program = copy_of(filter);
        for (auto& instruction : program)
            if (instruction.code == (BPF_RET | BPF_K) && instruction.k == SECCOMP_RET_ALLOW) {
                instruction.k = SECCOMP_RET_ERRNO | EPERM;
                break;
            }
        const std::string failure = verify_patched(filter, program, notify);
        INFO(failure);
        CHECK_THAT(failure, Catch::Contains("the program says errno(EPERM), the policy says allow"));
        auto opened = copy_of(filter);
        for (auto& instruction : opened)
            if (instruction.code == (BPF_RET | BPF_K) && instruction.k == (SECCOMP_RET_ERRNO | EPERM)) {
                instruction.k = SECCOMP_RET_ALLOW;
                break;
            }
        const std::string allowed = verify_patched(filter, opened, notify);
        INFO(allowed);
        CHECK_THAT(allowed, Catch::Contains("the program says allow, the policy says errno(EPERM)"));
    }
    SECTION("a missing architecture check") {
        auto program = copy_of(filter);
        bool patched = false;
        for (auto& instruction : program)
            if (!patched && instruction.code == (BPF_JMP | BPF_JEQ | BPF_K) && instruction.k == AUDIT_ARCH_X86_64) {
                instruction.jf = instruction.jt;  // every architecture takes the x86_64 path
                patched = true;
            }
        REQUIRE(patched);
        const std::string failure = verify_patched(filter, program, notify);
        INFO(failure);
        CHECK_THAT(failure, Catch::Contains("i386 syscall"));
        CHECK_THAT(failure, Catch::Contains("the policy says kill-process"));
    }
    SECTION("a wrong errno: unknown numbers answer EPERM instead of ENOSYS") {
        auto program = copy_of(filter);
        for (auto& instruction : program)
            if (instruction.code == (BPF_RET | BPF_K) && instruction.k == (SECCOMP_RET_ERRNO | ENOSYS))
                instruction.k = SECCOMP_RET_ERRNO | EPERM;
        const std::string failure = verify_patched(filter, program, notify);
        INFO(failure);
        CHECK_THAT(failure, Catch::Contains("the program says errno(EPERM), the policy says errno(ENOSYS)"));
    }
}

TEST_CASE("the verifier refuses ambiguous rules (two actions for the same arguments)", "[seccomp][verifier]") {
    FilterRules rules;
    rules.syscalls[SYS_getpid] = SyscallRules{SYS_getpid, "getpid",
                                              {{RuleAction::Allow, {}}, {RuleAction::RefuseEperm, {}}}};
    // x86_64 only, no x32; getpid allowed, everything else ENOSYS.
    std::vector<sock_filter> program{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    };
    auto report = verify_seccomp_program(program, rules, false);
    REQUIRE_FALSE(report.ok());
    CHECK_THAT(report.status().message(), Catch::Contains("seccomp rules for getpid are ambiguous"));
    // The same program against unambiguous rules passes: the interpreter is not the problem.
    rules.syscalls[SYS_getpid].rules.pop_back();
    rules.allowed.insert(SYS_getpid);
    CHECK(verify_seccomp_program(program, rules, false).ok());
}

namespace {

// Numbers 0..9 allowed, every other number unknown; x86_64 only.
FilterRules ten_allowed() {
    FilterRules rules;
    for (int nr = 0; nr < 10; ++nr) {
        rules.syscalls[nr] = SyscallRules{nr, "call" + std::to_string(nr), {{RuleAction::Allow, {}}}};
        rules.allowed.insert(nr);
    }
    return rules;
}

// A program for ten_allowed() with `middle` instructions (A holds the number) between the
// architecture checks and the range check.
std::vector<sock_filter> ten_allowed_program(std::vector<sock_filter> middle) {
    std::vector<sock_filter> program{
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    program.insert(program.end(), middle.begin(), middle.end());
    program.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0));
    program.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 10, 0, 1));
    program.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
    program.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    return program;
}

std::string verify_failure(const std::vector<sock_filter>& program, const FilterRules& rules) {
    auto report = verify_seccomp_program(program, rules, false);
    return report.ok() ? std::string() : report.status().message();
}

} // namespace

TEST_CASE("the verifier runs a number's cases once per interval the program cannot tell apart, and still "
          "catches a number singled out", "[seccomp][verifier]") {
    const FilterRules rules = ten_allowed();
    auto report = verify_seccomp_program(ten_allowed_program({}), rules, false);
    INFO(report.status().to_string());
    REQUIRE(report.ok());
    // Every decision is checked; the runs are far fewer than the decisions.
    CHECK(report->cases == report->syscall_numbers * 4);  // x86_64: two argument cases; i386, x32: one
    CHECK(report->program_runs < report->cases / 4);

    SECTION("a number compared with a constant") {
        auto program = ten_allowed_program({BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 1),
                                            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)});
        CHECK_THAT(verify_failure(program, rules), Catch::Contains("x86_64 syscall call5 (5)"));
    }
    SECTION("a number singled out by arithmetic (no interval holds: every number is run)") {
        // (nr | 1) == 7: numbers 6 and 7.
        auto program = ten_allowed_program({BPF_STMT(BPF_ALU | BPF_OR | BPF_K, 1),
                                            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 1),
                                            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)});
        CHECK_THAT(verify_failure(program, rules), Catch::Contains("x86_64 syscall call6 (6)"));
    }
    SECTION("a number singled out by a bit test") {
        // nr & 6: numbers 2 to 7.
        auto program = ten_allowed_program({BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 6, 0, 1),
                                            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)});
        CHECK_THAT(verify_failure(program, rules), Catch::Contains("x86_64 syscall call2 (2)"));
    }
    SECTION("a number carried through X and scratch memory") {
        auto program = ten_allowed_program({BPF_STMT(BPF_MISC | BPF_TAX, 0), BPF_STMT(BPF_STX, 3),
                                            BPF_STMT(BPF_LD | BPF_IMM, 0), BPF_STMT(BPF_LD | BPF_MEM, 3),
                                            BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, 3),
                                            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
                                            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)});
        CHECK_THAT(verify_failure(program, rules), Catch::Contains("x86_64 syscall call3 (3)"));
    }
}
