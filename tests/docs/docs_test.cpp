// The documentation against the real tools, so that it stays true:
//  - every ```toml snippet of README.md and docs/*.md passes `airlock-host check`, or fails
//    with the message its marker documents (a line `<!-- docs-check: fails "TEXT" -->`
//    directly before the fence, for snippets that are deliberately partial or name paths,
//    users and groups of an imagined machine);
//  - every configuration in config/ passes `airlock-host check` (templates rendered the way
//    their header comments say), and so does each example plugin's, as the build renders it;
//  - every option README.md, docs/*.md and the man pages give airlock-host or airlockctl
//    exists in that tool's --help, and every option of --help is documented in both;
//  - every key the config loader accepts is in configuration.md, airlock.toml(5) and
//    config/examples/reference.toml;
//  - the shipped systemd unit's capability bounding set lets the host start a plugin with
//    every layer;
//  - every link between the pages leads to an existing file and heading;
//  - configuration.md's profile, group and always-denied tables are the config layer's;
//  - the --print-config example of sandbox-a-command.md is what the host prints.

#include <catch2/catch.hpp>

#include "../support/temp_dir.hpp"
#include "airlock/host/syscall_sets.hpp"
#include "../support/text.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using airlock::test_support::read_file;
using airlock::test_support::split_lines;
using airlock::test_support::TempDir;

const std::string kSource = AIRLOCK_SOURCE_DIR;
const std::string kHost = AIRLOCK_HOST_EXE;
const std::string kCtl = AIRLOCKCTL_EXE;

struct Run {
    int status = -1;     ///< exit status, -1 when killed by a signal
    std::string output;  ///< standard output and error together
};

// `sh -c COMMAND 2>&1`, its output and exit status.
Run run(const std::string& command) {
    Run result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    std::size_t size;
    while ((size = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, size);
    const int raw = ::pclose(pipe);
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return result;
}

std::string word(const std::string& text) { return "'" + text + "'"; }

// The words of `text`, split at spaces.
std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream stream(text);
    for (std::string item; stream >> item;) words.push_back(item);
    return words;
}

// README.md and docs/*.md, by path relative to the source tree.
std::vector<std::string> doc_pages() {
    std::vector<std::string> pages{"README.md"};
    for (const auto& entry : fs::directory_iterator(kSource + "/docs")) {
        if (entry.path().extension() == ".md") pages.push_back("docs/" + entry.path().filename().string());
    }
    std::sort(pages.begin() + 1, pages.end());
    return pages;
}

bool is_fence(const std::string& line) { return line.find_first_not_of(' ') != std::string::npos &&
                                                line.compare(line.find_first_not_of(' '), 3, "```") == 0; }

// The language of a fence line (```toml -> "toml").
std::string fence_language(const std::string& line) {
    std::string rest = line.substr(line.find("```") + 3);
    return rest.substr(0, rest.find_first_of(" \t"));
}

struct Snippet {
    std::string where;                         ///< page:line of the fence
    std::string text;
    std::optional<std::string> expected_failure;  ///< from <!-- docs-check: fails "TEXT" -->
};

std::vector<Snippet> toml_snippets(const std::string& page) {
    static const std::regex marker(R"re(^\s*<!-- docs-check: fails "(.*)" -->\s*$)re");
    const std::vector<std::string> lines = split_lines(read_file(kSource + "/" + page));
    std::vector<Snippet> snippets;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!is_fence(lines[i])) continue;
        const std::size_t open = i;
        std::string body;
        for (++i; i < lines.size() && !is_fence(lines[i]); ++i) body += lines[i] + "\n";
        if (fence_language(lines[open]) != "toml") continue;
        Snippet snippet{page + ":" + std::to_string(open + 1), body, std::nullopt};
        std::smatch match;
        if (open > 0 && std::regex_match(lines[open - 1], match, marker)) {
            // The marker's TEXT is written as in the message; \" stands for a quote.
            snippet.expected_failure = std::regex_replace(match[1].str(), std::regex(R"(\\")"), "\"");
        }
        snippets.push_back(snippet);
    }
    return snippets;
}

