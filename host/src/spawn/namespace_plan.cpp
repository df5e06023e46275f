// See namespace_plan.hpp.
#include "namespace_plan.hpp"

#include <airlock/host/spawner.hpp>

#include <airlock/host/landlock_ruleset.hpp>
#include <airlock/host/launch_lstat_answers.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

namespace airlock::host::detail {
namespace {

// Symlinks followed while resolving one wanted path (the kernel allows 40; 16 is plenty).
constexpr int kMaxSymlinks = 16;

bool is_under(const std::string& path, const std::string& directory) {
    if (directory == "/") return true;
    return path == directory || (path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
                                 path[directory.size()] == '/');
}

std::string lexically_normal(const std::string& path) {
    std::string normal = std::filesystem::path(path).lexically_normal().string();
    while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    return normal;
}

// What the private root must contain, as host paths: real files and directories to bind,
// and the symlinks met on the way to them (recreated with the same text, so every path
// the plugin was configured with resolves in the new root as it does on the host).
struct RootContents {
    explicit RootContents(PlanInputs& asked) : inputs(asked) {}
    PlanInputs& inputs;
    std::set<std::string> binds;
    std::set<std::string> writable;  // binds that stay writable (read-write by_path grants)
    std::vector<std::pair<std::string, std::string>> symlinks;  // path, link text

