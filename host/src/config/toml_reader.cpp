// toml++ is compiled here, once for the whole program (TOML_HEADER_ONLY=0, see
// CMakeLists.txt): every other file includes only its declarations.
#define TOML_IMPLEMENTATION
#include "toml_reader.hpp"

#include <algorithm>

namespace airlock::host::config_detail {
namespace {

bool before(const toml::source_region& a, const toml::source_region& b) {
    if (a.begin.line != b.begin.line)
        return a.begin.line < b.begin.line;
    return a.begin.column < b.begin.column;
}


} // namespace

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

SourceLocation location_of(const LoadContext& load, const toml::source_region& region) {
    // Implicitly created tables have no position; point at the start of the file then.
    if (region.begin.line == 0)
        return {load.file, 1, 1};
    return {load.file, region.begin.line, region.begin.column};
}

void fail_at(const LoadContext& load, const toml::source_region& region, std::string message) {
    throw ConfigError(location_of(load, region), std::move(message));
}

std::string describe_type(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::none: break;
    }
    return "nothing";
}

TableReader::TableReader(const toml::table& table, std::string context, const LoadContext& load)
    : table_(&table), context_(std::move(context)), load_(&load) {}

void TableReader::reject_unknown_keys(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : entries_in_file_order()) {
        if (std::find(allowed.begin(), allowed.end(), key->str()) != allowed.end())
            continue;
        std::string list;
        for (const auto name : allowed)
            list += (list.empty() ? "" : ", ") + std::string(name);
        fail_at(*load_, key->source(),
                "unknown key " + in_quotes(key->str()) + " in " + context_ + "; allowed keys: " + list);
    }
}

const toml::node* TableReader::find(std::string_view key) const { return table_->get(key); }

const toml::key& TableReader::key_of(std::string_view key) const {
    auto it = table_->find(key);
    return it->first;
}

std::optional<LocatedString> TableReader::string(std::string_view key, std::string_view expected) const {
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    const auto* value = node->as_string();
    if (value == nullptr)
        fail_type(key, *node, expected);
    reject_nul(*this, *node, value->get(), in_quotes(key));
    return LocatedString{value->get(), node};
}

std::optional<bool> TableReader::boolean(std::string_view key, std::string_view expected) const {
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    const auto* value = node->as_boolean();
    if (value == nullptr)
        fail_type(key, *node, expected);
    return value->get();
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::string_view expected) const {
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    const auto* value = node->as_integer();
    if (value == nullptr)
        fail_type(key, *node, expected);
    return value->get();
}

std::optional<std::vector<LocatedString>> TableReader::string_array(std::string_view key,
                                                                    std::string_view expected) const {
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    const auto* array = node->as_array();
    if (array == nullptr)
        fail_type(key, *node, expected);
    std::vector<LocatedString> result;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* value = element.as_string();
        if (value == nullptr)
            fail(element, "element " + std::to_string(i + 1) + " of " + in_quotes(key) + " in " +
                              context_ + " must be a string, not " + describe_type(element) +
                              "; " + in_quotes(key) + " is " + std::string(expected));
        reject_nul(*this, element, value->get(), in_quotes(key));
        result.push_back({value->get(), &element});
    }
    return result;
}

std::optional<TableReader> TableReader::table(std::string_view key, std::string context,
                                              std::string_view expected) const {
    const toml::node* node = find(key);
    if (node == nullptr)
        return std::nullopt;
    const auto* table = node->as_table();
    if (table == nullptr)
        fail_type(key, *node, expected);
    return TableReader(*table, std::move(context), *load_);
}

void TableReader::fail(const toml::node& node, std::string message) const {
    fail_at(*load_, node.source(), std::move(message));
}

void TableReader::fail_key(std::string_view key, std::string message) const {
    fail_at(*load_, key_of(key).source(), std::move(message));
}

void TableReader::fail_type(std::string_view key, const toml::node& node, std::string_view expected) const {
    fail(node, in_quotes(key) + " in " + context_ + " must be " + std::string(expected) + ", not " +
                   describe_type(node));
}

std::vector<std::pair<const toml::key*, const toml::node*>> TableReader::entries_in_file_order() const {
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [key, node] : *table_)
        entries.emplace_back(&key, &node);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return before(a.first->source(), b.first->source());
    });
    return entries;
}

void reject_nul(const TableReader& reader, const toml::node& node, std::string_view text,
                std::string_view what) {
    if (text.find('\0') != std::string_view::npos)
        reader.fail(node, std::string(what) + " in " + reader.context() +
                              " contains a NUL character; strings passed to the kernel cannot "
                              "contain NUL");
}

bool is_valid_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

} // namespace airlock::host::config_detail