// Replaces every occurrence of `from` in `text`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// `--name` words in `text` (`--wait[=DURATION]` gives --wait).
std::set<std::string> options_in(const std::string& text) {
    static const std::regex option(R"((^|[^A-Za-z0-9-])(--[a-z][a-z0-9-]*))");
    std::set<std::string> found;
    for (std::sregex_iterator it(text.begin(), text.end(), option), end; it != end; ++it) found.insert((*it)[2].str());
    return found;
}

// The options a piece of code gives `tool`: what follows each "tool " up to the end of the
// command (" -- ", which starts the confined command's own arguments, a pipe or a comment).
std::set<std::string> tool_options_in(const std::string& code, const std::string& tool) {
    std::set<std::string> found;
    for (std::size_t at = code.find(tool + " "); at != std::string::npos; at = code.find(tool + " ", at + 1)) {
        if (at > 0 && std::string(" /$(`").find(code[at - 1]) == std::string::npos) continue;
        std::string command = code.substr(at + tool.size());
        for (const char* end : {" -- ", " # ", " && ", "; "}) command = command.substr(0, command.find(end));
        // A pipe to another program ends it; " | --version" is a synopsis's alternative.
        for (std::size_t bar = command.find(" | "); bar != std::string::npos; bar = command.find(" | ", bar + 1)) {
            if (command.compare(bar + 3, 1, "-") != 0) {
                command.resize(bar);
                break;
            }
        }
        for (const auto& option : options_in(command)) found.insert(option);
    }
    return found;
}

// Every option the pages give `tool`, in code blocks and `code spans`, with where it was seen.
std::map<std::string, std::string> documented_options(const std::string& tool) {
    std::map<std::string, std::string> found;
    for (const auto& page : doc_pages()) {
        const std::vector<std::string> lines = split_lines(read_file(kSource + "/" + page));
        bool in_block = false;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const std::string where = page + ":" + std::to_string(i + 1);
            if (is_fence(lines[i])) {
                in_block = !in_block;
                continue;
            }
            std::vector<std::string> pieces;
            if (in_block) {
                // An indented line continues the command above it (a synopsis over lines).
                std::string command = lines[i];
                while (i + 1 < lines.size() && !is_fence(lines[i + 1]) && lines[i + 1].starts_with(" ")) command += lines[++i];
                pieces.push_back(command);
            } else {
                const std::vector<std::string> parts = [&] {
                    std::vector<std::string> split;
                    std::size_t start = 0;
                    for (std::size_t tick; (tick = lines[i].find('`', start)) != std::string::npos; start = tick + 1) {
                        split.push_back(lines[i].substr(start, tick - start));
                    }
                    return split;
                }();
                for (std::size_t k = 1; k < parts.size(); k += 2) pieces.push_back(parts[k]);  // inside `...`
            }
            for (const auto& piece : pieces) {
                for (const auto& option : tool_options_in(piece, tool)) found.emplace(option, where);
            }
        }
    }
    return found;
}

// The options a man page names (troff's \- is a dash; lines about other programs skipped).
std::set<std::string> man_page_options(const std::string& page) {
    std::string text;
    for (const auto& line : split_lines(read_file(kSource + "/man/" + page))) {
        if (line.find("systemctl") == std::string::npos) text += replace_all(line, "\\-", "-") + "\n";
    }
    return options_in(text);
}

std::set<std::string> help_options(const std::string& tool_exe) {
    const Run help = run(word(tool_exe) + " --help");
    REQUIRE(help.status == 0);
    std::set<std::string> options = options_in(help.output);
    options.insert("--help");  // the option that printed it
    if (run(word(tool_exe) + " --version").status == 0) options.insert("--version");
    return options;
}

} // namespace

