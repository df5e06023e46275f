// A plugin that repeats a forbidden call thousands of times under on_violation = "errno":
// the host's report lines stay bounded (ViolationReportLimiter), the summary lines carry the
// exact count, and the host keeps serving. Through the supervisor (`run`) and `exec`.
#include "supervisor_test_support.hpp"

#include <airlock/host/violation_report_limiter.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <regex>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::supervisor_test;

namespace {

constexpr long kFlood = 20000;

const std::string kFlooder = "restart = \"no\"\n[plugin.flooder.syscalls]\non_violation = \"errno\"\n";

// What the host wrote about ptrace violations: single report lines, and the counts of the
// summary lines ("N more like this").
struct ReportCount {
    long lines = 0;
    long summaries = 0;
    long summarised = 0;
    long total() const { return lines + summarised; }
};

ReportCount count_reports(const std::vector<std::string>& output) {
    ReportCount count;
    const std::regex summary("([0-9,]+) more like this \\(forbidden system call ptrace \\(101\\): refused with EPERM\\)");
    for (const std::string& line : output) {
        std::smatch match;
        if (std::regex_search(line, match, summary)) {
            std::string digits = match[1];
            digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
            ++count.summaries;
            count.summarised += std::stol(digits);
        } else if (line.find("forbidden system call ptrace (101): refused with EPERM") != std::string::npos) {
            ++count.lines;
        }
    }
    return count;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

Violation ptrace_violation(pid_t pid) {
    Violation violation;
    violation.pid = violation.tid = pid;
    violation.syscall_nr = 101;
    violation.syscall_name = "ptrace";
    violation.action = ViolationAction::Errno;
    return violation;
}

} // namespace

TEST_CASE("the violation report limiter writes a burst per interval, then one summary with the count") {
    using Clock = ViolationReportLimiter::Clock;
    ViolationReportLimiter limiter("p", {3, std::chrono::milliseconds(1000)});
    const auto t0 = Clock::now();
    std::vector<std::string> lines;
    for (int i = 0; i < 1003; ++i) {
        for (auto& line : limiter.record(ptrace_violation(7), t0)) lines.push_back(line);
    }
    CHECK(lines.size() == 3);
    CHECK(limiter.take_due(t0 + std::chrono::milliseconds(999)).empty());
    REQUIRE(limiter.next_due() == t0 + std::chrono::milliseconds(1000));
    const auto summary = limiter.take_due(t0 + std::chrono::milliseconds(1000));
    REQUIRE(summary.size() == 1);
    CHECK(summary[0] == "plugin p (pid 7): 1,000 more like this (forbidden system call ptrace (101): "
                        "refused with EPERM) in the last 1 s");
    CHECK(!limiter.next_due());
    // Another kind has its own burst; the next interval starts with a fresh one.
    Violation other = ptrace_violation(7);
    other.syscall_nr = 149;
    other.syscall_name = "mlock";
    CHECK(limiter.record(other, t0).size() == 1);
    CHECK(limiter.record(ptrace_violation(7), t0 + std::chrono::seconds(2)).size() == 1);
    CHECK(limiter.total() == 1005);
    CHECK(grouped_count(1234567) == "1,234,567");
    CHECK(grouped_count(999) == "999");
}

TEST_CASE("the violation report limiter keeps a bounded number of kinds, the rest share one window") {
    using Clock = ViolationReportLimiter::Clock;
    ViolationReportLimiter limiter("p", {2, std::chrono::milliseconds(1000), 3});
    const auto t0 = Clock::now();
    std::size_t lines = 0;
    // 1,000 kinds, as a plugin making up numbers would: 3 get windows, the rest share one.
    for (int nr = 0; nr < 1000; ++nr) {
        Violation made_up = ptrace_violation(7);
        made_up.syscall_nr = 0x10000 + nr;
        made_up.syscall_name = "syscall_" + std::to_string(made_up.syscall_nr);
        made_up.architecture = "i386 (int 0x80)";
        lines += limiter.record(made_up, t0).size();
    }
    CHECK(lines == 3 + 2);  // the first of each of 3 kinds, the first 2 of the others
    const auto summary = limiter.take_due(t0 + std::chrono::seconds(1));
    REQUIRE(summary.size() == 1);
    CHECK(summary[0] == "plugin p (pid 7): 995 more of other kinds (the last: forbidden system call syscall_66535 "
                        "(66535, i386 (int 0x80)): refused with EPERM) in the last 1 s");
    // The kinds' windows ended with the interval: a new kind has room again.
    CHECK(limiter.record(ptrace_violation(7), t0 + std::chrono::seconds(1)).size() == 1);
    CHECK(limiter.total() == 1001);
}

TEST_CASE("run: a plugin flooding violations under errno gets bounded report lines and an exact count, and the host serves on") {
    boost::asio::io_context io;
    Supervisor supervisor(io, config_of(plugin_toml("good", "serve") +
                                        "[plugin.flooder]\nexec = \"" + kPlugin + "\"\nargs = [\"violate-flood\", \"" +
                                        std::to_string(kFlood) + "\"]\nprotocol = \"airlock\"\n" + kFlooder));
    supervisor.set_output_fd(-1);
    supervisor.start_all();
    auto logs = [&] { return supervisor.recent_logs("flooder"); };
    REQUIRE(run_until(io, [&] {
        return status_of(supervisor, "flooder").violations == kFlood && count_reports(logs()).total() == kFlood;
    }, std::chrono::seconds(60)));
    const ReportCount count = count_reports(logs());
    INFO("report lines " << count.lines << ", summary lines " << count.summaries);
    CHECK(count.summaries >= 1);
    CHECK(count.lines <= 10 * (count.summaries + 1));  // at most a burst per interval
    REQUIRE(run_until(io, [&] {
        auto all = logs();
        return std::any_of(all.begin(), all.end(), [](const std::string& line) {
            return line.find("refused 20000 of 20000") != std::string::npos;
        });
    }));
    REQUIRE(run_until(io, [&] { return in_state(supervisor, "good", PluginState::Ready); }));
    std::optional<Result<Message>> reply;
    const std::vector<std::uint8_t> body{4, 2};
    supervisor.call_raw("good", "echo", body, {}, [&](Result<Message> r) { reply.emplace(std::move(r)); });
    REQUIRE(run_until(io, [&] { return reply.has_value(); }));
    CHECK(reply->ok());
    CHECK(in_state(supervisor, "flooder", PluginState::Ready));
}

TEST_CASE("exec: a plugin flooding violations under errno gets bounded report lines and an exact count") {
    TempDir dir;
    dir.write("flood.toml", host_toml("[plugin.flooder]\nexec = \"" + kPlugin + "\"\nargs = [\"violate-flood\", \"" +
                                      std::to_string(kFlood) + "\", \"exit\"]\nprotocol = \"airlock\"\n" + kFlooder));
    const std::string command = std::string(AIRLOCK_HOST_EXE) + " exec --prefix " + dir.path() + "/flood.toml flooder >" +
                                dir.path() + "/out 2>" + dir.path() + "/err";
    const int raw = std::system(command.c_str());
    const std::string err = dir.read("err");
    INFO(err.substr(0, 2000));
    REQUIRE(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 0);
    CHECK(dir.read("out").find("refused 20000 of 20000") != std::string::npos);
    const ReportCount count = count_reports(lines_of(err));
    INFO("report lines " << count.lines << ", summary lines " << count.summaries);
    CHECK(count.total() == kFlood);
    CHECK(count.summaries >= 1);
    CHECK(count.lines <= 10 * (count.summaries + 1));
}
