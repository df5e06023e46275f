// The fields and datagram of one journal record (host/src/systemd/journal_fields.hpp,
// journal_writer.hpp), from the supervisor's line formats.
#include "journal_fields.hpp"
#include "journal_writer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace airlock::host::systemd;

namespace {
std::string field(const JournalFields& fields, const std::string& key) {
    auto found = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
    return found == fields.end() ? "<none>" : found->second;
}
} // namespace

TEST_CASE("journal fields: a violation report carries SYSCALL, its pid and warning priority") {
    const auto fields = journal_fields_for_line(
        "bad", "[host] plugin bad (pid 4242): forbidden system call ptrace (101): killed the plugin (SIGSYS)", 17);
    CHECK(field(fields, "PRIORITY") == "4");
    CHECK(field(fields, "AIRLOCK_PLUGIN") == "bad");
    CHECK(field(fields, "AIRLOCK_PID") == "4242");
    CHECK(field(fields, "SYSCALL") == "ptrace");
    CHECK(field(fields, "SYSCALL_NR") == "101");
    CHECK(field(fields, "SYSLOG_IDENTIFIER") == "airlock-host");
}

TEST_CASE("journal fields: failed is an error, plugin output is info with the current pid") {
    CHECK(field(journal_fields_for_line("p", "[host] plugin p: state failed (start limit)", -1), "PRIORITY") == "3");
    CHECK(field(journal_fields_for_line("p", "[host] plugin p: state failed (start limit)", -1), "AIRLOCK_PID") == "<none>");
    const auto output = journal_fields_for_line("p", "[p] state failed is just text here", 99);
    CHECK(field(output, "PRIORITY") == "6");
    CHECK(field(output, "AIRLOCK_PID") == "99");
    CHECK(field(output, "SYSCALL") == "<none>");
}

TEST_CASE("journal datagram: plain values as KEY=value, values with newlines length-prefixed") {
    CHECK(journal_datagram({{"MESSAGE", "hi"}, {"PRIORITY", "6"}}) == "MESSAGE=hi\nPRIORITY=6\n");
    const std::string expected = std::string("MESSAGE\n") + std::string("\x03\0\0\0\0\0\0\0", 8) + "a\nb\n";
    CHECK(journal_datagram({{"MESSAGE", "a\nb"}}) == expected);
}

TEST_CASE("journal fields: the SDK's warning and error log records keep their severity") {
    CHECK(field(journal_fields_for_line("p", "[p] warning: disk almost full", 5), "PRIORITY") == "4");
    CHECK(field(journal_fields_for_line("p", "[p] error: cannot parse", 5), "PRIORITY") == "3");
    CHECK(field(journal_fields_for_line("p", "[p] debug: tick", 5), "PRIORITY") == "7");
    CHECK(field(journal_fields_for_line("p", "[q] error: not p's prefix", 5), "PRIORITY") == "6");
}
