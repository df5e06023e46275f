// Writes FilterRules as classic seccomp BPF (seccomp_bpf_builder.hpp). Parent side, may allocate.
#include "airlock/host/seccomp_bpf_builder.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <tuple>

namespace airlock::host {

namespace {

constexpr std::uint32_t x32_syscall_bit = 0x40000000;
constexpr std::uint32_t all_ones = 0xffffffffU;

constexpr std::uint32_t nr_offset = offsetof(seccomp_data, nr);
constexpr std::uint32_t arch_offset = offsetof(seccomp_data, arch);
// x86_64 is little-endian: the low half of a 64-bit argument comes first.
std::uint32_t low_half_offset(unsigned arg) { return static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * arg); }

// Instructions with forward labels. A conditional jump names a label for each outcome; one
// whose target lies further than the 255 instructions a conditional jump reaches goes
// through an unconditional `ja` placed right after it (branch relaxation at finish()), so a
// program of any length is correct and a short one stays short. A `ja` to the very next
// instruction is left out.
//
// The assembler also remembers what the accumulator holds (which seccomp_data word, and under
// which mask), joined over every jump into a label, so a load of the word already there is
// left out: a syscall's argument rules mostly compare the same word again and again.
class Assembler {
public:
    using Label = std::size_t;

    Label label() {
        labels_.emplace_back();
        return labels_.size() - 1;
    }
    void bind(Label label) {
        LabelInfo& info = labels_[label];
        info.at = items_.size();
        // What A holds here: the same on every way in, or unknown.
        std::optional<Accumulator> state = reachable_ ? std::optional<Accumulator>(a_) : std::nullopt;
        if (info.reached) state = state ? (*state == info.incoming ? state : Accumulator{}) : info.incoming;
        a_ = state.value_or(Accumulator{});
        reachable_ = reachable_ || info.reached;
    }
    // A = the word at `offset` & `mask`, loading and masking only what A does not hold yet.
    void load(std::uint32_t offset, std::uint32_t mask = all_ones) {
        if (a_.known && a_.offset == offset && a_.mask == mask) return;
        if (!(a_.known && a_.offset == offset && a_.mask == all_ones))
            plain(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset));
        if (mask != all_ones) plain(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask));
        a_ = {true, offset, mask};
    }
    void ret(std::uint32_t action) {
        plain(BPF_STMT(BPF_RET | BPF_K, action));
        reachable_ = false;
    }
    void jump(Label target) {
        arrive(target);
        items_.push_back({BPF_STMT(BPF_JMP | BPF_JA, 0), Kind::Jump, target, target});
        reachable_ = false;
    }
    // Goes to `if_true` when (A <op> k), to `if_false` otherwise.
    void branch(std::uint16_t op, std::uint32_t k, Label if_true, Label if_false) {
        arrive(if_true);
        arrive(if_false);
        items_.push_back({BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0), Kind::Branch, if_true, if_false});
        reachable_ = false;
    }

    Result<std::vector<sock_filter>> finish();

private:
    enum class Kind { Plain, Jump, Branch };
    struct Item {
        sock_filter insn;
        Kind kind;
        Label if_true;   // Jump: the target
        Label if_false;
        bool far_true = false;   // Branch: goes to `if_true` through a `ja` after it
        bool far_false = false;  // Branch: goes to `if_false` through a `ja` after it
    };
    struct Accumulator {
        bool known = false;
        std::uint32_t offset = 0;
        std::uint32_t mask = all_ones;
        bool operator==(const Accumulator& other) const {
            return known == other.known && (!known || (offset == other.offset && mask == other.mask));
        }
    };
    struct LabelInfo {
        std::optional<std::size_t> at;  // item index the label stands before
        bool reached = false;           // some jump goes here
        Accumulator incoming;           // what A holds on every jump here (unknown if they differ)
    };

    void plain(sock_filter insn) {
        items_.push_back({insn, Kind::Plain, 0, 0});
        reachable_ = true;
    }
    void arrive(Label target) {
        LabelInfo& info = labels_[target];
        info.incoming = !info.reached || info.incoming == a_ ? a_ : Accumulator{};
        info.reached = true;
    }
    // How many instructions item i takes.
    std::size_t width(std::size_t i) const {
        const Item& item = items_[i];
        if (item.kind == Kind::Jump) return *labels_[item.if_true].at == i + 1 ? 0 : 1;
        return 1 + (item.far_true ? 1 : 0) + (item.far_false ? 1 : 0);
    }
    // The instruction index of each item, and the program's length last.
    std::vector<std::size_t> positions() const {
        std::vector<std::size_t> at(items_.size() + 1, 0);
        for (std::size_t i = 0; i < items_.size(); ++i) at[i + 1] = at[i] + width(i);
        return at;
    }

    std::vector<Item> items_;
    std::vector<LabelInfo> labels_;
    Accumulator a_;
    bool reachable_ = true;
};

