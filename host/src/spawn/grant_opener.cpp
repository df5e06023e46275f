// Parent-side opening of grants: each descriptor carries exactly the configured access.
#include <airlock/host/grant_opener.hpp>

#include <airlock/host/device_grant.hpp>
#include <airlock/host/no_follow_open.hpp>

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::host {
namespace {

// Newer than the 6.1 uapi headers (see PLATFORM.md).
constexpr unsigned kMfdNoexecSeal = 0x0008U;

[[noreturn]] void fail(const GrantConfig& grant, const std::string& what, int error_number) {
    std::string message = "grant '" + grant.name + "' (" + grant_kind_name(grant.kind);
    if (!grant.path.empty()) message += " " + grant.path;
    message += ")";
    if (!grant.where.file.empty()) {
        message += " at " + grant.where.file + ":" + std::to_string(grant.where.line) + ":" +
                   std::to_string(grant.where.column);
    }
    message += ": " + what;
    if (error_number != 0) message += ": " + std::string(std::strerror(error_number));
    throw GrantError(message);
}

constexpr const char* kNoLinks = "grants never follow links";

// A refusal in the style `grant "state": /path/x is a symbolic link; grants never follow links`.
[[noreturn]] void refuse(const GrantConfig& grant, const std::string& why) {
    throw GrantError("grant \"" + grant.name + "\": " + why);
}

// Opens the grant's path without following any link and checks its type on the descriptor.
NoFollowFile open_path(const GrantConfig& grant, int flags, ExpectedType expected, const char* failure) {
    int error = 0;
    auto opened = open_no_follow(grant.path, flags, 0600, expected, kNoLinks, &error);
    if (opened) return std::move(*opened);
    if (error != 0) fail(grant, failure, error);
    refuse(grant, opened.status().message());
}

// A second name for a file or socket somewhere else, planted where a plugin or another local
// user can write: the host opens or connects to it as root (only fs.protected_hardlinks stops
// a user linking what they cannot use, and plugins' own writable directories count too).
void refuse_planted_hard_link(const GrantConfig& grant, const struct stat& status,
                              const std::vector<std::string>& writable_directories) {
    if (status.st_nlink <= 1) return;
    const std::string names = std::to_string(status.st_nlink) + " names";
    if (const std::string* directory = writable_directory_holding(grant.path, writable_directories)) {
        refuse(grant, grant.path + " is a hard link (" + names + ") inside the plugin-writable directory " +
                          *directory + "; " + kNoLinks);
    }
    if (Status trusted = check_only_host_can_change(grant.path); !trusted.ok()) {
        refuse(grant, grant.path + " is a hard link (" + names + ") where another user could have made it (" +
                          trusted.message() + "); " + kNoLinks);
    }
}

int file_access_flags(GrantAccess access) noexcept {
    switch (access) {
    case GrantAccess::Read: return O_RDONLY;
    case GrantAccess::Write: return O_WRONLY;
    case GrantAccess::Append: return O_WRONLY | O_APPEND;
    case GrantAccess::ReadWrite: return O_RDWR;
    }
    return O_RDONLY;
}

UniqueFd open_file(const GrantConfig& grant, const std::vector<std::string>& writable_directories) {
    // O_NONBLOCK only for the open itself: a FIFO must not hang the host. Cleared below.
    int flags = file_access_flags(grant.access) | O_NOCTTY | O_NONBLOCK;
    if (grant.create) flags |= O_CREAT;
    // Open any type first, so a directory gets the hint below rather than a bare type error.
    NoFollowFile opened = open_path(grant, flags, ExpectedType::Any, "cannot open");
    UniqueFd& fd = opened.fd;
    if (S_ISDIR(opened.status.st_mode)) fail(grant, "is a directory (use `dir = ...` for directories)", 0);
    const mode_t mode = opened.status.st_mode;
    if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISCHR(mode) && !S_ISBLK(mode))
        refuse(grant, grant.path + " is not a regular file, FIFO or device");
    // A terminal's ioctls act on everyone using it (termios, window size) and, once the plugin
    // makes it its controlling terminal (TIOCSCTTY), type into it (TIOCSTI); Landlock's
    // device-ioctl right covers only what the plugin opens itself. Never handed over, as for
    // stdio = "inherit".
    if (S_ISCHR(opened.status.st_mode) && ::isatty(fd.get()) != 0)
        refuse(grant, grant.path + " is a terminal: a plugin never gets a terminal's descriptor (its ioctls would "
                                   "change the terminal for everyone using it, or type into it)");
    // Any other device brings all its driver's ioctls along; only on request (device = true),
    // checked on what was opened, every start.
    if (!grant.device) {
        if (const std::string why = device_grant_refusal(grant.path, opened.status); !why.empty()) refuse(grant, why);
    }
    refuse_planted_hard_link(grant, opened.status, writable_directories);
    if (::fcntl(fd.get(), F_SETFL, file_access_flags(grant.access) & O_APPEND) != 0) {
        fail(grant, "cannot clear O_NONBLOCK", errno);
    }
    return std::move(fd);
}

UniqueFd open_directory(const GrantConfig& grant, bool detach) {
    // Read-only whatever the access: a directory descriptor cannot carry write access;
    // writing beneath a read-write grant is allowed by the plugin's Landlock ruleset.
    UniqueFd directory =
        std::move(open_path(grant, O_DIRECTORY | O_RDONLY, ExpectedType::Directory, "cannot open directory").fd);
    if (!detach) return directory;
    // A descriptor of the host's mount leads through ".." to the host's whole tree, past the
    // plugin's private root: fstatat, readlinkat, faccessat and O_PATH opens there are not
    // Landlock's to check. A detached copy of the mount, rooted at the grant (a bind mount
    // in no namespace), has nothing above it. Closing `tree` detaches it; the plugin's
    // descriptor keeps it alive.
    UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, directory.get(), "",
                                             AT_EMPTY_PATH | AT_RECURSIVE | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree) fail(grant, "cannot make a detached copy of its mount (so that \"..\" ends at the grant)", errno);
    UniqueFd inside(::openat(tree.get(), ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!inside) fail(grant, "cannot open directory", errno);
    return inside;
}

UniqueFd connect_socket(const GrantConfig& grant, const std::vector<std::string>& writable_directories) {
    // connect() would follow links: connect instead to the O_PATH descriptor of the socket
    // inode that was opened without following any, through its /proc/self/fd magic link.
    NoFollowFile socket_path = open_path(grant, O_PATH, ExpectedType::Socket, "cannot connect");
    refuse_planted_hard_link(grant, socket_path.status, writable_directories);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string by_descriptor = "/proc/self/fd/" + std::to_string(socket_path.fd.get());
    std::memcpy(address.sun_path, by_descriptor.c_str(), by_descriptor.size() + 1);
    // Try the socket types a listener may speak; connecting to the wrong one is EPROTOTYPE.
    int last_error = 0;
    for (int type : {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM}) {
        // Non-blocking so a full backlog is an error instead of a hung host.
        UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd) fail(grant, "cannot create socket", errno);
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
            // A datagram socket can still sendto() any address; only on request.
            if (type == SOCK_DGRAM && !grant.datagram) {
                refuse(grant, grant.path + " is a datagram socket; set datagram = true to allow it "
                                           "(a datagram grant can reach any datagram socket on the machine)");
            }
            if (::fcntl(fd.get(), F_SETFL, 0) != 0) fail(grant, "cannot clear O_NONBLOCK", errno);
            return fd;
        }
        last_error = errno;
        if (last_error != EPROTOTYPE) break;
    }
    if (last_error == EAGAIN) fail(grant, "cannot connect: the listener's backlog is full", 0);
    fail(grant, "cannot connect", last_error);
}

