// Writes FilterRules as classic seccomp BPF (seccomp_bpf_builder.hpp). Parent side, may allocate.
#include "airlock/host/seccomp_bpf_builder.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <optional>
#include <string>

namespace airlock::host {

namespace {

constexpr std::uint32_t x32_syscall_bit = 0x40000000;
constexpr std::uint32_t all_ones = 0xffffffffU;

constexpr std::uint32_t nr_offset = offsetof(seccomp_data, nr);
constexpr std::uint32_t arch_offset = offsetof(seccomp_data, arch);
// x86_64 is little-endian: the low half of a 64-bit argument comes first.
std::uint32_t low_half_offset(unsigned arg) { return static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * arg); }

// Instructions with forward labels. A conditional jump reaches 255 instructions; one whose
// target lies further is written as a hop over an unconditional `ja` (branch relaxation at
// finish()), so a program of any length is correct and a short one stays short.
class Assembler {
public:
    using Label = std::size_t;

    Label label() {
        targets_.emplace_back();
        return targets_.size() - 1;
    }
    void bind(Label label) { targets_[label] = items_.size(); }
    void load(std::uint32_t offset) { plain(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
    void and_with(std::uint32_t mask) { plain(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask)); }
    void ret(std::uint32_t action) { plain(BPF_STMT(BPF_RET | BPF_K, action)); }
    void jump(Label target) { items_.push_back({BPF_STMT(BPF_JMP | BPF_JA, 0), Kind::Jump, target, false, false}); }
    // Goes to `target` when (A <op> k) == when; falls through otherwise.
    void jump_if(std::uint16_t op, std::uint32_t k, bool when, Label target) {
        items_.push_back({BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0), Kind::Conditional, target, when, false});
    }