TEST_CASE("every toml snippet of the docs passes airlock-host check, or fails as its marker says", "[docs]") {
    std::size_t checked = 0;
    for (const auto& page : doc_pages()) {
        for (const auto& snippet : toml_snippets(page)) {
            INFO(snippet.where << ":\n" << snippet.text);
            TempDir dir;  // an empty directory: relative exec paths resolve into it
            const Run check = run(word(kHost) + " check " + word(dir.file("snippet.toml", snippet.text)));
            INFO("airlock-host check: exit " << check.status << "\n" << check.output);
            if (snippet.expected_failure) {
                CHECK(check.status == 78);  // EX_CONFIG
                CHECK(check.output.find(*snippet.expected_failure) != std::string::npos);
            } else {
                CHECK(check.status == 0);
            }
            ++checked;
        }
    }
    CHECK(checked >= 6);  // the pages hold at least this many today; finding none is a bug here
}

TEST_CASE("every configuration in config/ and of the examples passes airlock-host check", "[docs]") {
    // Templates are rendered as their header comments say (config/demo.toml for `make run`,
    // config/examples/c-program.toml.in), into the directory the demo would use.
    TempDir demo;
    demo.dir("tree");
    demo.dir("readonly");
    const std::map<std::string, std::string> placeholders{
        {"@EXAMPLES@", AIRLOCK_EXAMPLES_DIR},
        {"@DEMO@", demo.path()},
        {"@PYTHON3@", fs::canonical("/usr/bin/python3").string()},
        {"@WORD_COUNT@", AIRLOCK_WORD_COUNT},
    };
    std::size_t checked = 0;
    for (const auto& entry : fs::recursive_directory_iterator(kSource + "/config")) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || (!name.ends_with(".toml") && !name.ends_with(".toml.in"))) continue;
        const std::string where = fs::relative(entry.path(), kSource).string();
        std::string text = read_file(entry.path().string());
        for (const auto& [placeholder, value] : placeholders) text = replace_all(text, placeholder, value);
        INFO(where);
        CHECK_FALSE(std::regex_search(text, std::regex("@[A-Z0-9_]+@")));  // a placeholder this test does not know
        // Beside the original when it is a plain file (relative exec paths), else rendered.
        const std::string path = name.ends_with(".toml") && text == read_file(entry.path().string())
                                     ? entry.path().string()
                                     : demo.file(name.substr(0, name.find(".toml")) + ".rendered.toml", text);
        const Run check = run(word(kHost) + " check " + word(path));
        INFO("airlock-host check: exit " << check.status << "\n" << check.output);
        CHECK(check.status == 0);
        ++checked;
    }
    CHECK(checked >= 9);

    // Each example plugin's own config, as the build renders it next to the plugin.
    std::size_t examples = 0;
    for (const auto& entry : fs::recursive_directory_iterator(AIRLOCK_EXAMPLES_DIR)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".toml") continue;
        const Run check = run(word(kHost) + " check " + word(entry.path().string()));
        INFO(entry.path().string() << ": airlock-host check: exit " << check.status << "\n" << check.output);
        CHECK(check.status == 0);
        ++examples;
    }
    CHECK(examples >= 7);
}

TEST_CASE("every option the docs give airlock-host and airlockctl exists, and every one is documented", "[docs]") {
    const std::map<std::string, std::pair<std::string, std::string>> tools{
        {"airlock-host", {kHost, "airlock-host.1"}},
        {"airlockctl", {kCtl, "airlockctl.1"}},
    };
    for (const auto& [tool, exe_and_man] : tools) {
        const std::set<std::string> help = help_options(exe_and_man.first);
        const std::map<std::string, std::string> in_docs = documented_options(tool);
        const std::set<std::string> in_man = man_page_options(exe_and_man.second);
        for (const auto& [option, where] : in_docs) {
            INFO(where << ": " << tool << " " << option << " is not in " << tool << " --help");
            CHECK(help.count(option) == 1);
        }
        for (const auto& option : in_man) {
            INFO("man/" << exe_and_man.second << ": " << option << " is not in " << tool << " --help");
            CHECK(help.count(option) == 1);
        }
        for (const auto& option : help) {
            {
                INFO(tool << " --help: " << option << " is given to " << tool << " in no code of README.md or docs/*.md");
                CHECK(in_docs.count(option) == 1);
            }
            INFO(tool << " --help: " << option << " is not in man/" << exe_and_man.second);
            CHECK(in_man.count(option) == 1);
        }
    }
}