Result<std::vector<sock_filter>> Assembler::finish() {
    for (const auto& info : labels_)
        if (info.reached && !info.at) return Status(StatusCode::SystemError, "seccomp BPF builder: a label was never placed");
    // Widen the branches whose targets a conditional jump does not reach until none changes
    // (widening only lengthens distances, so this ends).
    std::vector<std::size_t> at;
    auto target_of = [&](Label label) { return at[*labels_[label].at]; };
    for (bool changed = true; changed;) {
        changed = false;
        at = positions();
        for (std::size_t i = 0; i < items_.size(); ++i) {
            Item& item = items_[i];
            if (item.kind != Kind::Branch) continue;
            // Distance from the instruction after the branch and its `ja`s.
            const std::size_t after = at[i] + 1;
            if (!item.far_true && target_of(item.if_true) - after > 255) item.far_true = changed = true;
            if (!item.far_false && target_of(item.if_false) - after > 255) item.far_false = changed = true;
        }
    }
    if (at.back() > BPF_MAXINSNS)
        return Status(StatusCode::TooLarge, "seccomp: filter has " + std::to_string(at.back()) +
                                                " instructions, the kernel accepts " + std::to_string(BPF_MAXINSNS));
    std::vector<sock_filter> code;
    code.reserve(at.back());
    for (std::size_t i = 0; i < items_.size(); ++i) {
        const Item& item = items_[i];
        if (item.kind == Kind::Plain) {
            code.push_back(item.insn);
            continue;
        }
        if (width(i) == 0) continue;  // a `ja` to the next instruction
        const std::size_t first_target = target_of(item.if_true);
        const std::size_t second_target = target_of(item.if_false);
        if (first_target <= at[i] || second_target <= at[i])
            return Status(StatusCode::SystemError, "seccomp BPF builder: a jump without a forward target");
        if (item.kind == Kind::Jump) {
            code.push_back(BPF_STMT(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(first_target - at[i] - 1)));
            continue;
        }
        // The branch, then a `ja` for each far target: [branch][ja if_true?][ja if_false?].
        const std::size_t end = at[i + 1];
        sock_filter insn = item.insn;
        std::size_t hop = at[i] + 1;
        auto offset_to = [&](std::size_t target, bool far) {
            if (!far) return static_cast<std::uint8_t>(target - at[i] - 1);
            return static_cast<std::uint8_t>(hop++ - at[i] - 1);
        };
        insn.jt = offset_to(first_target, item.far_true);
        insn.jf = offset_to(second_target, item.far_false);
        code.push_back(insn);
        if (item.far_true) code.push_back(BPF_STMT(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(first_target - code.size() - 1)));
        if (item.far_false) code.push_back(BPF_STMT(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(second_target - code.size() - 1)));
        if (code.size() != end) return Status(StatusCode::SystemError, "seccomp BPF builder: a branch of the wrong width");
    }
    return code;
}


using Label = Assembler::Label;

