// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/, checked in) with the
// library's own encoders, in the input layouts the targets read (support/fuzz_input.hpp):
// encode_value for message bodies, describe() for type descriptions, decode_to_json for
// JSON, real Connections for packets. Config seeds are the project's example configs.
// Run by `make fuzz-seeds` (once; the output is committed):
//   fuzz_seed_generator SOURCE_DIR OUTPUT_DIR

#include "support/codec_properties.hpp"
#include "support/fuzz_input.hpp"
#include "support/lwmsg_samples.hpp"
#include "support/sample_types.hpp"

#include "type_translation.hpp"

#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <elf.h>
#include <sys/socket.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

using namespace airlock;
using namespace airlock::protocol;
using fuzz::InputWriter;
namespace fs = std::filesystem;

fs::path output;

void write_seed(const std::string& target, const std::string& name, std::span<const std::uint8_t> bytes) {
    fs::create_directories(output / target);
    std::ofstream out(output / target / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
std::vector<std::uint8_t> encoded(const T& value, std::size_t* fd_count = nullptr) {
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    if (Status s = encode_value(value, body, fds); !s.ok()) {
        std::cerr << "seed_generator: " << s.to_string() << "\n";
        std::exit(1);
    }
    if (fd_count) *fd_count = fds.size();
    return body;
}

std::string json_of(const auto& value) {
    auto json = decode_to_json(spec_of<std::remove_cvref_t<decltype(value)>>(), encoded(value));
    if (!json) {
        std::cerr << "seed_generator: " << json.status().to_string() << "\n";
        std::exit(1);
    }
    return *json;
}

// --- sample values -------------------------------------------------------------------

fuzz::Tree sample_tree(int fd) {
    fuzz::Tree tree;
    fuzz::Node node;
    node.name = "root";
    node.data = Bytes<32>{1, 2, 3, 255};
    node.scalars = fuzz::Scalars{true, -5, 65535, -70000, 1ull << 40, -(1ll << 50), fuzz::Shade::Dark};
    node.fd = UniqueFd(fd >= 0 ? ::dup(fd) : -1);
    node.more_fds.push_back(std::nullopt);
    node.more_fds.push_back(UniqueFd(fd >= 0 ? ::dup(fd) : -1));
    node.grid = {{1, 2, 3}, {}, {9}};
    tree.nodes.push_back(std::move(node));
    fuzz::Node second;
    second.name = "leaf";
    tree.nodes.push_back(std::move(second));
    tree.note = String<8>("note");
    tree.cube = {{{1, -1}, {}}, {{0}}};
    return tree;
}

GrantTable sample_grants(int fd) {
    GrantTable table;
    table.plugin_name = "demo";
    table.grants.push_back(GrantEntry{String<64>("input"), GrantKind::File, GrantAccess::Read, UniqueFd(fd >= 0 ? ::dup(fd) : -1), 12});
    table.grants.push_back(GrantEntry{String<64>("out"), GrantKind::Directory, GrantAccess::ReadWrite, UniqueFd(fd >= 0 ? ::dup(fd) : -1), 0});
    table.grants.push_back(GrantEntry{String<64>("shm"), GrantKind::Memfd, GrantAccess::ReadWrite, UniqueFd(), 4096});
    return table;
}

struct Greeting {
    String<64> name;
    std::uint8_t times = 0;
    std::optional<Vector<String<16>, 4>> tags;
};
AIRLOCK_STRUCT(Greeting, name, times, tags)

ReadyNotice sample_ready() {
    ReadyNotice ready;
    ready.methods.push_back(MethodAnnouncement{String<64>("greet"), 100, String<16384>(describe(spec_of<Greeting>())),
                                               String<16384>(describe(spec_of<ActionReply>()))});
    ready.methods.push_back(MethodAnnouncement{String<64>("grants"), 101, String<16384>(describe(spec_of<PluginRequest>())),
                                               String<16384>(describe(spec_of<GrantTable>()))});
    return ready;
}

Greeting sample_greeting() { return Greeting{String<64>("world"), 2, Vector<String<16>, 4>{String<16>("a"), String<16>("b")}}; }

StatusReply sample_status() {
    StatusReply reply;
    PluginStatusEntry entry;
    entry.name = "demo";
    entry.state = "ready";
    entry.pid = 42;
    entry.uptime_ms = 1000;
    entry.last_exit = "exited with status 1";
    entry.progress = ProgressEntry{String<128>("indexing"), 3, 10, String<512>("half"), 5};
    reply.plugins.push_back(entry);
    return reply;
}

// --- per target --------------------------------------------------------------------------

void codec_seeds(int fd) {
    int n = 0;
    auto seed = [&](std::uint8_t selector, std::span<const std::uint8_t> body) {
        write_seed("fuzz_codec", "seed-" + std::to_string(n++), InputWriter().uint(selector, 1).raw(body).bytes());
    };
    std::size_t fds = 0;
    auto tree = encoded(sample_tree(fd), &fds);
    seed(static_cast<std::uint8_t>(0 | (fds << 4)), tree);
    seed(0, encoded(sample_tree(-1)));
    seed(0, encoded(fuzz::Tree{}));
    seed(1, encoded(fuzz::Node{}));
    seed(2, encoded(fuzz::Scalars{true, 1, 2, 3, 4, 5, fuzz::Shade::Light}));
    seed(3, encoded(Vector<String<4>, 3>{String<4>("ab"), String<4>("cdef")}));
}

void plugin_protocol_seeds(int fd) {
    int n = 0;
    auto seed = [&](std::uint8_t selector, std::span<const std::uint8_t> body) {
        write_seed("fuzz_plugin_protocol", "seed-" + std::to_string(n++), InputWriter().uint(selector, 1).raw(body).bytes());
    };
    std::size_t fds = 0;
    auto grants = encoded(sample_grants(fd), &fds);
    seed(static_cast<std::uint8_t>(0 | (fds << 4)), grants);
    seed(1, encoded(sample_ready()));
    seed(2, encoded(LogRecord{LogLevel::Warning, String<4096>("disk almost full\nsecond line\x1b[31m")}));
    seed(3, encoded(StopRequest{5000}));
    seed(4, encoded(ProgressReport{String<128>("indexing /data"), 30, 100, String<512>("files")}));
    seed(5, encoded(StopReply{2}));
    seed(6, encoded(ProgressAck{7}));
    seed(7, encoded(CallError{5, String<4096>("not found")}));
}

void control_protocol_seeds() {
    int n = 0;
    auto seed = [&](std::uint8_t selector, std::span<const std::uint8_t> body) {
        write_seed("fuzz_control_protocol", "seed-" + std::to_string(n++), InputWriter().uint(selector, 1).raw(body).bytes());
    };
    seed(0, encoded(StatusRequest{String<64>("demo")}));
    seed(1, encoded(sample_status()));
    seed(2, encoded(PluginRequest{String<64>("demo")}));
    seed(3, encoded(ActionReply{String<1024>("starting demo")}));
    seed(4, encoded(LogsReply{{String<8192>("one"), String<8192>("two")}}));
    seed(5, encoded(DescribeReply{sample_ready().methods}));
    seed(6, encoded(CallRequest{String<64>("demo"), String<64>("greet"), String<4194304>(json_of(sample_greeting())), 250}));
    seed(7, encoded(CallReply{String<16777216>(json_of(ActionReply{String<1024>("hello, world")}))}));
    seed(8, encoded(FollowLogsRequest{String<64>("demo"), true}));
    seed(9, encoded(LogLine{String<64>("demo"), String<8192>("a line")}));
    seed(10, encoded(ProgressEntry{String<128>("t"), 1, 2, String<512>("m"), 3}));
    seed(11, encoded(sample_status().plugins.front()));
}

template <class T>
void type_description_seed(int& n, const T& value, std::size_t fd_count = 0) {
    auto body = encoded(value);
    write_seed("fuzz_type_description", "seed-" + std::to_string(n++),
               InputWriter().uint(fd_count, 1).part(describe(spec_of<T>())).raw(body).bytes());
}

void type_description_seeds(int fd) {
    int n = 0;
    type_description_seed(n, sample_tree(-1));
    type_description_seed(n, sample_tree(fd), 2);
    type_description_seed(n, sample_greeting());
    type_description_seed(n, sample_ready());
    type_description_seed(n, sample_status());
    type_description_seed(n, sample_grants(fd), 2);
    type_description_seed(n, CallRequest{String<64>("demo"), String<64>("greet"), String<4194304>("{}"), std::nullopt});
    type_description_seed(n, Vector<Vector<std::uint16_t, 1000>, 1000>{{1, 2}, {3}});
    type_description_seed(n, LogRecord{LogLevel::Debug, String<4096>("x")});
    // Bodies written by support/body_writer.hpp from a few choices (repeated as needed).
    auto generated_seed = [&](const std::string& description, std::span<const std::uint8_t> choices) {
        write_seed("fuzz_type_description", "seed-" + std::to_string(n++),
                   InputWriter().uint(0x80, 1).part(description).raw(choices).bytes());
    };
    const std::uint8_t few[] = {3, 0, 0, 0, 1, 2};
    generated_seed(describe(spec_of<Vector<Vector<std::uint16_t, 1000>, 1000>>()), few);
    generated_seed(describe(spec_of<fuzz::Tree>()), few);
    generated_seed(describe(spec_of<StatusReply>()), few);
    generated_seed(describe(spec_of<ReadyNotice>()), few);
    // A body given as a recipe (support/fuzz_input.hpp): 3000 one-byte elements.
    Vector<std::uint8_t, 1000000> bytes(3000, 7);
    std::vector<std::uint8_t> body = encoded(bytes);
    write_seed("fuzz_type_description", "seed-" + std::to_string(n++),
               InputWriter()
                   .uint(0, 1)
                   .part(describe(spec_of<decltype(bytes)>()))
                   .recipe(3000, fuzz::as_text(std::span(body).first(4)), "\x07", "")
                   .bytes());
}

void json_seeds(int fd) {
    int n = 0;
    auto seed = [&](std::uint8_t selector, const std::string& json) {
        write_seed("fuzz_json", "seed-" + std::to_string(n++), InputWriter().uint(selector, 1).raw(json).bytes());
    };
    // The selector indexes fuzz_json.cpp's list of types.
    seed(0, json_of(sample_tree(-1)));
    (void)fd;
    seed(1, json_of(sample_grants(-1)));
    seed(2, json_of(sample_ready()));
    seed(3, json_of(ProgressReport{String<128>("indexing"), 1, 2, String<512>("m")}));
    seed(4, json_of(sample_status()));
    seed(5, json_of(Vector<std::int64_t, 1000000>{-1, 0, 9223372036854775807ll}));
    seed(6, json_of(Bytes<1000000>{0, 1, 2, 250}));
    seed(7, json_of(String<4194304>("text with \"quotes\", \\ and \xc3\xa9")));
    // A recipe (support/fuzz_input.hpp): a larger document from a short input.
    std::string element = json_of(std::int64_t{12345});
    write_seed("fuzz_json", "seed-" + std::to_string(n++),
               InputWriter().uint(5, 1).recipe(4, "[", element + ",", element + "]").bytes());
}

void control_server_seeds() {
    int n = 0;
    auto ready = encoded(sample_ready());
    auto reply = encoded(ActionReply{String<1024>("hello, world")});
    auto requests = [&](InputWriter writer, std::initializer_list<std::pair<std::uint8_t, std::vector<std::uint8_t>>> list) {
        for (const auto& [tag, body] : list) writer.uint(tag, 1).part(body);
        write_seed("fuzz_control_server", "seed-" + std::to_string(n++), writer.bytes());
    };
    auto script = [&] { return InputWriter().uint(0, 1).part(ready).part(reply); };
    requests(script(), {{control::status.tag, encoded(StatusRequest{})}});
    requests(script(), {{control::status.tag, encoded(StatusRequest{String<64>("demo")})},
                        {control::start.tag, encoded(PluginRequest{String<64>("demo")})},
                        {control::stop.tag, encoded(PluginRequest{String<64>("nope")})},
                        {control::restart.tag, encoded(PluginRequest{String<64>("demo")})}});
    requests(script(), {{control::logs.tag, encoded(PluginRequest{String<64>("demo")})},
                        {control::describe.tag, encoded(PluginRequest{String<64>("demo")})}});
    requests(script(), {{control::call.tag, encoded(CallRequest{String<64>("demo"), String<64>("greet"),
                                                                 String<4194304>(json_of(sample_greeting())), 100})}});
    requests(InputWriter().uint(0, 1).part(ready).part(encoded(sample_grants(-1))),
             {{control::call.tag, encoded(CallRequest{String<64>("demo"), String<64>("grants"),
                                                       String<4194304>(json_of(PluginRequest{String<64>("x")})), std::nullopt})}});
    requests(script(), {{control::follow_logs.tag, encoded(FollowLogsRequest{String<64>("demo"), true})},
                        {control::status.tag, encoded(StatusRequest{})}});
    requests(script(), {{control::log_line.tag, encoded(LogLine{String<64>("demo"), String<8192>("x")})}, {0, {}}});
}

/// Packets as real Connections send them: a peer's hello, then messages (small packets, so
/// bodies are fragmented) with their descriptors, captured from the socket with recvmsg.
void packet_seeds(int fd) {
    auto capture = [](int socket, InputWriter& writer) {
        for (;;) {
            std::uint8_t buffer[65536];
            alignas(cmsghdr) char control[CMSG_SPACE(64 * sizeof(int))];
            iovec part{buffer, sizeof buffer};
            msghdr header{};
            header.msg_iov = &part;
            header.msg_iovlen = 1;
            header.msg_control = control;
            header.msg_controllen = sizeof control;
            ssize_t got = ::recvmsg(socket, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
            if (got < 0) return;
            std::size_t fds = 0;
            for (cmsghdr* c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c)) {
                if (c->cmsg_type != SCM_RIGHTS) continue;
                fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (std::size_t i = 0; i < fds; ++i) {
                    int received;
                    std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
                    ::close(received);
                }
            }
            writer.uint(fds, 1).uint(static_cast<std::size_t>(got), 2).raw(std::span(buffer, static_cast<std::size_t>(got)));
        }
    };
    int n = 0;
    auto session = [&](auto send_messages) {
        int pair[2];
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair);
        Connection sender(plugin_host_protocol());
        (void)sender.set_packet_size(Connection::kMinPacketSize);
        (void)sender.set_fd(ConnectionMode::Pair, UniqueFd(pair[0]));
        (void)sender.start();
        InputWriter hello;
        capture(pair[1], hello);  // the sender's hello: the seed's first packet
        // Complete the sender's handshake with a hello of its own kind.
        int other[2];
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, other);
        Connection peer(plugin_host_protocol());
        (void)peer.set_fd(ConnectionMode::Pair, UniqueFd(other[0]));
        (void)peer.start();
        std::uint8_t peer_hello[1024];
        ssize_t size = ::recv(other[1], peer_hello, sizeof peer_hello, 0);
        ::send(pair[1], peer_hello, static_cast<std::size_t>(size), 0);
        ::close(other[1]);
        (void)sender.on_readable();
        InputWriter writer = hello;
        send_messages(sender);
        capture(pair[1], writer);
        ::close(pair[1]);
        write_seed("fuzz_packet_framing", "seed-" + std::to_string(n++), writer.bytes());
    };
    session([](Connection&) {});
    session([&](Connection& c) { (void)c.send_value(grant_table.tag, sample_grants(fd)); });
    session([&](Connection& c) { (void)c.send_value(ready.tag, sample_ready()); });
    session([&](Connection& c) {
        (void)c.send_value(log_record.tag, LogRecord{LogLevel::Info, String<4096>(std::string(1500, 'l'))});
        (void)c.send_value(log_record.tag, LogRecord{LogLevel::Error, String<4096>("short")});
    });
}