TEST_CASE("every key the config loader accepts is documented in configuration.md, airlock.toml(5) and reference.toml",
          "[docs]") {
    // The loader names every key it accepts when it refuses an unknown one; one refusal per table.
    const std::string plugin = "[plugin.x]\nexec = \"/usr/bin/true\"\n";
    const std::vector<std::string> tables{
        "zz = 1\n" + plugin,
        "[sandbox]\nzz = 1\n" + plugin,
        "[host]\nzz = 1\n" + plugin,
        plugin + "zz = 1\n",
        plugin + "[plugin.x.limits]\nzz = 1\n",
        plugin + "[plugin.x.syscalls]\nzz = 1\n",
        plugin + "[plugin.x.sandbox]\nzz = 1\n",
        plugin + "[plugin.x.grants]\ng = { memfd = \"1MiB\", zz = 1 }\n",
    };
    const std::string configuration = read_file(kSource + "/docs/configuration.md");
    const std::string man_page = replace_all(read_file(kSource + "/man/airlock.toml.5"), "\\-", "-");
    const std::string reference = read_file(kSource + "/config/examples/reference.toml");
    const auto has_word = [](const std::string& text, const std::string& key) {
        return std::regex_search(text, std::regex("(^|[^A-Za-z0-9_])" + key + "($|[^A-Za-z0-9_])"));
    };
    std::size_t keys = 0;
    for (const auto& table : tables) {
        TempDir dir;
        const Run check = run(word(kHost) + " check " + word(dir.file("keys.toml", table)));
        const std::size_t list = check.output.find("allowed keys: ");
        INFO(table << "airlock-host check: " << check.output);
        REQUIRE(list != std::string::npos);
        std::string names = check.output.substr(list + 14);
        names = names.substr(0, names.find('\n'));
        for (std::size_t start = 0; start < names.size();) {
            const std::size_t comma = names.find(", ", start);
            const std::string key = names.substr(start, comma - start);
            start = comma == std::string::npos ? names.size() : comma + 2;
            INFO("key " << key);
            // A key, or a table: `[sandbox]`, `[plugin.NAME.limits]`, `[plugin.NAME]`.
            CHECK((configuration.find("`" + key + "`") != std::string::npos ||
                   configuration.find(key + "]`") != std::string::npos ||
                   configuration.find("`[" + key + ".") != std::string::npos));
            CHECK(has_word(man_page, key));
            CHECK(has_word(reference, key));
            ++keys;
        }
    }
    CHECK(keys >= 50);
}

TEST_CASE("the shipped systemd unit's capabilities let a plugin start with every layer", "[docs]") {
    // config/airlock-host.service bounds the host's capabilities; a set too small refuses
    // every plugin (or silently drops the namespaces layer) only once installed. setpriv
    // applies the same bounding set and no_new_privs (NoNewPrivileges=yes) to the real host.
    if (::geteuid() != 0) {
        WARN("not root: the unit's host runs as root; skipped");
        return;
    }
    const std::string unit = read_file(kSource + "/config/airlock-host.service");
    std::smatch match;
    REQUIRE(std::regex_search(unit, match, std::regex("\nCapabilityBoundingSet=([^\n]*)")));
    std::string bounding = "-all";
    for (const auto& capability : split_words(match[1].str())) {
        std::string name = capability.substr(capability.rfind("CAP_", 0) == 0 ? 4 : 0);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        bounding += ",+" + name;
    }
    const std::string under_unit = "setpriv --no-new-privs --bounding-set=" + bounding + " --inh-caps=-all ";
    INFO(under_unit);

    TempDir dir;
    const std::string config = dir.file("unit.toml",
                                        "[sandbox]\nnamespaces = \"require\"\n"
                                        "[plugin.t]\nexec = \"/usr/bin/true\"\nprotocol = \"none\"\n");
    if (run(word(kHost) + " exec " + word(config) + " t").status != 0) {
        WARN("NOT TESTED: this machine gives even an unbounded root host no namespaces layer");
        return;
    }
    const Run started = run(under_unit + word(kHost) + " exec " + word(config) + " t");
    INFO("airlock-host exec: exit " << started.status << "\n" << started.output);
    CHECK(started.status == 0);
}