// Goes to `equal` when `word & mask == datum` for one 32-bit half, to `differs` otherwise.
void test_half(Assembler& code, std::uint32_t offset, std::uint32_t mask, std::uint32_t datum, Label equal,
               Label differs) {
    if (mask == 0) {
        code.jump(datum == 0 ? equal : differs);  // nothing to compare
        return;
    }
    code.load(offset, mask);
    code.branch(BPF_JEQ, datum, equal, differs);
}

// Goes to `holds` when `condition` holds for the call's arguments, to `fails` otherwise.
void test(Assembler& code, const ArgCondition& condition, Label holds, Label fails) {
    const std::uint32_t low = low_half_offset(condition.arg);
    const std::uint32_t high = low + 4;
    const auto high_of = [](std::uint64_t value) { return static_cast<std::uint32_t>(value >> 32); };
    const auto low_of = [](std::uint64_t value) { return static_cast<std::uint32_t>(value); };
    const Label low_half = code.label();
    switch (condition.op) {
    case ArgCondition::Op::MaskedEq:
    case ArgCondition::Op::Eq: {
        // Both halves equal (an `int` argument's high half has mask 0: nothing to compare).
        const std::uint64_t mask = condition.op == ArgCondition::Op::Eq ? ~0ULL : condition.mask;
        test_half(code, high, high_of(mask), high_of(condition.datum), low_half, fails);
        code.bind(low_half);
        test_half(code, low, low_of(mask), low_of(condition.datum), holds, fails);
        return;
    }
    case ArgCondition::Op::MaskedNe:
        // Either masked half differs (an `int` argument's high half has mask 0: equal).
        test_half(code, high, high_of(condition.mask), high_of(condition.datum), low_half, holds);
        code.bind(low_half);
        test_half(code, low, low_of(condition.mask), low_of(condition.datum), fails, holds);
        return;
    case ArgCondition::Op::Ne:
        // Either half differs.
        code.load(high);
        code.branch(BPF_JEQ, high_of(condition.datum), low_half, holds);
        code.bind(low_half);
        code.load(low);
        code.branch(BPF_JEQ, low_of(condition.datum), fails, holds);
        return;
    }
}

// Rules that each compare one `int` argument (the same one) with a different value, prctl's
// options: the index of that argument, or nullopt for any other shape.
std::optional<unsigned> int_value_switch(const std::vector<ArgRule>& rules) {
    if (rules.size() < 2) return std::nullopt;
    const unsigned arg = rules.front().conditions.empty() ? 0 : rules.front().conditions.front().arg;
    std::vector<std::uint64_t> values;
    for (const auto& rule : rules) {
        if (rule.conditions.size() != 1) return std::nullopt;
        const ArgCondition& condition = rule.conditions.front();
        if (condition.arg != arg || condition.op != ArgCondition::Op::MaskedEq || condition.mask != all_ones ||
            condition.datum > all_ones)
            return std::nullopt;
        values.push_back(condition.datum);
    }
    std::sort(values.begin(), values.end());
    if (std::adjacent_find(values.begin(), values.end()) != values.end()) return std::nullopt;
    return arg;
}