void config_seeds(const fs::path& source) {
    int n = 0;
    for (const char* dir : {"config", "examples"})
        for (const auto& entry : fs::recursive_directory_iterator(source / dir))
            if (entry.path().extension() == ".toml") {
                std::ifstream in(entry.path(), std::ios::binary);
                std::string text((std::istreambuf_iterator<char>(in)), {});
                write_seed("fuzz_config", "seed-" + std::to_string(n++) + "-" + entry.path().stem().string(),
                           std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
            }
}

// --- regression inputs ---------------------------------------------------------------
// Inputs for bugs that were fixed (docs/fuzzing.md, "Regression inputs"): each makes its
// target fail at once (timeout or out-of-memory) if the fix is reverted, and passes fast with
// it. They are literal, not encoder output, where the library now refuses to produce them.

// --- executables (fuzz_executable_header) ------------------------------------------------

// A minimal x86_64 ELF header with one PT_INTERP program header, after a PT_LOAD one.
std::string elf_with_interpreter(const std::string& interpreter) {
    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_DYN;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_phoff = sizeof header;
    header.e_ehsize = sizeof header;
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = 2;
    Elf64_Phdr load{};
    load.p_type = PT_LOAD;
    Elf64_Phdr interp{};
    interp.p_type = PT_INTERP;
    interp.p_offset = sizeof header + 2 * sizeof(Elf64_Phdr);
    interp.p_filesz = interpreter.size() + 1;
    std::string file(reinterpret_cast<const char*>(&header), sizeof header);
    file.append(reinterpret_cast<const char*>(&load), sizeof load);
    file.append(reinterpret_cast<const char*>(&interp), sizeof interp);
    file += interpreter;
    file += '\0';
    return file;
}

void executable_header_seeds() {
    const auto seed = [](const std::string& name, const std::string& bytes) {
        write_seed("fuzz_executable_header", name,
                   std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    };
    seed("elf-interp", elf_with_interpreter("/lib64/ld-linux-x86-64.so.2"));
    std::string static_elf = elf_with_interpreter("");
    static_elf[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr)] = PT_NOTE;  // the second header is no PT_INTERP
    seed("elf-static", static_elf);
    // Laid out as a linker lays out a dynamic executable: PHDR, INTERP, LOADs, DYNAMIC, NOTE,
    // GNU_STACK (types only; the target reads no other field).
    std::string linked = elf_with_interpreter("/lib64/ld-linux-x86-64.so.2");
    {
        Elf64_Ehdr header;
        std::memcpy(&header, linked.data(), sizeof header);
        const std::string interp = linked.substr(sizeof header + 2 * sizeof(Elf64_Phdr));
        const std::uint32_t types[] = {PT_PHDR, PT_INTERP, PT_LOAD, PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_STACK};
        header.e_phnum = std::size(types);
        linked.assign(reinterpret_cast<const char*>(&header), sizeof header);
        for (std::uint32_t type : types) {
            Elf64_Phdr program_header{};
            program_header.p_type = type;
            if (type == PT_INTERP) {
                program_header.p_offset = sizeof header + std::size(types) * sizeof(Elf64_Phdr);
                program_header.p_filesz = interp.size();
            }
            linked.append(reinterpret_cast<const char*>(&program_header), sizeof program_header);
        }
        linked += interp;
    }
    seed("elf-linked", linked);
    seed("script-sh", "#!/bin/sh\necho hi\n");
    seed("script-argument", "#! /usr/bin/env\tpython3 -u  \nprint(1)\n");
    seed("script-nul", std::string("#!/bin/sh\0 -x\n", 14));
    seed("script-relative", "#!sh -e\n");
    seed("script-unended", "#!/bin/sh" + std::string(300, ' ') + "-e");
    seed("script-blank", "#! \t \n");
}

// --- LWMsg C API (fuzz_lwmsg_decode) ---------------------------------------------------

void lwmsg_seed(const std::string& name, std::size_t spec, void* data) {
    std::unique_ptr<lwmsg::TypeTranslation> type;
    if (auto outcome = lwmsg::TypeTranslation::translate(fuzz::lwmsg_samples::kSpecs[spec], type); !outcome.ok()) {
        std::cerr << "seed_generator: " << outcome.message << "\n";
        std::exit(1);
    }
    std::vector<std::uint8_t> body;
    std::vector<int> fds;
    if (auto outcome = type->encode(data, body, fds); !outcome.ok()) {
        std::cerr << "seed_generator: " << outcome.message << "\n";
        std::exit(1);
    }
    std::vector<std::uint8_t> input{static_cast<std::uint8_t>(spec | (fds.size() << 3))};
    input.insert(input.end(), body.begin(), body.end());
    write_seed("fuzz_lwmsg_decode", name, input);
}

void lwmsg_seeds(int fd) {
    using namespace fuzz::lwmsg_samples;
    Numbers numbers{-5, 65535, -1, UINT64_MAX, INT64_MIN, 7, -300};
    lwmsg_seed("numbers", 0, &numbers);
    char optional_text[] = "optional";
    char text[] = "text";
    std::uint8_t data[] = {0, 1, 2, 0xff};
    Strings strings{optional_text, text, 4, data};
    lwmsg_seed("strings", 1, &strings);
    Strings bare{nullptr, text, 0, nullptr};
    lwmsg_seed("strings-null", 1, &bare);
    char name[] = "entry";
    Entry entry{name, fd, 42};
    lwmsg_seed("entry", 2, &entry);
    Entry entries[2] = {{name, fd, 1}, {nullptr, -1, -2}};
    Entry single{name, fd, 3};
    Table table{2, entries, &single, fd};
    lwmsg_seed("table", 3, &table);
    char* names[3] = {name, nullptr, text};
    Inner inners[2] = {{3, names}, {0, nullptr}};
    Nested nested{{2, names}, &table, 2, inners};
    lwmsg_seed("nested", 4, &nested);
    lwmsg_seed("string-payload", 5, text);
    int many[3] = {fd, -1, fd};
    Fds fds{fd, 0, 3, many};
    lwmsg_seed("fds", 6, &fds);
    lwmsg_seed("void", 7, nullptr);
}

std::string u32_bytes(std::uint32_t value) {
    auto bytes = InputWriter().uint(value, 4).bytes();
    return fuzz::as_text(bytes);
}

// sec-decoder: ParsedType::parse accepted an empty struct (AIRLOCK_STRUCT cannot declare one,
// so describe() cannot write this text), and the vector count bound assumed at least one byte
// per element. A 64 KiB body of 16,383 inner vectors each claiming 32,768 empty structs then
// made decode_to_json write "{}," about 500 million times. The fix refuses the description.
void empty_struct_regression() {
    const std::string description = "vector<vector<struct E{},4294967295>,4294967295>";
    write_seed("fuzz_type_description", "regression-empty-struct-vectors",
               InputWriter()
                   .uint(0, 1)  // mode: no descriptors, the body as given (a recipe)
                   .part(description)
                   .recipe(16383, u32_bytes(16383), u32_bytes(32768), "")
                   .bytes());
}

// sec-decoder: the JSON reader checked duplicate member names with a linear scan per member.
// An object with 14,000 members "0", "1", ... (128 KiB, fuzz_json's expansion cap) then took
// seconds under ASan. The fix hashes the names and refuses objects over 4096 members.
void many_keys_regression() {
    std::string value = json_of(std::int64_t{0});
    write_seed("fuzz_json", "regression-many-keys",
               InputWriter().uint(0, 1).recipe(14000, "{", "\"$\":" + value + ",", "\"end\":" + value + "}", true).bytes());
}

// redteam7-decode: the parser's refusal quoted the description around the error as it was,
// and a plugin's refused announcement reached the host's log and airlockctl status with its
// escapes (OSC, CSI, C1 CSI), a newline forging a host line, and invalid UTF-8. The fix
// quotes it through printable_text; the target checks the refusal is terminal-safe.
void escaping_description_regression() {
    write_seed("fuzz_type_description", "regression-escaping-description",
               InputWriter()
                   .uint(0, 1)
                   .part(std::string("\x1b]0;owned\x07\x1b[2J\n[host] plugin good: state forged\r\xc2\x9b") + "1m\xff")
                   .bytes());
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: fuzz_seed_generator SOURCE_DIR OUTPUT_DIR\n";
        return 2;
    }
    output = argv[2];
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    codec_seeds(fd);
    plugin_protocol_seeds(fd);
    control_protocol_seeds();
    type_description_seeds(fd);
    json_seeds(fd);
    control_server_seeds();
    packet_seeds(fd);
    config_seeds(argv[1]);
    executable_header_seeds();
    lwmsg_seeds(fd);
    empty_struct_regression();
    many_keys_regression();
    escaping_description_regression();
    return 0;
}