namespace {

// The anchor a Markdown heading gets: lower case, punctuation dropped, spaces as dashes.
std::string heading_anchor(const std::string& heading) {
    std::string anchor;
    for (const unsigned char c : heading) {
        if (std::isalnum(c) || c == '_' || c == '-') anchor += static_cast<char>(std::tolower(c));
        else if (c == ' ') anchor += '-';
    }
    return anchor;
}

} // namespace

TEST_CASE("every link between the pages leads to an existing file and heading", "[docs]") {
    static const std::regex link(R"re(\]\(([^)\s]+)\))re");
    std::size_t links = 0;
    for (const auto& page : doc_pages()) {
        const std::string text = read_file(kSource + "/" + page);
        for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
            const std::string target = (*it)[1].str();
            if (target.rfind("http", 0) == 0 || target.rfind("mailto:", 0) == 0) continue;
            const std::string path = target.substr(0, target.find('#'));
            const fs::path file = path.empty() ? fs::path(kSource) / page
                                               : (fs::path(kSource) / page).parent_path() / path;
            INFO(page << ": link " << target);
            REQUIRE(fs::exists(file));
            ++links;
            if (target.find('#') == std::string::npos || file.extension() != ".md") continue;
            std::set<std::string> anchors;
            for (const auto& line : split_lines(read_file(file.string()))) {
                if (line.starts_with("#")) anchors.insert(heading_anchor(line.substr(line.find(' ') + 1)));
            }
            CHECK(anchors.count(target.substr(target.find('#') + 1)) == 1);
        }
    }
    CHECK(links >= 30);
}

TEST_CASE("the docs test finds options and markers where they are written", "[docs]") {
    // The extraction itself, on known text: a broken pattern would otherwise pass vacuously.
    CHECK(tool_options_in("$ airlock-host exec --ro /a --print-config -- sort --numeric", "airlock-host") ==
          std::set<std::string>{"--ro", "--print-config"});
    CHECK(tool_options_in("airlockctl call --wait[=DURATION] x | jq --raw", "airlockctl") ==
          std::set<std::string>{"--wait"});
    CHECK(tool_options_in("airlockctl --help | --version", "airlockctl") == std::set<std::string>{"--help", "--version"});
    CHECK(tool_options_in("systemctl enable --now airlock-host.service", "airlock-host").empty());
    CHECK(options_in("--profile default|minimal --allow SYSCALL|@group") == std::set<std::string>{"--profile", "--allow"});
    CHECK(heading_anchor("Links and `inside_writable`") == "links-and-inside_writable");
    CHECK(heading_anchor("`[sandbox]` — host-wide sandbox defaults") == "sandbox--host-wide-sandbox-defaults");
}

namespace {

// The `names` of a Markdown table cell, in order.
std::vector<std::string> code_names(const std::string& cell) {
    std::vector<std::string> names;
    static const std::regex name("`([^`]+)`");
    for (std::sregex_iterator it(cell.begin(), cell.end(), name), end; it != end; ++it) names.push_back((*it)[1].str());
    return names;
}

// A description as the docs write it and the code holds it, compared without code quotes
// and a final full stop.
std::string prose(std::string text) {
    text.erase(std::remove(text.begin(), text.end(), '`'), text.end());
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
}

// The cells of a Markdown table row ("| a | b |" -> {"a", "b"}), trimmed.
std::vector<std::string> table_cells(const std::string& row) {
    std::vector<std::string> cells;
    std::size_t start = row.find('|') + 1;
    for (std::size_t bar; (bar = row.find('|', start)) != std::string::npos; start = bar + 1) {
        std::string cell = row.substr(start, bar - start);
        cell.erase(0, cell.find_first_not_of(' '));
        cell.erase(cell.find_last_not_of(' ') + 1);
        cells.push_back(cell);
    }
    return cells;
}

// The row of configuration.md whose first cell is `first`, split into cells; empty if none.
std::vector<std::string> row_starting(const std::vector<std::string>& lines, const std::string& first) {
    for (const auto& line : lines) {
        if (line.rfind("| " + first + " |", 0) == 0) return table_cells(line);
    }
    return {};
}

} // namespace

