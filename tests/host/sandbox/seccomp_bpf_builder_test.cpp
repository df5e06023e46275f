// The seccomp BPF builder (seccomp_bpf_builder.hpp): what it writes for the edges of the
// number space, 64-bit argument comparisons, and programs longer than a BPF jump reaches.
// Every program is also checked by the filter verifier and loaded by the real kernel.
#include <airlock/host/filter_verifier.hpp>
#include <airlock/host/seccomp_bpf_builder.hpp>

#include <catch2/catch.hpp>

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

using namespace airlock::host;

namespace {

constexpr std::uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
constexpr std::uint32_t enosys = SECCOMP_RET_ERRNO | ENOSYS;

SeccompBpfActions kill_on_violation() {
    SeccompBpfActions actions;
    actions.allow = SECCOMP_RET_ALLOW;
    actions.violation = SECCOMP_RET_KILL_PROCESS;
    actions.sandbox_denial = SECCOMP_RET_KILL_PROCESS;
    actions.refuse_eperm = eperm;
    actions.enosys = enosys;
    actions.foreign = SECCOMP_RET_KILL_PROCESS;
    return actions;
}

void add(FilterRules& rules, int nr, std::vector<ArgRule> syscall_rules) {
    bool allows = false;
    for (const auto& rule : syscall_rules) allows |= rule.action == RuleAction::Allow;
    if (allows) rules.allowed.insert(nr);
    rules.syscalls.emplace(nr, SyscallRules{nr, "call" + std::to_string(nr), std::move(syscall_rules)});
}

std::uint32_t decide(const std::vector<sock_filter>& program, std::uint32_t nr, std::array<std::uint64_t, 6> args = {},
                     std::uint32_t arch = AUDIT_ARCH_X86_64) {
    auto result = run_seccomp_bpf(program, SeccompInput{static_cast<int>(nr), arch, 0, args});
    REQUIRE(result.ok());
    return *result;
}

} // namespace

TEST_CASE("the BPF builder answers foreign architectures, x32 and unknown numbers", "[seccomp][bpf-builder]") {
    FilterRules rules;
    add(rules, 0, {{RuleAction::Allow, {}}});
    add(rules, 1, {{RuleAction::Violation, {}}});
    add(rules, 5, {});  // known, no rule: ENOSYS
    auto program = build_seccomp_bpf(rules, kill_on_violation());
    REQUIRE(program.ok());
    CHECK(decide(*program, 0) == SECCOMP_RET_ALLOW);
    CHECK(decide(*program, 1) == SECCOMP_RET_KILL_PROCESS);
    CHECK(decide(*program, 2) == enosys);  // a gap: unknown number
    CHECK(decide(*program, 5) == enosys);
    CHECK(decide(*program, 100000) == enosys);
    CHECK(decide(*program, 0, {}, AUDIT_ARCH_I386) == SECCOMP_RET_KILL_PROCESS);
    CHECK(decide(*program, 0x40000000) == SECCOMP_RET_KILL_PROCESS);  // x32 read
    CHECK(decide(*program, 0xffffffffU) == enosys);                      // a call a tracer skipped
    CHECK(verify_seccomp_program(*program, rules, false).ok());
}

TEST_CASE("the BPF builder compares all 64 bits of an argument", "[seccomp][bpf-builder]") {
    FilterRules rules;
    const std::uint64_t value = 0x100000002ULL;  // the halves differ
    add(rules, 10, {{RuleAction::Allow, {{0, ArgCondition::Op::Eq, ~0ULL, value}}},
                    {RuleAction::RefuseEperm, {{0, ArgCondition::Op::Ne, ~0ULL, value}}}});
    add(rules, 11, {{RuleAction::Allow, {{2, ArgCondition::Op::MaskedEq, 0xff000000000000f0ULL, 0x0100000000000010ULL}}}});
    auto program = build_seccomp_bpf(rules, kill_on_violation());
    REQUIRE(program.ok());
    CHECK(decide(*program, 10, {value}) == SECCOMP_RET_ALLOW);
    CHECK(decide(*program, 10, {2}) == eperm);              // same low half
    CHECK(decide(*program, 10, {0x100000000ULL}) == eperm);  // same high half
    CHECK(decide(*program, 11, {0, 0, 0x01ab00000000ff1fULL}) == SECCOMP_RET_ALLOW);
    CHECK(decide(*program, 11, {0, 0, 0x02ab00000000ff1fULL}) == enosys);  // high half differs
    CHECK(decide(*program, 11, {0, 0, 0x0100000000000000ULL}) == enosys);  // low half differs
    CHECK(verify_seccomp_program(*program, rules, false).ok());
}

