#include "value_readers.hpp"

#include <stdexcept>

#include "units.hpp"

namespace airlock::host::config_detail {

std::uint64_t read_size(const TableReader& table, std::string_view key, std::string_view what) {
    const toml::node& node = *table.find(key);
    try {
        if (const auto* text = node.as_string())
            return parse_size(text->get());
        if (const auto* bytes = node.as_integer())
            return size_from_integer(bytes->get());
    } catch (const std::invalid_argument& problem) {
        table.fail(node, "invalid " + std::string(what) + " in " + table.context() + ": " +
                             problem.what());
    }
    table.fail_type(key, node, "a size such as \"256MiB\" or an integer number of bytes");
}

std::chrono::milliseconds read_duration(const TableReader& table, std::string_view key,
                                        std::string_view what) {
    const auto text = *table.string(key, "a duration such as \"10s\" or \"500ms\"");
    try {
        return parse_duration(text.value);
    } catch (const std::invalid_argument& problem) {
        table.fail(*text.node, "invalid " + std::string(what) + " in " + table.context() + ": " +
                                   problem.what());
    }
}

} // namespace airlock::host::config_detail
