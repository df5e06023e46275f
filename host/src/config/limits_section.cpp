// [plugin.NAME.limits]: rlimits, with sizes and durations as users write them. The values
// are checked by PluginSpec::build(); this reads their TOML types.
#include "sections.hpp"

namespace airlock::host::config_detail {
namespace {

constexpr std::string_view kSizeExpected = "a size such as \"256MiB\" or an integer number of bytes";
constexpr std::string_view kDurationExpected = "a duration such as \"10s\" or \"500ms\"";

using SizeText = PluginSpec& (PluginSpec::*)(std::string_view);
using SizeBytes = PluginSpec& (PluginSpec::*)(std::int64_t);

void read_size(const TableReader& table, std::string_view key, PluginSpec& spec, SizeText text, SizeBytes bytes) {
    const toml::node& node = *table.find(key);
    if (const auto* value = node.as_string()) {
        reject_nul(table, node, value->get(), in_quotes(key));
        (spec.*text)(value->get());
    } else if (const auto* integer = node.as_integer()) {
        (spec.*bytes)(integer->get());
    } else {
        table.fail_type(key, node, kSizeExpected);
    }
}

} // namespace

void parse_limits(const TableReader& table, PluginSpec& spec) {
    table.reject_unknown_keys(
        {"memory", "cpu", "open_files", "processes", "file_size", "tasks", "cpu_quota", "wall"});
    for (const auto& [key, node] : table.entries_in_file_order())
        spec.locate("limits." + std::string(key->str()), location_of(table.load(), node->source()));
    auto count = [&](std::string_view key, std::string_view meaning, PluginSpec& (PluginSpec::*set)(std::int64_t)) {
        if (table.find(key))
            (spec.*set)(*table.integer(key, "a positive integer (" + std::string(meaning) + ")"));
    };
    auto text = [&](std::string_view key, std::string_view expected, SizeText set) {
        if (table.find(key))
            (spec.*set)(table.string(key, expected)->value);
    };
    if (table.find("memory"))
        read_size(table, "memory", spec, &PluginSpec::memory, &PluginSpec::memory);
    text("cpu", kDurationExpected, &PluginSpec::cpu);
    count("open_files", "the highest descriptor count", &PluginSpec::open_files);
    count("processes", "1 allows threads but no child processes", &PluginSpec::processes);
    if (table.find("file_size"))
        read_size(table, "file_size", spec, &PluginSpec::file_size, &PluginSpec::file_size);
    count("tasks", "threads and processes together", &PluginSpec::tasks);
    text("cpu_quota", "a percentage of one CPU such as \"50%\"", &PluginSpec::cpu_quota);
    text("wall", kDurationExpected, &PluginSpec::wall);
}

} // namespace airlock::host::config_detail
