// Runs an exported seccomp BPF program in a classic-BPF interpreter over every syscall
// number, architecture and argument rule, and compares each decision with the rules
// (filter_verifier.hpp). Parent side, may allocate.
#include "airlock/host/filter_verifier.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::host {

namespace {

constexpr std::uint32_t x32_syscall_bit = 0x40000000;
// Numbers tried beyond the highest one libseccomp names, so a filter that lets an unknown
// (newer) call through is caught; covers the x32 range (512..547) too.
constexpr int syscall_number_margin = 128;
constexpr std::size_t max_cases_per_syscall = 1 << 14;

Status bad_program(std::size_t pc, std::string_view why) {
    return Status(StatusCode::InvalidParameter,
                  "seccomp BPF instruction " + std::to_string(pc) + ": " + std::string(why));
}

std::uint32_t load_word(const seccomp_data& data, std::uint32_t offset) {
    std::uint32_t word = 0;
    std::memcpy(&word, reinterpret_cast<const char*>(&data) + offset, sizeof word);
    return word;
}

std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

// Argument values that exercise each condition of `rules`: the compared value, each
// masked bit flipped, junk in the upper half, neighbours, and the extremes.
std::vector<std::array<std::uint64_t, 6>> argument_cases(const SyscallRules* rules) {
    std::array<std::set<std::uint64_t>, 6> values;
    bool any = false;
    if (rules != nullptr) {
        for (const auto& rule : rules->rules) {
            for (const auto& condition : rule.conditions) {
                any = true;
                auto& set = values[condition.arg];
                const std::uint64_t datum = condition.datum;
                set.insert({datum, datum + 1, datum - 1, datum ^ (1ULL << 63), datum | 0xffffffff00000000ULL,
                            (datum & 0xffffffffULL) | (1ULL << 32)});
                if (condition.op == ArgCondition::Op::MaskedEq || condition.op == ArgCondition::Op::MaskedNe) {
                    set.insert(datum ^ condition.mask);
                    set.insert(datum | ~condition.mask);
                    if (__builtin_popcountll(condition.mask) <= 16)
                        for (unsigned bit = 0; bit < 64; ++bit)
                            if (condition.mask & (1ULL << bit)) set.insert(datum ^ (1ULL << bit));
                }
            }
        }
    }
    std::vector<std::array<std::uint64_t, 6>> cases{{}};
    cases.push_back({~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL});
    if (!any) return cases;
    for (unsigned arg = 0; arg < 6; ++arg) {
        if (values[arg].empty()) continue;
        values[arg].insert({0, ~0ULL});
        std::vector<std::array<std::uint64_t, 6>> next;
        for (const auto& partial : cases) {
            for (std::uint64_t value : values[arg]) {
                auto extended = partial;
                extended[arg] = value;
                next.push_back(extended);
                if (next.size() > max_cases_per_syscall) break;
            }
        }
        cases = std::move(next);
    }
    return cases;
}

// The architectures every number is tried on, and what the program must answer there.
struct ArchCase {
    const char* name;
    std::uint32_t audit_arch;
    std::uint32_t nr_bits;
    bool native;
};
constexpr ArchCase arch_cases[] = {
    {"x86_64", AUDIT_ARCH_X86_64, 0, true},
    {"i386", AUDIT_ARCH_I386, 0, false},
    {"x32", AUDIT_ARCH_X86_64, x32_syscall_bit, false},
};

std::string describe_args(const std::array<std::uint64_t, 6>& args) {
    std::string text = "(";
    for (unsigned i = 0; i < 6; ++i) text += (i ? ", " : "") + hex(args[i]);
    return text + ")";
}

// Calls that run even when the plugin's policy does not list them: exit, the tagged launch,
// the tagged listener hand-off.
bool runs_outside_the_allowlist(std::string_view name, const std::array<std::uint64_t, 6>& args, ExecTag tag) {
    if (name == "exit" || name == "exit_group") return true;
    if (name == "execveat" || name == "sendmsg" || name == "read") return args[exec_tag_argument_index] == tag;
    return false;
}

// The constants the program compares the syscall number with on architecture `arch`, when
// that is all it does with the number: the number reaches only JEQ/JGT/JGE against a constant
// (a data-flow pass over A, X and the scratch memory; classic BPF only jumps forward; a
// comparison of the architecture word follows only its outcome for `arch`, so on i386 the
// search over numbers is never reached). Then, for given other inputs,
// every number between two consecutive boundaries K and K + 1 takes the same path and gets the
// same answer: between boundaries each comparison has one outcome. nullopt when the number
// could reach anything else (arithmetic, JSET, a comparison with X, a return of A, ...): then
// every number is run on its own.
std::optional<std::set<std::uint32_t>> number_comparisons(std::span<const sock_filter> program, std::uint32_t arch) {
    struct Carries {  // which registers may hold a value derived from the syscall number
        bool reached = false;
        bool a_is_arch = false;  // A holds the architecture word, on every way here
        bool a = false;
        bool x = false;
        std::array<bool, BPF_MEMWORDS> memory{};
    };
    std::vector<Carries> at(program.size());
    if (program.empty()) return std::nullopt;
    at[0].reached = true;
    std::set<std::uint32_t> constants;
    auto flow = [&](std::size_t target, const Carries& carries) {
        if (target >= at.size()) return false;
        Carries& into = at[target];
        into.a_is_arch = into.reached ? into.a_is_arch && carries.a_is_arch : carries.a_is_arch;
        into.reached = true;
        into.a |= carries.a;
        into.x |= carries.x;
        for (std::size_t i = 0; i < into.memory.size(); ++i) into.memory[i] = into.memory[i] || carries.memory[i];
        return true;
    };
    for (std::size_t pc = 0; pc < program.size(); ++pc) {
        if (!at[pc].reached) continue;
        Carries now = at[pc];
        const sock_filter& insn = program[pc];
        const bool was_arch = now.a_is_arch;
        now.a_is_arch = false;  // unless this instruction is a jump (A unchanged) or loads it
        const std::uint32_t k = insn.k;
        const std::uint16_t cls = BPF_CLASS(insn.code);
        if (cls == BPF_RET) {
            if (BPF_RVAL(insn.code) == BPF_A && now.a) return std::nullopt;
            continue;
        }
        if (cls == BPF_JMP) {
            now.a_is_arch = was_arch;
            if (BPF_OP(insn.code) == BPF_JA) {
                if (!flow(pc + 1 + k, now)) return std::nullopt;
                continue;
            }
            if (now.a_is_arch && BPF_SRC(insn.code) == BPF_K && BPF_OP(insn.code) != BPF_JSET) {
                const std::uint16_t op = BPF_OP(insn.code);
                const bool taken = op == BPF_JEQ ? arch == k : op == BPF_JGT ? arch > k : op == BPF_JGE && arch >= k;
                if (!flow(pc + 1 + (taken ? insn.jt : insn.jf), now)) return std::nullopt;
                continue;
            }
            const bool compares_number = now.a || (BPF_SRC(insn.code) == BPF_X && now.x);
            if (compares_number) {
                const std::uint16_t op = BPF_OP(insn.code);
                if (BPF_SRC(insn.code) != BPF_K || (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE)) return std::nullopt;
                constants.insert(k);
            }
            if (!flow(pc + 1 + insn.jt, now) || !flow(pc + 1 + insn.jf, now)) return std::nullopt;
            continue;
        }
        switch (insn.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            now.a = k < sizeof(seccomp_data::nr);
            now.a_is_arch = k == offsetof(seccomp_data, arch);
            break;
        case BPF_LD | BPF_W | BPF_LEN:
        case BPF_LD | BPF_IMM: now.a = false; break;
        case BPF_LDX | BPF_W | BPF_LEN:
        case BPF_LDX | BPF_IMM: now.x = false; break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
            if (k >= BPF_MEMWORDS) return std::nullopt;
            if (insn.code == (BPF_LD | BPF_MEM)) now.a = now.memory[k];
            else if (insn.code == (BPF_LDX | BPF_MEM)) now.x = now.memory[k];
            else if (insn.code == BPF_ST) now.memory[k] = now.a;
            else now.memory[k] = now.x;
            break;
        case BPF_MISC | BPF_TAX: now.x = now.a; break;
        case BPF_MISC | BPF_TXA: now.a = now.x; break;
        default:
            // Arithmetic on a value derived from the number, or an instruction the interpreter
            // refuses anyway.
            if (cls != BPF_ALU || now.a || (BPF_SRC(insn.code) == BPF_X && now.x)) return std::nullopt;
            break;
        }
        if (!flow(pc + 1, now)) return std::nullopt;
    }
    return constants;
}

// Numbers whose answers must be computed afresh: those at which some comparison of the number
// changes its outcome (K and K + 1 for each constant K), or every number.
class NumberIntervals {
public:
    NumberIntervals(std::span<const sock_filter> program, std::uint32_t arch) {
        // Sorted in a vector: asked once per number and architecture, a binary search over
        // contiguous memory costs less than the set's walk.
        if (auto constants = number_comparisons(program, arch))
            constants_.emplace(constants->begin(), constants->end());
    }
    /// Whether the program may answer `value` differently from `value - 1` (other inputs equal).
    [[nodiscard]] bool starts_interval(std::uint32_t value) const {
        if (!constants_) return true;
        return std::binary_search(constants_->begin(), constants_->end(), value) ||
               (value > 0 && std::binary_search(constants_->begin(), constants_->end(), value - 1));
    }

private:
    std::optional<std::vector<std::uint32_t>> constants_;
};

// Decisions counted by raw action: a handful of distinct actions, counted once per case, so a
// short list searched in order instead of a map.
class DecisionCounts {
public:
    void add(std::uint32_t action) {
        for (auto& [known, count] : counts_) {
            if (known == action) {
                ++count;
                return;
            }
        }
        counts_.emplace_back(action, 1);
    }
    [[nodiscard]] const std::vector<std::pair<std::uint32_t, std::size_t>>& counts() const { return counts_; }

private:
    std::vector<std::pair<std::uint32_t, std::size_t>> counts_;
};

// SyscallRules::decide for rules that each compare one argument, the same one under the same
// mask, with a value (prctl's options): at most one value equals the masked argument, so the
// decision is that rule's action (none: ENOSYS) and two rules can only be ambiguous when they
// compare the same value. A binary search instead of trying every rule for every case.
class ValueDecisions {
public:
    explicit ValueDecisions(const SyscallRules* syscall) {
        if (syscall == nullptr || !fill(*syscall)) values_.clear();
    }
    [[nodiscard]] bool applies() const { return !values_.empty(); }
    [[nodiscard]] RuleAction decide(const std::array<std::uint64_t, 6>& args) const {
        const std::uint64_t value = args[arg_] & mask_;
        auto found = std::lower_bound(values_.begin(), values_.end(), value,
                                      [](const auto& entry, std::uint64_t wanted) { return entry.first < wanted; });
        return found != values_.end() && found->first == value ? found->second : RuleAction::Enosys;
    }

private:
    bool fill(const SyscallRules& syscall) {
        if (syscall.rules.size() < 2 || syscall.rules.front().conditions.size() != 1) return false;
        arg_ = syscall.rules.front().conditions.front().arg;
        mask_ = syscall.rules.front().conditions.front().mask;
        for (const auto& rule : syscall.rules) {
            if (rule.conditions.size() != 1) return false;
            const ArgCondition& condition = rule.conditions.front();
            if (condition.op != ArgCondition::Op::MaskedEq || condition.arg != arg_ || condition.mask != mask_)
                return false;
            values_.emplace_back(condition.datum, rule.action);
        }
        std::sort(values_.begin(), values_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t i = 1; i < values_.size(); ++i)
            if (values_[i].first == values_[i - 1].first) return false;  // the general path judges these
        return true;
    }
    unsigned arg_ = 0;
    std::uint64_t mask_ = 0;
    std::vector<std::pair<std::uint64_t, RuleAction>> values_;  // (datum, action), by datum
};

} // namespace