TEST_CASE("the BPF builder writes programs longer than a conditional jump reaches", "[seccomp][bpf-builder]") {
    // 250 syscalls with argument rules: the search tree spans thousands of instructions.
    FilterRules rules;
    for (int nr = 0; nr < 250; ++nr)
        add(rules, nr, {{RuleAction::Allow, {{1, ArgCondition::Op::MaskedEq, 0xffffffffULL, std::uint64_t(nr)}}},
                        {RuleAction::Violation, {{1, ArgCondition::Op::MaskedEq, 0xffffffffULL, std::uint64_t(nr) + 1}}}});
    auto program = build_seccomp_bpf(rules, kill_on_violation());
    REQUIRE(program.ok());
    CHECK(program->size() > 1000);
    // Some targets are beyond a conditional jump's 255: reached through a `ja`.
    bool long_jump = false;
    for (const auto& insn : *program) long_jump |= insn.code == (BPF_JMP | BPF_JA) && insn.k > 255;
    CHECK(long_jump);
    for (std::uint32_t nr : {0U, 1U, 124U, 125U, 248U, 249U}) {
        CHECK(decide(*program, nr, {0, nr}) == SECCOMP_RET_ALLOW);
        CHECK(decide(*program, nr, {0, nr + 1}) == SECCOMP_RET_KILL_PROCESS);
        CHECK(decide(*program, nr, {0, nr + 2}) == enosys);
    }
    auto report = verify_seccomp_program(*program, rules, false);
    INFO(report.status().to_string());
    CHECK(report.ok());

    // The kernel runs it: a child loads it, then fstat (5) with argument 1 == 5 is allowed
    // (EFAULT from the kernel) and with 7 answers ENOSYS from the filter.
    FilterRules loadable = rules;
    for (int nr : {SYS_exit, SYS_exit_group}) {
        loadable.syscalls.erase(nr);
        add(loadable, nr, {{RuleAction::Allow, {}}});
    }
    auto runnable = build_seccomp_bpf(loadable, kill_on_violation());
    REQUIRE(runnable.ok());
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        sock_fprog fprog{static_cast<unsigned short>(runnable->size()), runnable->data()};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) _exit(11);
        // Raw exit_group, not _exit: a sanitizer's _exit interceptor makes system calls this
        // filter answers with ENOSYS (and then exits 1).
        if (syscall(SYS_fstat, 0, 5) != -1 || errno != EFAULT) syscall(SYS_exit_group, 12);
        if (syscall(SYS_fstat, 0, 7) != -1 || errno != ENOSYS) syscall(SYS_exit_group, 13);
        syscall(SYS_exit_group, 0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the BPF builder writes the rules several syscalls share once", "[seccomp][bpf-builder]") {
    // Sixteen syscalls allowed only on argument 0 == 0 (like the pid-0-only calls), each with its
    // own words for the report, and one with other rules.
    auto pid_rules = [](int nr) {
        return std::vector<ArgRule>{
            {RuleAction::Allow, {{0, ArgCondition::Op::Eq, ~0ULL, 0}}},
            {RuleAction::SandboxDenial, {{0, ArgCondition::Op::Ne, ~0ULL, 0}}, "call" + std::to_string(nr) + " on another process"}};
    };
    FilterRules one;
    add(one, 100, pid_rules(100));
    FilterRules sixteen;
    for (int nr = 100; nr < 132; nr += 2) add(sixteen, nr, pid_rules(nr));  // not neighbours: separate ranges
    add(sixteen, 140, {{RuleAction::Allow, {{0, ArgCondition::Op::Eq, ~0ULL, 7}}}});
    auto single = build_seccomp_bpf(one, kill_on_violation());
    auto shared = build_seccomp_bpf(sixteen, kill_on_violation());
    REQUIRE(single.ok());
    REQUIRE(shared.ok());
    // Fifteen more syscalls cost their places in the search, not fifteen more copies of the rules.
    INFO("one: " << single->size() << " sixteen: " << shared->size());
    CHECK(shared->size() < single->size() + 2 * 32 + 12);
    for (std::uint32_t nr = 100; nr < 132; nr += 2) {
        CHECK(decide(*shared, nr, {0}) == SECCOMP_RET_ALLOW);
        CHECK(decide(*shared, nr, {1}) == SECCOMP_RET_KILL_PROCESS);
        CHECK(decide(*shared, nr, {1ULL << 32}) == SECCOMP_RET_KILL_PROCESS);  // only the high half differs
        CHECK(decide(*shared, nr + 1, {0}) == enosys);                       // the gaps: unknown
    }
    CHECK(decide(*shared, 140, {7}) == SECCOMP_RET_ALLOW);
    CHECK(decide(*shared, 140, {0}) == enosys);
    CHECK(verify_seccomp_program(*shared, sixteen, false).ok());
}

