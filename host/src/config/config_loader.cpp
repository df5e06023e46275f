// Entry points: read the file, parse TOML, walk the top-level tables in file order.
#include "airlock/host/config_loader.hpp"

#include <airlock/host/no_follow_open.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "sections.hpp"
#include "toml_reader.hpp"

namespace airlock::host {
namespace {

using namespace config_detail;

// True if `line`:`column` (1-based) is at or past the end of that line of `text`.
bool at_end_of_line(std::string_view text, std::uint32_t line, std::uint32_t column) {
    std::size_t begin = 0;
    for (std::uint32_t current = 1; current < line; ++current) {
        begin = text.find('\n', begin);
        if (begin == std::string_view::npos)
            return false;
        ++begin;
    }
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    return begin + column - 1 >= end;
}

// Line `line` (1-based) of `text`, without surrounding blanks and any trailing comment.
std::string line_text(std::string_view text, std::uint32_t line) {
    std::size_t begin = 0;
    for (std::uint32_t current = 1; current < line && begin != std::string_view::npos; ++current) {
        begin = text.find('\n', begin);
        if (begin != std::string_view::npos) ++begin;
    }
    if (begin == std::string_view::npos) return {};
    std::string_view rest = text.substr(begin, text.find('\n', begin) - begin);
    if (const auto close = rest.rfind(']'); close != std::string_view::npos) rest = rest.substr(0, close + 1);
    const auto first = rest.find_first_not_of(" \t");
    return first == std::string_view::npos ? std::string() : std::string(rest.substr(first));
}

toml::table parse_toml(std::string_view text, const LoadContext& load) {
    try {
        return toml::parse(text, std::string_view(load.file));
    } catch (const toml::parse_error& error) {
        std::string description(error.description());
        // toml++ reports a missing closing quote as the newline being a control character.
        if (description.find("unescaped control characters") != std::string::npos &&
            at_end_of_line(text, error.source().begin.line, error.source().begin.column))
            description = "string not closed before the end of the line; end it with a quote "
                          "(multi-line strings use \"\"\" or \'\'\')";
        // toml++ garbles a quoted key in this message ('plugin."wowordfreq"' for
        // [plugin."wordfreq"]): name the table as the file writes it, from the line itself.
        if (description.find("cannot redefine existing table") != std::string::npos) {
            if (std::string header = line_text(text, error.source().begin.line); header.starts_with("["))
                description = "table " + header + " is defined twice; merge the two into one";
        }
        fail_at(load, error.source(),
                "invalid TOML: " + description + "; see https://toml.io for the syntax");
    }
}

void parse_plugins(const TableReader& root, const SandboxSettings& host_sandbox, HostConfig& config) {
    const toml::node* plugins_node = root.find("plugin");
    if (plugins_node == nullptr)
        throw ConfigError({root.load().file, 1, 1},
                          "no plugin is configured; add at least one [plugin.NAME] table with "
                          "an exec key");
    const auto plugins = root.table("plugin", "[plugin]", "a table of plugins ([plugin.NAME])");
    const auto entries = plugins->entries_in_file_order();
    if (entries.empty())
        fail_at(root.load(), plugins_node->source(),
                "[plugin] contains no plugin; add at least one [plugin.NAME] table with an exec key");
    for (const auto& [name, node] : entries) {
        SandboxSettings plugin_sandbox;
        PluginSpec spec = parse_plugin(*name, *node, root.load(), plugin_sandbox);
        apply_sandbox(spec, host_sandbox, plugin_sandbox);
        PluginConfig plugin = spec.build();
        config.plugins.emplace(plugin.name, std::move(plugin));
    }
}

} // namespace

HostConfig load_config_text(std::string_view text, std::string_view path_for_messages) {
    LoadContext load;
    load.file = std::string(path_for_messages);
    std::error_code error;
    load.base_dir = std::filesystem::absolute(std::filesystem::path(load.file), error).parent_path();
    if (error || load.base_dir.empty())
        load.base_dir = std::filesystem::current_path();

    const toml::table document = parse_toml(text, load);
    const TableReader root(document, "the top level", load);
    root.reject_unknown_keys({"sandbox", "host", "plugin"});

    HostConfig config;
    config.path = load.file;
    config.control_users = {static_cast<std::uint32_t>(geteuid())};
    if (const auto host = root.table("host", "[host]", "a table ([host])"))
        parse_host(*host, config);
    SandboxSettings host_sandbox;
    if (const auto sandbox = root.table("sandbox", "[sandbox]", "a table ([sandbox])"))
        host_sandbox = parse_sandbox(*sandbox);
    parse_plugins(root, host_sandbox, config);
    check_paths_inside_writable_grants(config);
    return config;
}

HostConfig load_config(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw ConfigError({path, 0, 0}, "cannot read config file: it is a directory; give the path of a .toml file");
    // Whoever can change the config decides what the host executes and grants (as root, for a
    // root host), so only root or the host's user may be able to: not another user owning the
    // file or a directory on its way, nor one who could swap either before a reload.
    const std::string absolute = std::filesystem::absolute(path, error).lexically_normal().string();
    if (Status trusted = check_only_host_can_change(absolute); !trusted.ok() && trusted.code() != StatusCode::NotFound)
        throw ConfigError({path, 0, 0}, "config file " + trusted.message());
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw ConfigError({path, 0, 0}, std::string("cannot read config file: ") + std::strerror(errno));
    std::ostringstream text;
    text << file.rdbuf();
    if (file.bad())
        throw ConfigError({path, 0, 0}, std::string("cannot read config file: ") + std::strerror(errno));
    HostConfig config = load_config_text(text.str(), path);
    config_detail::check_config_file_outside_writable_grants(config, path);
    return config;
}

} // namespace airlock::host