Result<std::uint32_t> run_seccomp_bpf(std::span<const sock_filter> program, const SeccompInput& input) {
    seccomp_data data{};
    data.nr = input.nr;
    data.arch = input.arch;
    data.instruction_pointer = input.instruction_pointer;
    for (unsigned i = 0; i < 6; ++i) data.args[i] = input.args[i];
    std::uint32_t a = 0;
    std::uint32_t x = 0;
    std::uint32_t memory[BPF_MEMWORDS] = {};
    for (std::size_t pc = 0; pc < program.size(); ++pc) {
        const sock_filter& insn = program[pc];
        const std::uint32_t k = insn.k;
        switch (insn.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (k % 4 != 0 || k + 4 > sizeof data) return bad_program(pc, "load outside seccomp_data");
            a = load_word(data, k);
            continue;
        case BPF_LD | BPF_W | BPF_LEN: a = sizeof data; continue;
        case BPF_LDX | BPF_W | BPF_LEN: x = sizeof data; continue;
        case BPF_LD | BPF_IMM: a = k; continue;
        case BPF_LDX | BPF_IMM: x = k; continue;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
            if (k >= BPF_MEMWORDS) return bad_program(pc, "scratch memory index out of range");
            if (insn.code == (BPF_LD | BPF_MEM)) a = memory[k];
            else if (insn.code == (BPF_LDX | BPF_MEM)) x = memory[k];
            else if (insn.code == BPF_ST) memory[k] = a;
            else memory[k] = x;
            continue;
        case BPF_MISC | BPF_TAX: x = a; continue;
        case BPF_MISC | BPF_TXA: a = x; continue;
        case BPF_RET | BPF_K: return k;
        case BPF_RET | BPF_A: return a;
        // The compares of a constant, the most common instructions, without the general path.
        case BPF_JMP | BPF_JEQ | BPF_K:
        case BPF_JMP | BPF_JGE | BPF_K:
        case BPF_JMP | BPF_JGT | BPF_K: {
            const std::uint16_t op = BPF_OP(insn.code);
            const bool taken = op == BPF_JEQ ? a == k : op == BPF_JGE ? a >= k : a > k;
            const std::size_t offset = taken ? insn.jt : insn.jf;
            if (pc + 1 + offset >= program.size()) return bad_program(pc, "jump past the end");
            pc += offset;
            continue;
        }
        default: break;
        }
        const std::uint16_t cls = BPF_CLASS(insn.code);
        if (cls == BPF_ALU) {
            const std::uint32_t operand = BPF_SRC(insn.code) == BPF_X ? x : k;
            switch (BPF_OP(insn.code)) {
            case BPF_ADD: a += operand; break;
            case BPF_SUB: a -= operand; break;
            case BPF_MUL: a *= operand; break;
            case BPF_DIV:
                if (operand == 0) return 0U;  // classic BPF: division by zero ends with 0
                a /= operand;
                break;
            case BPF_MOD:
                if (operand == 0) return 0U;
                a %= operand;
                break;
            case BPF_OR: a |= operand; break;
            case BPF_AND: a &= operand; break;
            case BPF_XOR: a ^= operand; break;
            case BPF_LSH: a = operand >= 32 ? 0 : a << operand; break;
            case BPF_RSH: a = operand >= 32 ? 0 : a >> operand; break;
            case BPF_NEG: a = 0U - a; break;
            default: return bad_program(pc, "unknown ALU operation");
            }
            continue;
        }
        if (cls == BPF_JMP) {
            std::size_t offset = 0;
            if (BPF_OP(insn.code) == BPF_JA) {
                offset = k;
            } else {
                const std::uint32_t operand = BPF_SRC(insn.code) == BPF_X ? x : k;
                bool taken = false;
                switch (BPF_OP(insn.code)) {
                case BPF_JEQ: taken = a == operand; break;
                case BPF_JGT: taken = a > operand; break;
                case BPF_JGE: taken = a >= operand; break;
                case BPF_JSET: taken = (a & operand) != 0; break;
                default: return bad_program(pc, "unknown jump");
                }
                offset = taken ? insn.jt : insn.jf;
            }
            if (pc + 1 + offset >= program.size()) return bad_program(pc, "jump past the end");
            pc += offset;
            continue;
        }
        return bad_program(pc, "instruction code " + hex(insn.code) + " is not allowed in seccomp");
    }
    return Status(StatusCode::InvalidParameter, "seccomp BPF program ends without a return");
}

