// A path a plugin can write beneath is a path it can replace (with a link, a hard link or
// another file) before the host opens it again on the next start: refuse such configs.
#include "sections.hpp"

#include <airlock/host/config_loader.hpp>
#include <airlock/host/no_follow_open.hpp>

#include <unistd.h>

#include <filesystem>

namespace airlock::host::config_detail {
namespace {

struct WritableDirectory {
    const PluginConfig* plugin;
    const GrantConfig* grant;
};

std::vector<WritableDirectory> writable_directories(const HostConfig& config) {
    std::vector<WritableDirectory> found;
    for (const auto& [name, plugin] : config.plugins)
        for (const GrantConfig& grant : plugin.grants)
            if (grant.kind == GrantKind::Directory && grant.access != GrantAccess::Read) found.push_back({&plugin, &grant});
    return found;
}

// The writable dir grant (other than `self`) that `path` lies in or equals, or nullptr.
const WritableDirectory* holder_of(const std::string& path, const std::vector<WritableDirectory>& writable,
                                   const GrantConfig* self) {
    for (const WritableDirectory& directory : writable)
        if (directory.grant != self && path_is_within(path, directory.grant->path)) return &directory;
    return nullptr;
}

std::string describe(const WritableDirectory& directory) {
    return "the writable dir grant \"" + directory.grant->name + "\" of plugin \"" + directory.plugin->name +
           "\" (" + directory.grant->path + ")";
}

} // namespace

void check_paths_inside_writable_grants(HostConfig& config) {
    const std::vector<WritableDirectory> writable = writable_directories(config);
    std::vector<std::string> paths;
    for (const WritableDirectory& directory : writable) paths.push_back(directory.grant->path);

    for (auto& [name, plugin] : config.plugins) {
        if (const WritableDirectory* holder = holder_of(plugin.executable, writable, nullptr)) {
            throw ConfigError(plugin.where, "executable " + plugin.executable + " of plugin \"" + name +
                                                "\" lies inside " + describe(*holder) +
                                                "; a plugin could replace it, so executables never lie there");
        }
        for (const std::string& system_path : plugin.system_paths) {
            if (const WritableDirectory* holder = holder_of(system_path, writable, nullptr)) {
                throw ConfigError(plugin.where, "system path " + system_path + " of plugin \"" + name +
                                                    "\" lies inside " + describe(*holder) +
                                                    "; a plugin could replace it, so system paths never lie there");
            }
        }
        for (const GrantConfig& grant : plugin.grants) {
            if (grant.kind == GrantKind::Memfd || grant.inside_writable) continue;
            if (const WritableDirectory* holder = holder_of(grant.path, writable, &grant)) {
                throw ConfigError(grant.where,
                                  "grant \"" + grant.name + "\" of plugin \"" + name + "\": " + grant.path +
                                      " lies inside " + describe(*holder) +
                                      ", where a plugin could replace it before the next start; set "
                                      "inside_writable = true to accept that (links are still never followed)");
            }
        }
        plugin.config_writable_directories = paths;
    }
}

namespace {

// A root host runs this plugin as a user other than root, so file permissions still stand
// between the plugin and what only root can change, whatever its dir grants.
bool runs_as_another_user(const PluginConfig& plugin) {
    return ::geteuid() == 0 && (plugin.dynamic_user || (plugin.user_id && *plugin.user_id != 0));
}

} // namespace

void check_config_file_outside_writable_grants(const HostConfig& config, const std::string& path) {
    const std::vector<WritableDirectory> writable = writable_directories(config);
    if (writable.empty()) return;
    std::error_code error;
    std::vector<std::string> names{std::filesystem::absolute(path, error).lexically_normal().string()};
    if (const std::string resolved = std::filesystem::weakly_canonical(path, error).string(); !error) names.push_back(resolved);
    // load_config has made sure only root or the host's user can change the file, so only a
    // plugin running as the host's user could change it through its grant.
    for (const std::string& name : names) {
        for (const WritableDirectory& holder : writable) {
            if (!path_is_within(name, holder.grant->path) || runs_as_another_user(*holder.plugin)) continue;
            throw ConfigError({path, 0, 0}, "config file " + name + " lies inside " + describe(holder) +
                                                ", and that plugin runs as the host's user: that plugin could "
                                                "rewrite its own confinement before the next load; keep the config "
                                                "where no plugin can write");
        }
    }
}

} // namespace airlock::host::config_detail
