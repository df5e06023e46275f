// [plugin.NAME.limits]: rlimits, with sizes and durations as users write them.
#include "sections.hpp"
#include "value_readers.hpp"

namespace airlock::host::config_detail {
namespace {

// 100 CPUs: beyond any machine this runs on, and small enough for cfs_quota_us.
constexpr std::uint32_t kMaxCpuQuotaPercent = 10000;

std::uint64_t read_count(const TableReader& table, std::string_view key, std::string_view meaning) {
    const auto value = *table.integer(key, "a positive integer (" + std::string(meaning) + ")");
    if (value < 1)
        table.fail(*table.find(key), "invalid " + std::string(key) + " limit " +
                                         std::to_string(value) + " in " + table.context() +
                                         "; it must be at least 1 (" + std::string(meaning) + ")");
    return static_cast<std::uint64_t>(value);
}

std::uint64_t read_cpu_seconds(const TableReader& table) {
    const std::chrono::milliseconds duration = read_duration(table, "cpu", "cpu limit");
    if (duration.count() % 1000 != 0) {
        const toml::node& node = *table.find("cpu");
        table.fail(node, "invalid cpu limit \"" + node.value_or(std::string()) + "\" in " +
                             table.context() + ": RLIMIT_CPU counts whole seconds; write a whole "
                             "number of seconds, minutes or hours, e.g. \"10s\"");
    }
    return static_cast<std::uint64_t>(duration.count() / 1000);
}

// "50%": CPU time per wall time in percent of one CPU ("150%" = one and a half CPUs).
std::uint32_t read_cpu_quota(const TableReader& table) {
    const auto text = *table.string("cpu_quota", "a percentage of one CPU such as \"50%\"");
    const std::string& value = text.value;
    std::uint32_t percent = 0;
    bool valid = value.size() >= 2 && value.size() <= 6 && value.back() == '%';
    for (std::size_t i = 0; valid && i + 1 < value.size(); ++i) {
        valid = value[i] >= '0' && value[i] <= '9';
        percent = percent * 10 + static_cast<std::uint32_t>(value[i] - '0');
    }
    if (!valid || percent < 1 || percent > kMaxCpuQuotaPercent)
        table.fail(*text.node, "invalid cpu_quota " + in_quotes(value) + " in " + table.context() +
                                   "; write a whole percentage of one CPU from \"1%\" to \"" +
                                   std::to_string(kMaxCpuQuotaPercent) + "%\", e.g. \"50%\" (half a CPU)");
    return percent;
}

} // namespace

Limits parse_limits(const TableReader& table) {
    table.reject_unknown_keys(
        {"memory", "cpu", "open_files", "processes", "file_size", "tasks", "cpu_quota", "wall"});
    Limits limits;
    if (table.find("memory"))
        limits.memory_bytes = read_size(table, "memory", "memory limit");
    if (table.find("cpu"))
        limits.cpu_seconds = read_cpu_seconds(table);
    if (table.find("open_files"))
        limits.open_files = read_count(table, "open_files", "the highest descriptor count");
    if (table.find("processes"))
        limits.processes = read_count(table, "processes", "1 allows threads but no child processes");
    if (table.find("file_size"))
        limits.file_size_bytes = read_size(table, "file_size", "file_size limit");
    if (table.find("tasks"))
        limits.tasks = read_count(table, "tasks", "threads and processes together");
    if (table.find("cpu_quota"))
        limits.cpu_quota_percent = read_cpu_quota(table);
    if (table.find("wall"))
        limits.wall = read_duration(table, "wall", "wall-clock limit");
    return limits;
}

} // namespace airlock::host::config_detail
