#include "journal_writer.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace airlock::host::systemd {

namespace {

constexpr const char* kDefaultJournalSocket = "/run/systemd/journal/socket";

// JOURNAL_STREAM is "DEVICE:INODE" in decimal; true when `fd` is that stream.
bool is_journal_stream(int fd, std::string_view journal_stream) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return false;
    const std::string expected = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    return journal_stream == expected;
}

} // namespace

std::string journal_datagram(const JournalFields& fields) {
    std::string datagram;
    for (const auto& [key, value] : fields) {
        if (value.find('\n') == std::string::npos) {
            datagram += key + "=" + value + "\n";
            continue;
        }
        datagram += key + "\n";
        std::uint64_t size = value.size();
        for (int byte = 0; byte < 8; ++byte) datagram += static_cast<char>((size >> (8 * byte)) & 0xff);
        datagram += value + "\n";
    }
    return datagram;
}

std::unique_ptr<JournalWriter> JournalWriter::open_if_journal_stream() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr || (!is_journal_stream(1, stream) && !is_journal_stream(2, stream))) return nullptr;
    const char* path = std::getenv("AIRLOCK_JOURNAL_SOCKET");
    return std::make_unique<JournalWriter>(path != nullptr && *path != '\0' ? path : kDefaultJournalSocket);
}

JournalWriter::JournalWriter(std::string socket_path)
    : socket_path_(std::move(socket_path)),
      socket_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {}

bool JournalWriter::send(const JournalFields& fields) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (!socket_ || socket_path_.size() >= sizeof(address.sun_path)) {
        ++dropped_;
        return false;
    }
    std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    const std::string datagram = journal_datagram(fields);
    const ssize_t sent = ::sendto(socket_.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    if (sent != static_cast<ssize_t>(datagram.size())) {
        ++dropped_;
        return false;
    }
    return true;
}

} // namespace airlock::host::systemd
