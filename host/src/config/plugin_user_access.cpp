// `airlock-host check`: does the plugin's user have the file permissions its config needs?
// A root host opens the grants itself, but the plugin, running as e.g. nobody, executes its
// program and creates files in its dir grants under its own uid; a mode that refuses it shows
// up only as a bare "Permission denied" inside the plugin.
#include "sections.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cstdio>

namespace airlock::host::config_detail {
namespace {

enum Need : unsigned { kRead = 4, kWrite = 2, kExecute = 1 };

// The permission bits (rwx as 4/2/1) `uid`/`gid` gets on `st` from its mode (no ACLs, no
// supplementary groups: a dropped plugin has only its primary group).
unsigned granted(const struct stat& st, std::uint32_t uid, std::uint32_t gid) {
    if (uid == 0) return kRead | kWrite | kExecute;
    if (st.st_uid == uid) return (st.st_mode >> 6) & 7;
    if (st.st_gid == gid) return (st.st_mode >> 3) & 7;
    return st.st_mode & 7;
}

std::string owner_text(const struct stat& st) {
    std::string text;
    const passwd* user = ::getpwuid(st.st_uid);
    text += user ? user->pw_name : std::to_string(st.st_uid);
    const group* grp = ::getgrgid(st.st_gid);
    text += ":";
    text += grp ? grp->gr_name : std::to_string(st.st_gid);
    return text;
}

std::string mode_text(const struct stat& st) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return text;
}

// Adds a warning when `path` does not give the user `need`. Only the path's own mode counts:
// the host opens it and hands the plugin a descriptor, so the parents never stop it.
void check(std::vector<std::string>& warnings, const PluginConfig& plugin, const std::string& path, unsigned need,
           const char* consequence) {
    const std::uint32_t uid = *plugin.user_id;
    const std::uint32_t gid = plugin.group_id.value_or(uid);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;  // the loader reports missing paths itself
    if (plugin.dynamic_user) {
        // A uid allocated at start owns nothing and is in no group of the file's: "other".
        if ((st.st_mode & need) != need)
            warnings.push_back("plugin runs as a dynamic uid of its own; " + path + " is " + mode_text(st) + " " +
                               owner_text(st) + ", so " + consequence);
        return;
    }
    if ((granted(st, uid, gid) & need) != need)
        warnings.push_back("plugin runs as " + *plugin.user + " (" + std::to_string(uid) + "); " + path + " is " +
                           mode_text(st) + " " + owner_text(st) + ", so " + consequence);
}

} // namespace

std::vector<std::string> plugin_user_access_warnings(const PluginConfig& plugin) {
    std::vector<std::string> warnings;
    if (!plugin.user || !plugin.user_id || *plugin.user_id == 0) return warnings;
    check(warnings, plugin, plugin.executable, kRead | kExecute, "it cannot read and execute its executable");
    for (const GrantConfig& grant : plugin.grants) {
        if (grant.kind != GrantKind::Directory) continue;  // files arrive opened by the host
        if (grant.access == GrantAccess::Read)
            check(warnings, plugin, grant.path, kRead | kExecute, "it cannot list or open files in this read grant");
        else
            check(warnings, plugin, grant.path, kWrite | kExecute, "it cannot create files in this writable grant");
    }
    return warnings;
}

} // namespace airlock::host::config_detail