TEST_CASE("the BPF builder reloads an argument where the ways in disagree on what was loaded", "[seccomp][bpf-builder]") {
    // Rule 1 looks at argument 0, then argument 1; rule 2 at argument 0 again. Arriving at rule 2
    // from rule 1's second comparison, A holds argument 1: a builder that kept it would compare
    // argument 1 with 3.
    FilterRules rules;
    add(rules, 20, {{RuleAction::Allow, {{0, ArgCondition::Op::MaskedEq, 0xffffffffULL, 1},
                                         {1, ArgCondition::Op::MaskedEq, 0xffffffffULL, 2}}},
                    {RuleAction::RefuseEperm, {{0, ArgCondition::Op::MaskedEq, 0xffffffffULL, 3}}}});
    auto program = build_seccomp_bpf(rules, kill_on_violation());
    REQUIRE(program.ok());
    CHECK(decide(*program, 20, {1, 2}) == SECCOMP_RET_ALLOW);
    CHECK(decide(*program, 20, {1, 3}) == enosys);
    CHECK(decide(*program, 20, {3, 2}) == eperm);
    CHECK(decide(*program, 20, {3, 3}) == eperm);
    // The same comparison of one word in a row loads it once.
    FilterRules options;
    std::vector<ArgRule> by_option;
    for (std::uint64_t option = 1; option <= 40; ++option)
        by_option.push_back({option % 2 ? RuleAction::Allow : RuleAction::RefuseEperm,
                             {{0, ArgCondition::Op::MaskedEq, 0xffffffffULL, option}}});
    add(options, 30, by_option);
    auto compact = build_seccomp_bpf(options, kill_on_violation());
    REQUIRE(compact.ok());
    std::size_t argument_loads = 0;
    for (const auto& insn : *compact)
        argument_loads += insn.code == (BPF_LD | BPF_W | BPF_ABS) && insn.k >= offsetof(seccomp_data, args);
    CHECK(argument_loads == 1);
    CHECK(compact->size() < 40 + 16);  // one compare per option (three instructions each before)
    for (std::uint32_t option = 0; option <= 41; ++option) {
        const std::uint32_t expected = option == 0 || option == 41 ? enosys : option % 2 ? SECCOMP_RET_ALLOW : eperm;
        CHECK(decide(*compact, 30, {option}) == expected);
        CHECK(decide(*compact, 30, {option | (1ULL << 40)}) == expected);  // an int: the high half is ignored
    }
    CHECK(verify_seccomp_program(*program, rules, false).ok());
    CHECK(verify_seccomp_program(*compact, options, false).ok());
}