std::uint32_t expected_seccomp_action(RuleAction action, ViolationAction on_violation, bool notify) {
    const std::uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
    auto violation = [&]() -> std::uint32_t {
        if (notify) return SECCOMP_RET_USER_NOTIF;
        switch (on_violation) {
        case ViolationAction::Kill: return SECCOMP_RET_KILL_PROCESS;
        case ViolationAction::Errno: return eperm;
        case ViolationAction::Log: return SECCOMP_RET_LOG;
        }
        return SECCOMP_RET_KILL_PROCESS;
    };
    switch (action) {
    case RuleAction::Allow: return SECCOMP_RET_ALLOW;
    case RuleAction::Violation: return violation();
    case RuleAction::SandboxDenial:
        // "log" must never let a sandbox-level denial through.
        return !notify && on_violation == ViolationAction::Log ? eperm : violation();
    case RuleAction::RefuseEperm: return eperm;
    case RuleAction::Enosys: return SECCOMP_RET_ERRNO | ENOSYS;
    }
    return SECCOMP_RET_KILL_PROCESS;
}

std::string describe_seccomp_action(std::uint32_t action) {
    const std::uint32_t data = action & SECCOMP_RET_DATA;
    switch (action & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_KILL_PROCESS: return "kill-process";
    case SECCOMP_RET_KILL_THREAD: return "kill-thread";
    case SECCOMP_RET_TRAP: return "trap";
    case SECCOMP_RET_ERRNO: {
        const char* name = strerrorname_np(static_cast<int>(data));
        return std::string("errno(") + (name ? name : std::to_string(data)) + ")";
    }
    case SECCOMP_RET_USER_NOTIF: return "user-notif";
    case SECCOMP_RET_TRACE: return "trace";
    case SECCOMP_RET_LOG: return "log";
    case SECCOMP_RET_ALLOW: return "allow";
    }
    return "unknown(" + hex(action) + ")";
}