// A binary search over ranges of the argument's low half instead of one comparison per rule:
// consecutive values with the same action are one range, the values between rules ENOSYS.
// Every call of the syscall then makes a handful of comparisons instead of up to one per rule.
template <typename ReturnOf>
void write_value_search(Assembler& code, const std::vector<ArgRule>& rules, unsigned arg,
                        const SeccompBpfActions& actions, ReturnOf&& return_of) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> values;  // (value, action)
    for (const auto& rule : rules)
        values.emplace_back(static_cast<std::uint32_t>(rule.conditions.front().datum), actions.of(rule.action));
    std::sort(values.begin(), values.end());
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges{{0, actions.enosys}};  // (first value, action)
    auto add = [&](std::uint32_t first, std::uint32_t action) {
        if (ranges.back().first == first) ranges.pop_back();
        if (!ranges.empty() && ranges.back().second == action) return;
        ranges.emplace_back(first, action);
    };
    for (const auto& [value, action] : values) {
        add(value, action);
        if (value != all_ones) add(value + 1, actions.enosys);
    }
    code.load(low_half_offset(arg));
    // Over ranges[lo, hi) from `entry`; A holds the argument's low half throughout.
    auto search = [&](auto& self, std::size_t lo, std::size_t hi, Label entry) -> void {
        if (hi - lo == 1) return;
        code.bind(entry);
        const std::size_t mid = lo + (hi - lo) / 2;
        const Label lower = mid - lo == 1 ? return_of(ranges[lo].second) : code.label();
        const Label upper = hi - mid == 1 ? return_of(ranges[mid].second) : code.label();
        code.branch(BPF_JGE, ranges[mid].first, upper, lower);
        self(self, lo, mid, lower);
        self(self, mid, hi, upper);
    };
    if (ranges.size() == 1) {
        code.jump(return_of(ranges.front().second));
        return;
    }
    search(search, 0, ranges.size(), code.label());
}

// A syscall's rules in order: the first whose conditions all hold decides; none: ENOSYS.
// Each rule's last comparison jumps straight to the return of its action; the returns
// follow the rules.
void write_rules(Assembler& code, const std::vector<ArgRule>& rules, const SeccompBpfActions& actions) {
    std::map<std::uint32_t, Label> returns;
    auto return_of = [&](std::uint32_t action) {
        auto found = returns.find(action);
        return found != returns.end() ? found->second : returns.emplace(action, code.label()).first->second;
    };
    if (auto arg = int_value_switch(rules)) {
        write_value_search(code, rules, *arg, actions, return_of);
        for (const auto& [action, label] : returns) {
            code.bind(label);
            code.ret(action);
        }
        return;
    }
    bool unmatched = true;  // arguments no rule matched reach the end
    for (const auto& rule : rules) {
        const Label decided = return_of(actions.of(rule.action));
        if (rule.conditions.empty()) {
            code.jump(decided);  // every later rule is unreachable
            unmatched = false;
            break;
        }
        const Label next = code.label();
        for (std::size_t i = 0; i < rule.conditions.size(); ++i) {
            const bool last = i + 1 == rule.conditions.size();
            const Label holds = last ? decided : code.label();
            test(code, rule.conditions[i], holds, next);
            if (!last) code.bind(holds);
        }
        code.bind(next);
    }
    if (unmatched) {
        const Label none = return_of(actions.enosys);
        code.bind(none);
        code.ret(actions.enosys);
        returns.erase(actions.enosys);
    }
    for (const auto& [action, label] : returns) {
        code.bind(label);
        code.ret(action);
    }
}

// What a syscall's rules compile to, without the words of the reports: syscalls with equal
// keys share one block of instructions (e.g. the sixteen calls allowed only on pid 0).
using RulesKey = std::vector<std::uint64_t>;
RulesKey key_of(const std::vector<ArgRule>& rules) {
    RulesKey key;
    for (const auto& rule : rules) {
        key.push_back(static_cast<std::uint64_t>(rule.action));
        key.push_back(rule.conditions.size());
        for (const auto& condition : rule.conditions)
            key.insert(key.end(), {condition.arg, static_cast<std::uint64_t>(condition.op), condition.mask,
                                   condition.datum});
    }
    return key;
}

// Numbers from `first` up to the next range's first: one decision, or one block of rules.
struct Range {
    std::uint32_t first = 0;
    std::size_t block = 0;     // > 0: decided by block number `block` (1-based)
    std::uint32_t action = 0;  // otherwise: this
    bool same_decision(const Range& other) const { return block == other.block && (block || action == other.action); }
};

// The whole program: architecture checks, a binary search over ranges of numbers, the
// search's returns, then each distinct block of argument rules once.
class ProgramWriter {
public:
    explicit ProgramWriter(const SeccompBpfActions& actions) : actions_(actions) {}

