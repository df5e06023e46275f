// OutputPump: line splitting, prefixes, bounds; and a real flood through the spawner.
#include "test_support.hpp"

#include <airlock/host/output_pump.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>

using namespace airlock;
using namespace airlock::host;
using namespace airlock::test;

namespace {

std::vector<std::string> texts(const std::vector<OutputLine>& lines) {
    std::vector<std::string> out;
    for (const auto& line : lines) out.push_back(line.text);
    return out;
}

void feed(OutputPump& pump, OutputStream stream, const std::string& text) {
    pump.feed(stream, text.data(), text.size());
}

} // namespace

TEST_CASE("output is split into lines across reads and prefixed with the plugin name", "[output]") {
    OutputPump pump("hello");
    feed(pump, OutputStream::Stdout, "first li");
    feed(pump, OutputStream::Stderr, "an error\n");
    feed(pump, OutputStream::Stdout, "ne\nsecond\n\nthi");
    auto lines = pump.take_pending();
    CHECK(texts(lines) == std::vector<std::string>{"an error", "first line", "second", ""});
    CHECK(lines[0].stream == OutputStream::Stderr);
    CHECK(lines[1].stream == OutputStream::Stdout);
    CHECK(pump.format(lines[1]) == "[hello] first line");
    pump.flush(OutputStream::Stdout);
    CHECK(texts(pump.take_pending()) == std::vector<std::string>{"thi"});
    CHECK(pump.take_pending().empty());
}

TEST_CASE("a line longer than the limit is cut with a marker and the rest skipped", "[output]") {
    OutputPumpLimits limits;
    limits.max_line_bytes = 8;
    OutputPump pump("p", limits);
    feed(pump, OutputStream::Stdout, "0123456789abc");
    feed(pump, OutputStream::Stdout, "still the same line");
    feed(pump, OutputStream::Stdout, " end\nnext\n");
    auto lines = pump.take_pending();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == std::string("01234567") + OutputPump::kTruncatedMarker);
    CHECK(lines[0].truncated);
    CHECK(lines[1].text == "next");
    CHECK(pump.truncated_lines() == 1);
}

TEST_CASE("control characters cannot reach the host's terminal", "[output]") {
    OutputPump pump("p");
    feed(pump, OutputStream::Stdout, "red \x1b[31mtext\r\tend\x7f\n");
    CHECK(texts(pump.take_pending()) == std::vector<std::string>{"red ?[31mtext?\tend?"});
}

TEST_CASE("a slow consumer loses lines (counted) instead of growing memory", "[output]") {
    OutputPumpLimits limits;
    limits.max_pending_lines = 10;
    limits.recent_lines = 4;
    OutputPump pump("p", limits);
    for (int i = 0; i < 100; ++i) feed(pump, OutputStream::Stdout, std::to_string(i) + "\n");
    CHECK(pump.dropped_lines() == 90);
    auto pending = pump.take_pending();
    CHECK(pending.size() == 10);
    CHECK(pending.front().text == "0");
    REQUIRE(pump.recent().size() == 4);
    CHECK(pump.recent().front().text == "96");
    CHECK(pump.recent().back().text == "99");
}

TEST_CASE("pump reads a non-blocking pipe and flushes the last line at end of stream", "[output]") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    OutputPump pump("p");
    CHECK(pump.pump(read_end.get(), OutputStream::Stdout).bytes_read == 0);  // nothing yet, no block
    REQUIRE(::write(write_end.get(), "a\nb", 3) == 3);
    write_end.reset();
    PumpResult result = pump.pump(read_end.get(), OutputStream::Stdout);
    CHECK(result.bytes_read == 3);
    CHECK(result.end_of_stream);
    CHECK(texts(pump.take_pending()) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a plugin writing 200 MB of output keeps host memory bounded", "[output][flood]") {
    constexpr unsigned long long kFlood = 200ULL * 1000 * 1000;
    ProbeConfig probe;
    probe.args = {"flood", std::to_string(kFlood), "longline", "1000000"};
    Spawner spawner(probe_config(probe));
    const long peak_before = peak_rss_kib();

    SpawnedPlugin plugin = spawner.launch();
    OutputPump pump("probe");
    std::size_t bytes = 0;
    std::size_t lines = 0;
    bool open = true;
    int rounds = 0;
    while (open) {
        pollfd ready{plugin.stdout_pipe.get(), POLLIN, 0};
        ::poll(&ready, 1, 1000);
        PumpResult result = pump.pump(plugin.stdout_pipe.get(), OutputStream::Stdout);
        bytes += result.bytes_read;
        open = !result.end_of_stream;
        // A consumer that only looks every 50th round: the pump must drop, not grow.
        if (++rounds % 50 == 0) lines += pump.take_pending().size();
    }
    lines += pump.take_pending().size();
    CHECK(plugin.process.wait().shell_status() == 0);

    CHECK(bytes > kFlood);
    CHECK(lines + pump.dropped_lines() == kFlood / 100 + 1);
    CHECK(pump.truncated_lines() == 1);  // the one-megabyte line
    const long growth_kib = peak_rss_kib() - peak_before;
    INFO("peak RSS grew by " << growth_kib << " KiB");
    CHECK(growth_kib < 16 * 1024 + sanitizer_allocator_slack_kib());
}
