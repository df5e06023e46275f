// A test plugin for the Landlock ruleset reuse tests: runs its commands in order and prints
// one line per result. Built twice, as a dynamically linked program and as a static PIE
// (RULESET_PROBE_VARIANT), so a test can tell which executable a launch ran and whether
// Landlock let the kernel execute it (and, when dynamic, its ELF interpreter).
//
//   variant        "variant dynamic" or "variant static"
//   open PATH      "open PATH ok" or "open PATH <errno name>" (O_RDONLY)
//   create PATH    "create PATH ok" or "create PATH <errno name>" (O_WRONLY|O_CREAT|O_EXCL)
//   await PATH     polls stat(PATH) (Landlock does not restrict stat) every millisecond for
//                  up to 10 s: "await PATH ok" or "await PATH timeout"
//   msgqueue KEY   creates a System V message queue with that key and leaves it behind:
//                  "msgqueue KEY created" or "msgqueue KEY <errno name>" (EEXIST: one is there)
#include <fcntl.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#ifndef RULESET_PROBE_VARIANT
#error "RULESET_PROBE_VARIANT must name the build (dynamic or static)"
#endif

namespace {

const char* error_name(int error) {
    const char* name = strerrorname_np(error);
    return name != nullptr ? name : "?";
}

void report_open(const char* command, const char* path, int flags) {
    int fd = open(path, flags | O_CLOEXEC, 0644);
    std::printf("%s %s %s\n", command, path, fd >= 0 ? "ok" : error_name(errno));
    if (fd >= 0) close(fd);
}

bool await_path(const char* path) {
    const timespec pause{0, 1000000};
    for (int attempt = 0; attempt < 10000; ++attempt) {
        struct stat status {};
        if (stat(path, &status) == 0) return true;
        nanosleep(&pause, nullptr);
    }
    return false;
}

} // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    for (int i = 1; i < argc; ++i) {
        const char* command = argv[i];
        const char* argument = i + 1 < argc ? argv[i + 1] : "";
        if (std::strcmp(command, "variant") == 0) {
            std::printf("variant %s\n", RULESET_PROBE_VARIANT);
            continue;
        }
        ++i;
        if (std::strcmp(command, "open") == 0) {
            report_open(command, argument, O_RDONLY);
        } else if (std::strcmp(command, "create") == 0) {
            report_open(command, argument, O_WRONLY | O_CREAT | O_EXCL);
        } else if (std::strcmp(command, "msgqueue") == 0) {
            const int queue = msgget(static_cast<key_t>(std::atoi(argument)), IPC_CREAT | IPC_EXCL | 0600);
            std::printf("msgqueue %s %s\n", argument, queue >= 0 ? "created" : error_name(errno));
        } else if (std::strcmp(command, "await") == 0) {
            std::printf("await %s %s\n", argument, await_path(argument) ? "ok" : "timeout");
        } else {
            std::fprintf(stderr, "ruleset_probe: unknown command %s\n", command);
            return 2;
        }
    }
    return 0;
}
