#pragma once
/// @file seccomp_bpf_builder.hpp
/// Writes a plugin's seccomp rules (seccomp_rules.hpp) as a classic BPF program, directly.
///
/// libseccomp's rule database and BPF generator took about 4 ms of CPU per compile (most of
/// an `airlock-host exec`); the rules here are already plain data, so the program is written
/// from them in one pass. The layout: the architecture check, the x32 check, a binary search
/// over ranges of syscall numbers with the same decision (its comparisons jump straight to a
/// shared `ret` or to a block of argument rules), the search's returns, then each distinct
/// block of argument rules once (syscalls with the same rules share one), each followed by
/// its returns. Every child loads this program and the kernel's cost grows with its length,
/// so nothing is written twice and a word already in A is not loaded again. The filter
/// verifier (filter_verifier.hpp) checks every decision of the result before any plugin runs
/// under it. docs/sandbox.md, "The seccomp filter" and "The program's shape".

#include "airlock/connection/status.hpp"
#include "airlock/host/seccomp_rules.hpp"

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace airlock::host {

/// The seccomp return value of each rule action, and of a call from another architecture
/// or the x32 ABI.
struct SeccompBpfActions {
    std::uint32_t allow = 0;
    std::uint32_t violation = 0;
    std::uint32_t sandbox_denial = 0;
    std::uint32_t refuse_eperm = 0;
    std::uint32_t enosys = 0;
    std::uint32_t foreign = 0;

    [[nodiscard]] std::uint32_t of(RuleAction action) const noexcept;
};

/// The BPF program for `rules` on x86_64: native calls by the rules (numbers without an entry,
/// and arguments no rule matches, answer `actions.enosys`), other architectures and x32
/// `actions.foreign`, syscall number -1 (a call a tracer skipped) `actions.enosys`.
/// Fails with TooLarge beyond BPF_MAXINSNS instructions.
Result<std::vector<sock_filter>> build_seccomp_bpf(const FilterRules& rules, const SeccompBpfActions& actions);

} // namespace airlock::host