TEST_CASE("configuration.md's profiles, groups and always-denied calls are the config layer's", "[docs]") {
    using namespace airlock::host;
    const std::vector<std::string> lines = split_lines(read_file(kSource + "/docs/configuration.md"));

    for (const auto& group : syscall_groups()) {
        INFO("group " << group.name);
        const std::vector<std::string> row = row_starting(lines, "`" + group.name + "`");
        REQUIRE(row.size() == 3);
        CHECK(prose(row[1]) == prose(group.description));
        const std::vector<std::string> members = code_names(row[2]);
        CHECK(std::set<std::string>(members.begin(), members.end()) ==
              std::set<std::string>(group.members.begin(), group.members.end()));
    }

    for (const auto& profile : syscall_profiles()) {
        INFO("profile " << profile.name);
        const auto heading = std::find(lines.begin(), lines.end(), "#### `" + profile.name + "`");
        REQUIRE(heading != lines.end());
        // Then: the description, the members, "Resolved: N system calls on x86_64.", blank lines between.
        std::vector<std::string> paragraphs;
        for (auto it = heading + 1; it != lines.end() && paragraphs.size() < 3; ++it) {
            if (!it->empty()) paragraphs.push_back(*it);
        }
        REQUIRE(paragraphs.size() == 3);
        CHECK(prose(paragraphs[0]) == prose(profile.description));
        const std::vector<std::string> members = code_names(paragraphs[1]);
        CHECK(std::set<std::string>(members.begin(), members.end()) ==
              std::set<std::string>(profile.members.begin(), profile.members.end()));
        CHECK(paragraphs[2] == "Resolved: " + std::to_string(resolve_allowlist(profile.name, {}, {}).size()) +
                                   " system calls on x86_64.");
    }

    std::set<std::string> documented_denied;
    const auto denied_heading = std::find(lines.begin(), lines.end(), "### Always denied");
    REQUIRE(denied_heading != lines.end());
    for (auto it = denied_heading + 1; it != lines.end() && !it->starts_with("#"); ++it) {
        const std::vector<std::string> cells = it->starts_with("| `") ? table_cells(*it) : std::vector<std::string>{};
        if (cells.size() != 2) continue;
        const std::string name = code_names(cells[0]).at(0);
        documented_denied.insert(name);
        INFO("always denied: " << name);
        CHECK(prose(cells[1]) == prose(std::string(always_denied_reason(name))));
    }
    CHECK(documented_denied == always_denied_syscalls());
}

TEST_CASE("the --print-config example of sandbox-a-command.md is what airlock-host prints", "[docs]") {
    // The block starting with "$ airlock-host exec --print-config ..."; its /srv/ paths are made
    // real in a temporary directory (in the command and in the output alike).
    const std::vector<std::string> lines = split_lines(read_file(kSource + "/docs/sandbox-a-command.md"));
    const auto first = std::find_if(lines.begin(), lines.end(),
                                    [](const std::string& line) { return line.starts_with("$ airlock-host exec --print-config"); });
    REQUIRE(first != lines.end());
    TempDir dir;
    const std::string srv = dir.dir("srv") + "/";
    std::string command = replace_all(first->substr(2), "/srv/", srv);
    std::string expected;
    for (auto it = first + 1; it != lines.end() && !is_fence(*it); ++it) expected += replace_all(*it, "/srv/", srv) + "\n";
    for (const auto& path : split_words(command)) {
        if (path.rfind(srv, 0) == 0) dir.file("srv/" + path.substr(srv.size()), "3\n1\n2\n");
    }
    command.replace(0, std::string("airlock-host").size(), word(kHost));
    const Run printed = run(command);
    CHECK(printed.status == 0);
    CHECK(printed.output == expected);
}