TEST_CASE("the BPF builder searches the values of one int argument by range", "[seccomp][bpf-builder]") {
    // prctl's shape: each rule compares argument 0's low half with its own value. Runs of
    // neighbouring values with one action (10..19 allowed, 20..24 refused), lone values, gaps,
    // 0 and the highest value.
    FilterRules rules;
    std::vector<ArgRule> by_value;
    auto value_rule = [](RuleAction action, std::uint64_t value) {
        return ArgRule{action, {{0, ArgCondition::Op::MaskedEq, 0xffffffffULL, value}}};
    };
    for (std::uint64_t value = 24; value >= 10; --value)  // out of order: the builder sorts
        by_value.push_back(value_rule(value < 20 ? RuleAction::Allow : RuleAction::RefuseEperm, value));
    for (std::uint64_t value : {0ULL, 30ULL, 32ULL, 0x53564d41ULL, 0xffffffffULL})
        by_value.push_back(value_rule(value == 32 ? RuleAction::RefuseEperm : RuleAction::Allow, value));
    add(rules, 40, by_value);
    auto program = build_seccomp_bpf(rules, kill_on_violation());
    REQUIRE(program.ok());
    auto expected = [](std::uint32_t value) {
        if (value == 0 || (value >= 10 && value < 20) || value == 30 || value == 0x53564d41 || value == 0xffffffff)
            return SECCOMP_RET_ALLOW;
        if ((value >= 20 && value <= 24) || value == 32) return eperm;
        return enosys;
    };
    for (std::uint32_t value : {0U, 1U, 9U, 10U, 15U, 19U, 20U, 24U, 25U, 29U, 30U, 31U, 32U, 33U, 0x53564d40U,
                                0x53564d41U, 0x53564d42U, 0xfffffffeU, 0xffffffffU}) {
        INFO(value);
        CHECK(decide(*program, 40, {value}) == expected(value));
        CHECK(decide(*program, 40, {value | (7ULL << 40)}) == expected(value));  // an int: the high half is ignored
    }
    // A range search, not one comparison per rule: 20 rules, far fewer argument comparisons
    // on any path (the number search before them is the same either way).
    std::size_t argument_compares = 0;
    for (const auto& insn : *program) argument_compares += insn.code == (BPF_JMP | BPF_JGE | BPF_K);
    CHECK(argument_compares < 20);
    REQUIRE(verify_seccomp_program(*program, rules, false).ok());

    // A boundary moved by one (the run 10..19 ending at 20 instead) is caught by the verifier.
    auto wrong = *program;
    bool moved = false;
    for (auto& insn : wrong) {
        if (insn.code == (BPF_JMP | BPF_JGE | BPF_K) && insn.k == 20) {
            insn.k = 21;
            moved = true;
        }
    }
    REQUIRE(moved);
    CHECK_FALSE(verify_seccomp_program(wrong, rules, false).ok());
}

TEST_CASE("a filter with shared rule blocks gives the kernel's answers the rules name", "[seccomp][bpf-builder]") {
    // Two syscalls share one block (getsid and getpgid: only on pid 0, both 64-bit halves
    // compared); the real kernel runs the program in a child.
    FilterRules rules;
    for (int nr : {SYS_getsid, SYS_getpgid})
        add(rules, nr, {{RuleAction::Allow, {{0, ArgCondition::Op::Eq, ~0ULL, 0}}},
                        {RuleAction::RefuseEperm, {{0, ArgCondition::Op::Ne, ~0ULL, 0}}}});
    for (int nr : {SYS_exit, SYS_exit_group}) add(rules, nr, {{RuleAction::Allow, {}}});
    auto program = build_seccomp_bpf(rules, kill_on_violation());
    REQUIRE(program.ok());
    REQUIRE(verify_seccomp_program(*program, rules, false).ok());
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        sock_fprog fprog{static_cast<unsigned short>(program->size()), program->data()};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) _exit(11);
        for (long nr : {long(SYS_getsid), long(SYS_getpgid)}) {
            if (syscall(nr, 0) < 0) syscall(SYS_exit_group, 12);                          // pid 0: runs
            if (syscall(nr, 1) != -1 || errno != EPERM) syscall(SYS_exit_group, 13);      // another pid
            if (syscall(nr, 1L << 32) != -1 || errno != EPERM) syscall(SYS_exit_group, 14);  // high half only
        }
        if (syscall(SYS_getpid) != -1 || errno != ENOSYS) syscall(SYS_exit_group, 15);  // no entry: unknown
        syscall(SYS_exit_group, 0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