UniqueFd create_memfd(const GrantConfig& grant) {
    const std::string name = "airlock:" + grant.name;
    // Not executable where the kernel supports it: an exec'able memfd would let a plugin
    // run code that no Landlock execute rule covers.
    UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdNoexecSeal));
    if (!fd && errno == EINVAL) fd.reset(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) fail(grant, "cannot create memfd", errno);
    if (::ftruncate(fd.get(), static_cast<off_t>(grant.size)) != 0) {
        fail(grant, "cannot size memfd to " + std::to_string(grant.size) + " bytes", errno);
    }
    // A fixed size: a plugin shrinking the buffer would make a host mapping fault (SIGBUS).
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        fail(grant, "cannot seal memfd size", errno);
    }
    return fd;
}

} // namespace

OpenedGrant open_grant(const GrantConfig& grant, const std::vector<std::string>& writable_directories,
                       bool detach_directories) {
    OpenedGrant opened;
    opened.name = grant.name;
    opened.kind = grant.kind;
    opened.access = grant.access;
    switch (grant.kind) {
    case GrantKind::File: opened.fd = open_file(grant, writable_directories); break;
    case GrantKind::Directory: opened.fd = open_directory(grant, detach_directories); break;
    case GrantKind::Connect: opened.fd = connect_socket(grant, writable_directories); break;
    case GrantKind::Memfd: opened.fd = create_memfd(grant); break;
    }
    return opened;
}

std::vector<OpenedGrant> open_grants(const std::vector<GrantConfig>& grants,
                                     const std::vector<std::string>& writable_directories,
                                     bool detach_directories) {
    std::vector<OpenedGrant> opened;
    opened.reserve(grants.size());
    for (const auto& grant : grants) opened.push_back(open_grant(grant, writable_directories, detach_directories));
    return opened;
}

} // namespace airlock::host