    void add(const std::string& wanted, int depth = 0) {
        if (depth > kMaxSymlinks) return;
        const std::string path = lexically_normal(wanted);
        // Walk the components: the first symlink is recreated and the rest of the path is
        // resolved through its target.
        std::size_t end = 0;
        while (end != std::string::npos) {
            end = path.find('/', end + 1);
            const std::string prefix = path.substr(0, end);
            struct stat status {};
            if (inputs.lstat(prefix, &status) != 0) return;  // missing: nothing to show
            if (!S_ISLNK(status.st_mode)) continue;
            // A grant is never reached through a link (grant_opener refused one a moment
            // ago): one now was planted since, by a plugin that can write where it lies.
            if (refuse_links)
                throw SpawnError("grant path " + path + (prefix == path ? " is" : " lies under") +
                                 " a symbolic link (" + prefix + "); grants never follow links");
            // A link's text cannot change without a new inode (ctime), so the lstat covers it.
            char text[4096];
            ssize_t size = ::readlink(prefix.c_str(), text, sizeof text - 1);
            if (size <= 0) return;
            const std::string link(text, static_cast<std::size_t>(size));
            symlinks.emplace_back(prefix, link);
            const std::string parent = prefix.substr(0, prefix.rfind('/'));
            std::string resolved = link[0] == '/' ? link : parent + "/" + link;
            if (end != std::string::npos) resolved += path.substr(end);
            add(resolved, depth + 1);
            return;
        }
        binds.insert(path);
        if (writable_target) writable.insert(path);
    }
    bool writable_target = false;  // set around add() for a writable by_path grant
    bool refuse_links = false;     // set around add() for a by_path grant
};

// The first directory that no bind source lies in, to mount the tmpfs on (only inside
// the child's own mount namespace, so the host never sees it).
std::string pick_staging(const std::set<std::string>& binds, PlanInputs& inputs) {
    for (const char* candidate : {"/mnt", "/media", "/srv", "/tmp", "/proc"}) {
        struct stat status {};
        if (inputs.lstat(candidate, &status) != 0 || !S_ISDIR(status.st_mode)) continue;
        bool shadows = std::any_of(binds.begin(), binds.end(),
                                   [&](const std::string& bind) { return is_under(bind, candidate); });
        if (!shadows) return candidate;
    }
    throw SpawnError("cannot find a directory to build the plugin's private root on (every candidate "
                     "holds one of its system paths)");
}

// A bind remount replaces the mount's flags: keep noexec and the atime flags the source
// has, add read-only, nosuid and nodev.
// A device node listed itself (e.g. /dev/urandom) keeps working: nodev on a mount that
// holds only that node would just break it.
unsigned long remount_flags_for(const std::string& source, PlanInputs& inputs) {
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
    struct stat node {};
    if (inputs.stat(source, &node) == 0 && (S_ISCHR(node.st_mode) || S_ISBLK(node.st_mode))) flags &= ~MS_NODEV;
    struct statvfs status {};
    if (inputs.statvfs(source, &status) == 0) {
        if (status.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
        if (status.f_flag & ST_NOATIME) flags |= MS_NOATIME;
        if (status.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
        if (status.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    }
    return flags;
}

} // namespace

namespace {

PlanInputs::Answer answer_of(const struct stat& status) {
    PlanInputs::Answer answer;
    answer.device = status.st_dev;
    answer.inode = status.st_ino;
    answer.mode = status.st_mode;
    answer.ctime_sec = status.st_ctim.tv_sec;
    answer.ctime_nsec = status.st_ctim.tv_nsec;
    return answer;
}

PlanInputs::Answer answer_of(const struct statvfs& status) {
    PlanInputs::Answer answer;
    answer.device = status.f_fsid;
    answer.flags = status.f_flag;
    return answer;
}

PlanInputs::Answer failed(int error) {
    PlanInputs::Answer answer;
    answer.error = error;
    return answer;
}

} // namespace

PlanInputs::Answer PlanInputs::ask(Call call, const std::string& path) {
    if (call == Call::Statvfs) {
        struct statvfs status {};
        return ::statvfs(path.c_str(), &status) == 0 ? answer_of(status) : failed(errno);
    }
    struct stat status {};
    // A launch's lstat questions are shared with its other checks (launch_lstat_answers.hpp).
    const int result = call == Call::Lstat ? launch_lstat(path, &status) : ::stat(path.c_str(), &status);
    return result == 0 ? answer_of(status) : failed(errno);
}

void PlanInputs::record(Call call, const std::string& path, const Answer& answer) {
    auto [entry, added] = answers_.emplace(std::make_pair(call, path), answer);
    // The plan saw this path change while it was made: never trust it (plan again next time).
    if (!added && !(entry->second == answer)) consistent_ = false;
}

int PlanInputs::lstat(const std::string& path, struct stat* status) {
    const int result = ::lstat(path.c_str(), status);
    const int error = errno;
    record(Call::Lstat, path, result == 0 ? answer_of(*status) : failed(error));
    errno = error;
    return result;
}

int PlanInputs::stat(const std::string& path, struct stat* status) {
    const int result = ::stat(path.c_str(), status);
    const int error = errno;
    record(Call::Stat, path, result == 0 ? answer_of(*status) : failed(error));
    errno = error;
    return result;
}

int PlanInputs::statvfs(const std::string& path, struct statvfs* status) {
    const int result = ::statvfs(path.c_str(), status);
    const int error = errno;
    record(Call::Statvfs, path, result == 0 ? answer_of(*status) : failed(error));
    errno = error;
    return result;
}

bool PlanInputs::unchanged() const {
    if (!consistent_ || answers_.empty()) return false;
    return std::all_of(answers_.begin(), answers_.end(),
                       [](const auto& entry) { return ask(entry.first.first, entry.first.second) == entry.second; });
}

NamespacePlan NamespacePlan::prepare(const PluginConfig& plugin, unsigned long clone_flags, PlanInputs& inputs) {
    RootContents contents(inputs);
    for (const auto& path : plugin.system_paths) contents.add(path);
    contents.add(plugin.executable);
    // Grants reachable by path appear at their own path (writable ones stay writable).
    for (const auto& grant : plugin.grants) {
        if (!grant.by_path) continue;
        contents.writable_target = grant.access != GrantAccess::Read;
        contents.refuse_links = true;
        contents.add(grant.path);
        contents.writable_target = false;
        contents.refuse_links = false;
    }
    // The kernel opens the ELF interpreter (and a #! line's interpreter) by path at exec,
    // inside the new root.
    std::string current = plugin.executable;
    for (int depth = 0; depth < 2; ++depth) {
        auto interpreter = executable_interpreter(current);
        if (!interpreter) {
            throw SpawnError("plugin '" + plugin.name + "': cannot plan its private root: " +
                             interpreter.status().message());
        }
        if (!*interpreter) break;
        contents.add(**interpreter);
        current = **interpreter;
    }

    NamespacePlan plan;
    plan.clone_flags_ = clone_flags;
    plan.staging_ = pick_staging(contents.binds, inputs);

    // A bind inside another bind is already visible through it; so is a symlink.
    std::vector<std::string> binds;
    for (const auto& bind : contents.binds) {
        // ...unless it is writable inside a read-only one: then it is mounted over it.
        const bool writable = contents.writable.count(bind) != 0;
        if (std::none_of(binds.begin(), binds.end(), [&](const std::string& outer) {
                return is_under(bind, outer) && (!writable || contents.writable.count(outer) != 0);
            }))
            binds.push_back(bind);  // std::set order: a parent comes before what is under it
    }
    auto covered = [&](const std::string& path) {
        return std::any_of(binds.begin(), binds.end(), [&](const std::string& bind) { return is_under(path, bind); });
    };

    std::set<std::string> made;  // directories already created in the tmpfs
    auto add_step = [&](RootStep::Kind kind, const std::string& path, const std::string& source,
                        unsigned long flags = 0) {
        plan.targets_.push_back(plan.staging_ + path);
        plan.sources_.push_back(source);
        RootStep step;
        step.kind = kind;
        step.remount_flags = flags;
        plan.steps_.push_back(step);
    };
    auto make_parents = [&](const std::string& path) {
        for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
            const std::string directory = path.substr(0, slash);
            if (made.insert(directory).second) add_step(RootStep::Kind::MakeDirectory, directory, "");
        }
    };
    for (const auto& bind : binds) {
        // A writable grant inside a read-only bind: its mount point is already there.
        const bool inside_bind = std::any_of(binds.begin(), binds.end(), [&](const std::string& outer) {
            return outer != bind && is_under(bind, outer);
        });
        struct stat status {};
        const bool directory = inputs.stat(bind, &status) == 0 && S_ISDIR(status.st_mode);
        if (!inside_bind) {
            make_parents(bind);
            if (directory) made.insert(bind);
            add_step(directory ? RootStep::Kind::MakeDirectory : RootStep::Kind::MakeFile, bind, "");
        }
        unsigned long flags = remount_flags_for(bind, inputs);
        if (contents.writable.count(bind) != 0) flags &= ~static_cast<unsigned long>(MS_RDONLY);
        add_step(RootStep::Kind::BindReadOnly, bind, bind, flags);
    }
    std::set<std::string> linked;
    for (const auto& [path, text] : contents.symlinks) {
        if (covered(path) || !linked.insert(path).second) continue;
        make_parents(path);
        add_step(RootStep::Kind::Symlink, path, text);
    }
    // Pointers last: the vectors no longer grow.
    for (std::size_t i = 0; i < plan.steps_.size(); ++i) {
        plan.steps_[i].target = plan.targets_[i].c_str();
        plan.steps_[i].source = plan.sources_[i].c_str();
    }
    return plan;
}

NamespaceChildPlan NamespacePlan::child() const noexcept {
    NamespaceChildPlan child;
    if (clone_flags_ == 0) return child;
    child.clone_flags = clone_flags_;
    child.staging = staging_.c_str();
    child.steps = steps_.data();
    child.step_count = steps_.size();
    return child;
}

std::string NamespacePlan::describe_step(std::size_t index) const {
    if (index >= steps_.size()) return "its private root";
    const std::string path = targets_[index].substr(staging_.size());
    switch (steps_[index].kind) {
    case RootStep::Kind::MakeDirectory: return "create " + path + " in its private root";
    case RootStep::Kind::MakeFile: return "create the mount point " + path + " in its private root";
    case RootStep::Kind::BindReadOnly: return "bind-mount " + path + " read-only into its private root";
    case RootStep::Kind::Symlink: return "create the symlink " + path + " in its private root";
    }
    return "its private root";
}

} // namespace airlock::host::detail
