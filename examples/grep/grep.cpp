// grep: searches the granted read-only directory tree "tree" for a fixed string and returns
// file, line number and line of every match. Files are opened through the Directory grant
// (openat2 RESOLVE_BENEATH), so no path in a request can reach outside the tree; symbolic
// links are not followed.
#include "grep_api.hpp"

#include <airlock/plugin/plugin.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

constexpr std::uint32_t kMatchLimit = 10000;
constexpr std::size_t kLineLimit = 4096;

struct Search {
    const airlock::plugin::Directory& tree;
    std::string_view pattern;
    std::uint32_t max_matches;
    grep::SearchReply reply;

    bool full() const { return reply.matches.size() >= max_matches; }

    void file(const std::string& path) {
        const std::string content = tree.read_file(path);
        ++reply.files_searched;
        std::uint32_t number = 0;
        for (std::size_t start = 0; start < content.size() && !full();) {
            std::size_t end = content.find('\n', start);
            if (end == std::string::npos) end = content.size();
            std::string_view line(content.data() + start, end - start);
            ++number;
            if (line.find(pattern) != std::string_view::npos)
                reply.matches.push_back(grep::Match{path, number, std::string(line.substr(0, kLineLimit))});
            start = end + 1;
        }
        if (full()) reply.truncated = true;
    }

    void directory(const std::string& path) {
        for (const auto& entry : tree.list(path.empty() ? "." : path)) {
            if (full()) return;
            if (entry.is_symlink) continue;
            std::string child = path.empty() ? entry.name : path + "/" + entry.name;
            if (entry.is_directory) directory(child);
            else file(child);
        }
    }
};

} // namespace

int main() {
    airlock::plugin::Plugin plugin;
    const airlock::plugin::Directory tree = plugin.directory("tree");
    plugin.on<grep::SearchRequest, grep::SearchReply>("search", [&tree](grep::SearchRequest& request) {
        if (request.pattern.empty()) throw std::invalid_argument("search needs a non-empty pattern");
        std::string start = request.path;
        while (!start.empty() && start.back() == '/') start.pop_back();
        if (start == ".") start.clear();
        Search search{tree, request.pattern, std::min(std::max<std::uint32_t>(request.max_matches, 1), kMatchLimit), {}};
        search.directory(start);
        return std::move(search.reply);
    });
    return plugin.run();
}