Result<VerificationReport> verify_seccomp_program(std::span<const sock_filter> program, const FilterRules& rules,
                                                  bool notify_violations) {
    const auto started = std::chrono::steady_clock::now();
    VerificationReport report;
    const int highest_known = rules.syscalls.empty() ? 0 : rules.syscalls.rbegin()->first;
    const int last = highest_known + syscall_number_margin;
    report.syscall_numbers = static_cast<std::size_t>(last) + 1;
    const std::uint32_t enosys = SECCOMP_RET_ERRNO | ENOSYS;

    // Decisions counted by raw action per architecture (in arch_cases order), named at the end.
    DecisionCounts decisions[std::size(arch_cases)];
    // Within an interval of numbers the program answers alike (NumberIntervals), a number with
    // the same argument cases as the one before gets that one's answers without a run.
    const NumberIntervals intervals[] = {{program, arch_cases[0].audit_arch}, {program, arch_cases[1].audit_arch},
                                         {program, arch_cases[2].audit_arch}};
    static_assert(std::size(arch_cases) == 3);
    struct Answered {
        std::vector<std::array<std::uint64_t, 6>> cases;
        std::vector<std::uint32_t> answers;
    };
    Answered previous[std::size(arch_cases)];
    // The rules are ordered by number: walked alongside the numbers instead of looked up.
    auto next_rules = rules.syscalls.begin();
    for (int nr = 0; nr <= last; ++nr) {
        while (next_rules != rules.syscalls.end() && next_rules->first < nr) ++next_rules;
        const SyscallRules* syscall =
            next_rules != rules.syscalls.end() && next_rules->first == nr ? &next_rules->second : nullptr;
        const std::string_view known_name = syscall ? std::string_view(syscall->name) : std::string_view();
        auto name = [&]() { return syscall ? syscall->name : "#" + std::to_string(nr); };
        auto cases = argument_cases(syscall);
        const ValueDecisions by_value(syscall);
        report.argument_cases += cases.size();
        for (std::size_t arch_index = 0; arch_index < std::size(arch_cases); ++arch_index) {
            const ArchCase& arch = arch_cases[arch_index];
            const std::uint32_t number = static_cast<std::uint32_t>(nr) | arch.nr_bits;
            Answered& answered = previous[arch_index];
            const std::size_t runs = arch.native ? cases.size() : 1;
            const bool reuse = !intervals[arch_index].starts_interval(number) && answered.answers.size() == runs &&
                               std::equal(cases.begin(), cases.begin() + static_cast<std::ptrdiff_t>(runs),
                                          answered.cases.begin());
            if (!reuse) {
                answered.cases.assign(cases.begin(), cases.begin() + static_cast<std::ptrdiff_t>(runs));
                answered.answers.clear();
            }
            for (std::size_t case_index = 0; case_index < runs; ++case_index) {
                const auto& args = cases[case_index];
                if (!reuse) {
                    SeccompInput input{static_cast<int>(number), arch.audit_arch, 0x7f0000001000ULL, args};
                    auto run = run_seccomp_bpf(program, input);
                    if (!run) return run.status();
                    answered.answers.push_back(*run);
                    ++report.program_runs;
                }
                const std::uint32_t* actual = &answered.answers[case_index];
                ++report.cases;
                decisions[arch_index].add(*actual);

                // Foreign architectures and x32: killed, or handed to the host (which names the
                // call and never lets it continue) when violations are notified.
                std::uint32_t expected = notify_violations ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_KILL_PROCESS;
                std::string broken_invariant;
                if (arch.native) {
                    bool ambiguous = false;
                    const RuleAction decision = by_value.applies() ? by_value.decide(args)
                                                : syscall                ? syscall->decide(args, &ambiguous)
                                                                         : RuleAction::Enosys;
                    if (ambiguous)
                        return Status(StatusCode::SystemError, "seccomp rules for " + name() +
                                                                   " are ambiguous for arguments " + describe_args(args));
                    expected = expected_seccomp_action(decision, rules.on_violation, notify_violations);
                    // Invariants of the policy itself, independent of how the rules were built.
                    if (!syscall && *actual != enosys) broken_invariant = "an unknown number must answer ENOSYS";
                    if (*actual == SECCOMP_RET_ALLOW && rules.always_denied.count(nr))
                        broken_invariant = "an always-denied syscall must never be allowed";
                    if (*actual == SECCOMP_RET_ALLOW && syscall && !rules.allowed.count(nr) &&
                        !runs_outside_the_allowlist(known_name, args, rules.tag))
                        broken_invariant = "a syscall outside the allowlist must never be allowed";
                }
                if (*actual != expected || !broken_invariant.empty()) {
                    return Status(StatusCode::SystemError,
                                  "seccomp filter verification failed: " + std::string(arch.name) + " syscall " +
                                      name() + " (" + std::to_string(nr) + ") with arguments " + describe_args(args) +
                                      ": the program says " + describe_seccomp_action(*actual) +
                                      ", the policy says " + describe_seccomp_action(expected) +
                                      (broken_invariant.empty() ? "" : " (" + broken_invariant + ")"));
                }
            }
        }
    }
    for (std::size_t arch_index = 0; arch_index < std::size(arch_cases); ++arch_index)
        for (const auto& [action, count] : decisions[arch_index].counts())
            report.decisions[arch_cases[arch_index].name][describe_seccomp_action(action)] += count;
    report.microseconds =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count();
    return report;
}

std::string describe_verification(const VerificationReport& report) {
    std::ostringstream out;
    for (const auto& [arch, decisions] : report.decisions) {
        out << "  " << arch << ":";
        for (const auto& [decision, count] : decisions) out << " " << decision << " " << count;
        out << "\n";
    }
    out << "  verified: " << report.syscall_numbers << " syscalls x " << report.argument_cases
        << " argument cases (" << report.cases << " decisions on x86_64, i386 and x32 from " << report.program_runs
        << " program runs), 0 mismatches, "
        << static_cast<long>(report.microseconds) << " us\n";
    return out.str();
}

} // namespace airlock::host
