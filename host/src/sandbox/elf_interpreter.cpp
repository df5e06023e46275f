// Finds which program the kernel loads to run an executable: PT_INTERP or a #! line.
#include "airlock/host/landlock_ruleset.hpp"
#include "airlock/host/no_follow_open.hpp"
#include "airlock/host/shebang_line.hpp"

#include <airlock/connection/printable_text.hpp>

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::host {

namespace {

bool read_exact(int fd, void* buffer, std::size_t size, off_t offset) {
    auto* bytes = static_cast<char*>(buffer);
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, bytes + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

Status malformed(const std::string& path, const char* what) {
    return Status(StatusCode::Malformed, path + ": " + what);
}

Result<std::optional<std::string>> shebang_interpreter(int fd, const std::string& path) {
    char head[kShebangBytes];
    ssize_t n;
    do {
        n = pread(fd, head, sizeof head, 0);
    } while (n < 0 && errno == EINTR);
    ShebangLine line = parse_shebang_line(std::string_view(head, n < 0 ? 0 : static_cast<std::size_t>(n)));
    if (line.kind == ShebangLine::Kind::Malformed) return malformed(path, line.problem.c_str());
    if (line.kind != ShebangLine::Kind::Script) return malformed(path, "not an ELF file or #! script");
    return std::optional<std::string>{std::move(line.interpreter)};
}

} // namespace

Result<std::optional<std::string>> executable_interpreter(const std::string& path,
                                                          const std::vector<std::string>& writable_directories) {
    auto resolved = resolve_trusted_path(path, writable_directories);
    if (!resolved) return resolved.status();
    auto opened = open_no_follow(*resolved, O_RDONLY, 0, ExpectedType::RegularFile, "executables are never read through a link");
    if (!opened) return opened.status().with_context("open");
    return interpreter_of_open_file(opened->fd.get(), path);
}

Result<std::optional<std::string>> interpreter_of_open_file(int fd, const std::string& path) {
    unsigned char ident[EI_NIDENT] = {};
    if (!read_exact(fd, ident, 2, 0)) return malformed(path, "too short to be an executable");
    if (ident[0] == '#' && ident[1] == '!') return shebang_interpreter(fd, path);

    Elf64_Ehdr header{};
    if (!read_exact(fd, &header, sizeof header, 0) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
        return malformed(path, "not an ELF file or #! script");
    if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_machine != EM_X86_64)
        return malformed(path, "not a native (x86_64) executable; the seccomp filter would kill it");
    if (header.e_phentsize != sizeof(Elf64_Phdr)) return malformed(path, "unexpected program header size");

    for (unsigned i = 0; i < header.e_phnum; ++i) {
        Elf64_Phdr program_header{};
        if (!read_exact(fd, &program_header, sizeof program_header,
                        static_cast<off_t>(header.e_phoff + i * sizeof(Elf64_Phdr))))
            return malformed(path, "truncated program headers");
        if (program_header.p_type != PT_INTERP) continue;
        if (program_header.p_filesz == 0 || program_header.p_filesz > 4096)
            return malformed(path, "PT_INTERP has an implausible size");
        std::string interpreter(program_header.p_filesz, '\0');
        if (!read_exact(fd, interpreter.data(), interpreter.size(), static_cast<off_t>(program_header.p_offset)))
            return malformed(path, "truncated PT_INTERP");
        interpreter.resize(std::strlen(interpreter.c_str()));
        // The kernel would accept a relative path (from the plugin's working directory) or
        // any bytes; no real executable has either, and this path reaches the Landlock
        // rules, the private root and error messages.
        if (interpreter.empty() || interpreter[0] != '/')
            return malformed(path, "PT_INTERP is not an absolute path");
        if (printable_text(interpreter) != interpreter)
            return malformed(path, "PT_INTERP holds control characters or bytes that are not UTF-8");
        return std::optional<std::string>{interpreter};
    }
    return std::optional<std::string>{};  // static executable
}

} // namespace airlock::host