    Result<std::vector<sock_filter>> finish() {
        for (const auto& target : targets_)
            if (!target) return Status(StatusCode::SystemError, "seccomp BPF builder: a label was never placed");
        // Widen the conditional jumps that do not reach until none changes (widening only
        // lengthens distances, so this ends).
        std::vector<std::size_t> at;
        for (bool changed = true; changed;) {
            changed = false;
            at = positions();
            for (std::size_t i = 0; i < items_.size(); ++i) {
                Item& item = items_[i];
                if (item.kind == Kind::Conditional && !item.wide && at[*targets_[item.target]] - at[i] - 1 > 255)
                    item.wide = changed = true;
            }
        }
        if (at.back() > BPF_MAXINSNS)
            return Status(StatusCode::TooLarge, "seccomp: filter has " + std::to_string(at.back()) +
                                                    " instructions, the kernel accepts " + std::to_string(BPF_MAXINSNS));
        std::vector<sock_filter> code;
        code.reserve(at.back());
        for (std::size_t i = 0; i < items_.size(); ++i) {
            sock_filter insn = items_[i].insn;
            const std::size_t target = items_[i].kind == Kind::Plain ? 0 : at[*targets_[items_[i].target]];
            if (items_[i].kind != Kind::Plain && target <= at[i])
                return Status(StatusCode::SystemError, "seccomp BPF builder: a jump without a forward target");
            if (items_[i].kind == Kind::Jump) {
                insn.k = static_cast<std::uint32_t>(target - at[i] - 1);
            } else if (items_[i].kind == Kind::Conditional && !items_[i].wide) {
                const auto distance = static_cast<std::uint8_t>(target - at[i] - 1);
                insn.jt = items_[i].when ? distance : 0;
                insn.jf = items_[i].when ? 0 : distance;
            } else if (items_[i].kind == Kind::Conditional) {
                insn.jt = items_[i].when ? 0 : 1;  // 0: onto the `ja`; 1: over it
                insn.jf = items_[i].when ? 1 : 0;
                code.push_back(insn);
                insn = BPF_STMT(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(target - at[i] - 2));
            }
            code.push_back(insn);
        }
        return code;
    }

private:
    enum class Kind { Plain, Jump, Conditional };
    struct Item {
        sock_filter insn;
        Kind kind;
        Label target;
        bool when;
        bool wide;  // a conditional written as a hop over a `ja`
    };
    void plain(sock_filter insn) { items_.push_back({insn, Kind::Plain, 0, false, false}); }
    // The instruction index of each item, and the program's length last.
    std::vector<std::size_t> positions() const {
        std::vector<std::size_t> at(items_.size() + 1, 0);
        for (std::size_t i = 0; i < items_.size(); ++i) at[i + 1] = at[i] + (items_[i].wide ? 2 : 1);
        return at;
    }
    std::vector<Item> items_;
    std::vector<std::optional<std::size_t>> targets_;
};

// Numbers from `first` up to the next range's first: one decision, or one syscall's rules.
struct Range {
    std::uint32_t first = 0;
    const SyscallRules* conditional = nullptr;  // set: decided by these rules
    std::uint32_t action = 0;                   // otherwise: this
};

// Jumps to `mismatch` unless `value & mask == datum` for one 32-bit half.
void require_half(Assembler& code, std::uint32_t offset, std::uint32_t mask, std::uint32_t datum,
                  Assembler::Label mismatch) {
    if (mask == 0) {
        if (datum != 0) code.jump(mismatch);  // never equal
        return;
    }
    code.load(offset);
    if (mask != all_ones) code.and_with(mask);
    code.jump_if(BPF_JEQ, datum, false, mismatch);
}

void require(Assembler& code, const ArgCondition& condition, Assembler::Label mismatch) {
    const std::uint32_t low = low_half_offset(condition.arg);
    const std::uint32_t high = low + 4;
    const auto high_of = [](std::uint64_t value) { return static_cast<std::uint32_t>(value >> 32); };
    const auto low_of = [](std::uint64_t value) { return static_cast<std::uint32_t>(value); };
    switch (condition.op) {
    case ArgCondition::Op::MaskedEq:
    case ArgCondition::Op::Eq: {
        const std::uint64_t mask = condition.op == ArgCondition::Op::Eq ? ~0ULL : condition.mask;
        require_half(code, high, high_of(mask), high_of(condition.datum), mismatch);
        require_half(code, low, low_of(mask), low_of(condition.datum), mismatch);
        return;
    }
    case ArgCondition::Op::Ne: {
        // Differs when either half differs.
        const Assembler::Label differs = code.label();
        code.load(high);
        code.jump_if(BPF_JEQ, high_of(condition.datum), false, differs);
        code.load(low);
        code.jump_if(BPF_JEQ, low_of(condition.datum), true, mismatch);
        code.bind(differs);
        return;
    }
    }
}

// A syscall's rules in order: the first whose conditions all hold decides; none: ENOSYS.
void write_rules(Assembler& code, const SyscallRules& syscall, const SeccompBpfActions& actions) {
    for (const auto& rule : syscall.rules) {
        const Assembler::Label next = code.label();
        for (const auto& condition : rule.conditions) require(code, condition, next);
        code.ret(actions.of(rule.action));
        code.bind(next);
    }
    code.ret(actions.enosys);
}

// Binary search over ranges[lo, hi): A holds the syscall number.
void write_search(Assembler& code, const std::vector<Range>& ranges, std::size_t lo, std::size_t hi,
                  const SeccompBpfActions& actions) {
    if (hi - lo == 1) {
        if (ranges[lo].conditional) write_rules(code, *ranges[lo].conditional, actions);
        else code.ret(ranges[lo].action);
        return;
    }
    const std::size_t mid = lo + (hi - lo) / 2;
    const Assembler::Label upper = code.label();
    code.jump_if(BPF_JGE, ranges[mid].first, true, upper);
    write_search(code, ranges, lo, mid, actions);
    code.bind(upper);
    write_search(code, ranges, mid, hi, actions);
}

// Ranges covering 0 .. x32_syscall_bit - 1, neighbours with the same plain decision merged.
std::vector<Range> ranges_of(const FilterRules& rules, const SeccompBpfActions& actions) {
    std::vector<Range> ranges{{0, nullptr, actions.enosys}};
    auto add = [&](std::uint32_t first, const SyscallRules* conditional, std::uint32_t action) {
        Range& last = ranges.back();
        if (last.first == first) ranges.pop_back();  // replaced by the syscall at this number
        const Range& previous = ranges.empty() ? Range{} : ranges.back();
        if (!ranges.empty() && !conditional && !previous.conditional && previous.action == action) return;
        ranges.push_back({first, conditional, action});
    };
    for (const auto& [nr, syscall] : rules.syscalls) {
        if (nr < 0 || static_cast<std::uint32_t>(nr) >= x32_syscall_bit) continue;
        const auto number = static_cast<std::uint32_t>(nr);
        if (syscall.rules.empty()) add(number, nullptr, actions.enosys);
        else if (syscall.rules.front().conditions.empty()) add(number, nullptr, actions.of(syscall.rules.front().action));
        else add(number, &syscall, 0);
        add(number + 1, nullptr, actions.enosys);  // until the next entry: unknown numbers
    }
    return ranges;
}

} // namespace

std::uint32_t SeccompBpfActions::of(RuleAction action) const noexcept {
    switch (action) {
    case RuleAction::Allow: return allow;
    case RuleAction::Violation: return violation;
    case RuleAction::SandboxDenial: return sandbox_denial;
    case RuleAction::RefuseEperm: return refuse_eperm;
    case RuleAction::Enosys: return enosys;
    }
    return foreign;
}

Result<std::vector<sock_filter>> build_seccomp_bpf(const FilterRules& rules, const SeccompBpfActions& actions) {
    Assembler code;
    const Assembler::Label foreign = code.label();
    const Assembler::Label native = code.label();
    code.load(arch_offset);
    code.jump_if(BPF_JEQ, AUDIT_ARCH_X86_64, false, foreign);
    code.load(nr_offset);
    code.jump_if(BPF_JGE, x32_syscall_bit, false, native);
    code.jump_if(BPF_JEQ, all_ones, false, foreign);  // x32 (and anything above)
    code.ret(actions.enosys);                         // -1: a call a tracer skipped
    code.bind(native);
    const std::vector<Range> ranges = ranges_of(rules, actions);
    write_search(code, ranges, 0, ranges.size(), actions);
    code.bind(foreign);
    code.ret(actions.foreign);
    return code.finish();
}

} // namespace airlock::host
