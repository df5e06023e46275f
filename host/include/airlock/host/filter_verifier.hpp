#pragma once
/// @file filter_verifier.hpp
/// Checks a compiled seccomp BPF program against the policy it was compiled from.
///
/// A small classic-BPF interpreter runs the exported program over every syscall number
/// (0 .. highest known + a margin) for x86_64, i386 and x32, each with argument values that
/// exercise every argument rule, and compares each decision with what the rules
/// (seccomp_rules.hpp) say, evaluated directly from the data. Independently of the rules it
/// also checks the invariants the policy promises: always-denied calls are never allowed,
/// calls outside the allowlist are never allowed (except exit, the tagged launch and the
/// tagged listener hand-off), foreign architectures and x32 are killed, unknown numbers
/// answer ENOSYS. In the spirit of Chromium's sandbox BPF verifier. Every decision is
/// checked; where the program only compares the syscall number with constants, a number
/// between two of them takes the answers of the number before it (same argument cases)
/// without another run, since the program cannot tell them apart. docs/sandbox.md,
/// "Verifying the compiled filter".

#include "airlock/connection/status.hpp"
#include "airlock/host/seccomp_rules.hpp"

#include <linux/filter.h>

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace airlock::host {

/// The input of a seccomp BPF program (the kernel's `struct seccomp_data`).
struct SeccompInput {
    int nr = 0;
    std::uint32_t arch = 0;
    std::uint64_t instruction_pointer = 0;
    std::array<std::uint64_t, 6> args{};
};

/// Runs a classic BPF seccomp program on `input`. Fails (InvalidParameter) on an
/// instruction seccomp would not accept or that reads outside `seccomp_data`.
Result<std::uint32_t> run_seccomp_bpf(std::span<const sock_filter> program, const SeccompInput& input);

/// The seccomp return value a rule action stands for, given how the filter reports
/// violations (`notify`: user notification; else the kernel applies `on_violation`).
std::uint32_t expected_seccomp_action(RuleAction action, ViolationAction on_violation, bool notify);

/// "allow", "kill-process", "errno(EPERM)", "user-notif", ... for reports.
std::string describe_seccomp_action(std::uint32_t action);

/// What a successful verification covered.
struct VerificationReport {
    std::size_t syscall_numbers = 0;  ///< numbers tried per architecture
    std::size_t cases = 0;            ///< decisions checked (numbers x argument cases x arches)
    /// Interpreter runs that gave them: a number in an interval of numbers the program cannot
    /// tell apart (it only compares the number with constants) shares the previous number's
    /// runs when its argument cases are the same.
    std::size_t program_runs = 0;
    std::size_t argument_cases = 0;   ///< argument vectors per syscall number, summed (native)
    /// Decisions seen, per architecture name ("x86_64", "i386", "x32") and action.
    std::map<std::string, std::map<std::string, std::size_t>> decisions;
    double microseconds = 0;          ///< how long the verification took
};

/// Verifies `program` against `rules`. A mismatch fails with SystemError naming the
/// architecture, the syscall (name and number), the arguments and both decisions.
Result<VerificationReport> verify_seccomp_program(std::span<const sock_filter> program, const FilterRules& rules,
                                                  bool notify_violations);

/// The lines `airlock-host check --verify` prints for `report`.
std::string describe_verification(const VerificationReport& report);

} // namespace airlock::host