    Result<std::vector<sock_filter>> write(const FilterRules& rules) {
        collect(rules);
        const Label native = code_.label();
        const Label above = code_.label();  // x32, and numbers with the x32 bit or higher
        code_.load(arch_offset);
        code_.branch(BPF_JEQ, AUDIT_ARCH_X86_64, native, return_of(actions_.foreign));
        code_.bind(native);
        code_.load(nr_offset);
        const Label search = entry_of(0, ranges_.size());
        code_.branch(BPF_JGE, x32_syscall_bit, above, search);
        write_search(0, ranges_.size(), search);
        code_.bind(above);
        code_.load(nr_offset);  // (still in A)
        // -1: a call a tracer skipped; anything else up here is x32 or not x86_64's.
        code_.branch(BPF_JEQ, all_ones, return_of(actions_.enosys), return_of(actions_.foreign));
        for (const auto& [action, label] : returns_) {
            code_.bind(label);
            code_.ret(action);
        }
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
            code_.bind(block_labels_[i]);
            write_rules(code_, *blocks_[i], actions_);
        }
        return code_.finish();
    }

private:
    // Ranges covering 0 .. x32_syscall_bit - 1 (neighbours with the same decision merged), and
    // the distinct blocks of argument rules.
    void collect(const FilterRules& rules) {
        std::map<RulesKey, std::size_t> block_of;
        ranges_ = {{0, 0, actions_.enosys}};
        auto add = [&](Range range) {
            if (ranges_.back().first == range.first) ranges_.pop_back();  // replaced by the syscall at this number
            if (!ranges_.empty() && ranges_.back().same_decision(range)) return;
            ranges_.push_back(range);
        };
        for (const auto& [nr, syscall] : rules.syscalls) {
            if (nr < 0 || static_cast<std::uint32_t>(nr) >= x32_syscall_bit) continue;
            const auto number = static_cast<std::uint32_t>(nr);
            if (syscall.rules.empty()) {
                add({number, 0, actions_.enosys});
            } else if (syscall.rules.front().conditions.empty()) {
                add({number, 0, actions_.of(syscall.rules.front().action)});
            } else {
                auto [found, added] = block_of.emplace(key_of(syscall.rules), blocks_.size() + 1);
                if (added) {
                    blocks_.push_back(&syscall.rules);
                    block_labels_.push_back(code_.label());
                }
                add({number, found->second, 0});
            }
            add({number + 1, 0, actions_.enosys});  // until the next entry: unknown numbers
        }
    }

    Label return_of(std::uint32_t action) {
        auto found = returns_.find(action);
        return found != returns_.end() ? found->second : returns_.emplace(action, code_.label()).first->second;
    }
    Label target_of(const Range& range) { return range.block ? block_labels_[range.block - 1] : return_of(range.action); }
    // Where the search over ranges[lo, hi) starts: a decision's label for one range.
    Label entry_of(std::size_t lo, std::size_t hi) { return hi - lo == 1 ? target_of(ranges_[lo]) : code_.label(); }

    // Binary search over ranges[lo, hi) from `entry`; A holds the syscall number.
    void write_search(std::size_t lo, std::size_t hi, Label entry) {
        if (hi - lo == 1) return;  // a decision: the jump here went straight to it
        code_.bind(entry);
        const std::size_t mid = lo + (hi - lo) / 2;
        const Label lower = entry_of(lo, mid);
        const Label upper = entry_of(mid, hi);
        code_.load(nr_offset);  // (already in A: nothing is written)
        code_.branch(BPF_JGE, ranges_[mid].first, upper, lower);
        write_search(lo, mid, lower);
        write_search(mid, hi, upper);
    }

    const SeccompBpfActions& actions_;
    Assembler code_;
    std::vector<Range> ranges_;
    std::vector<const std::vector<ArgRule>*> blocks_;
    std::vector<Label> block_labels_;
    std::map<std::uint32_t, Label> returns_;
};

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
    return ProgramWriter(actions).write(rules);
}

} // namespace airlock::host
