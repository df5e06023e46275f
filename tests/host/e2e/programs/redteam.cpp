// The "redteam" plugin: a hostile plugin for the redteam_*_test.cpp cases. Like the
// "attempt" plugin it performs ONE action named by its first argument and reports it as one
// line on stdout (`redteam ACTION: blocked errno=E...` or `redteam ACTION: SUCCEEDED ...`),
// but its actions go after what the host shares with the plugin rather than what the sandbox
// forbids outright: the caller's inherited descriptions, the host's log, sibling plugins.
// stdout is unbuffered so a line printed before a fatal call is not lost.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

const char* g_action = "?";

int report(long result) {
    if (result < 0) {
        const char* name = strerrorname_np(errno);
        std::printf("redteam %s: blocked errno=%s\n", g_action, name != nullptr ? name : "?");
    } else {
        std::printf("redteam %s: SUCCEEDED\n", g_action);
    }
    return 0;
}

int to_int(const char* text) { return static_cast<int>(std::strtol(text, nullptr, 10)); }

// Sets (or clears) `flag` in the status flags of the open file description behind `fd`.
long change_status_flag(int fd, int flag, bool on) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return ::fcntl(fd, F_SETFL, on ? (flags | flag) : (flags & ~flag));
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    if (argc < 2) return 2;
    g_action = argv[1];
    const char* action = argv[1];
    const int fd = argc > 2 ? to_int(argv[2]) : 1;

    // --- the caller's open file descriptions (stdio = "inherit") --------------------------
    if (!std::strcmp(action, "set-nonblock")) return report(change_status_flag(fd, O_NONBLOCK, true));
    if (!std::strcmp(action, "fionbio")) {
        int on = 1;
        return report(::ioctl(fd, FIONBIO, &on));
    }
    if (!std::strcmp(action, "fioasync")) {
        int on = 1;
        return report(::ioctl(fd, FIOASYNC, &on));
    }
    if (!std::strcmp(action, "set-async")) return report(change_status_flag(fd, O_ASYNC, true));
    if (!std::strcmp(action, "clear-append")) return report(change_status_flag(fd, O_APPEND, false));
    if (!std::strcmp(action, "rewrite-start")) {
        // Clear O_APPEND, then overwrite the first byte of the file behind `fd`.
        if (change_status_flag(fd, O_APPEND, false) < 0) return report(-1);
        return report(::pwrite(fd, "X", 1, 0) == 1 ? 0 : -1);
    }
    if (!std::strcmp(action, "fill-then-violate")) {
        // Make the shared `fd` non-blocking, fill it until the kernel says EAGAIN, then break
        // a rule: the host's report of it meets a full, non-blocking description.
        if (change_status_flag(fd, O_NONBLOCK, true) < 0) return report(-1);
        static char block[4096];
        std::memset(block, '.', sizeof block);
        while (::write(fd, block, sizeof block) > 0) {
        }
        if (errno != EAGAIN) return report(-1);
        std::printf("note filled\n");
        return report(::syscall(SYS_mlock, nullptr, 0));  // outside the default profile
    }
    if (!std::strcmp(action, "sigio-parent")) {
        // Make the parent (the host, without a PID namespace) the SIGIO owner of the shared
        // `fd` and switch on O_ASYNC: the next time the caller's reader drains the pipe the
        // kernel would send SIGIO, whose default action ends the host.
        if (::fcntl(fd, F_SETOWN, ::getppid()) < 0 || change_status_flag(fd, O_ASYNC, true) < 0) return report(-1);
        std::printf("note owner=%d\n", ::fcntl(fd, F_GETOWN));
        for (int i = 0; i < 20; ++i) {
            (void)!::write(fd, "tick\n", 5);
            ::usleep(50 * 1000);
        }
        return report(0);
    }
    if (!std::strcmp(action, "setown-parent")) return report(::fcntl(fd, F_SETOWN, ::getppid()));
    if (!std::strcmp(action, "flock")) return report(::flock(fd, LOCK_EX | LOCK_NB));
    if (!std::strcmp(action, "tiocsti")) {
        char byte = 'x';
        return report(::ioctl(fd, TIOCSTI, &byte));
    }

    // --- text the host prints --------------------------------------------------------------
    if (!std::strcmp(action, "c1-output")) {
        // C1 controls as UTF-8 (CSI U+009B, OSC U+009D, NEL U+0085) and as raw bytes, on both
        // streams: a terminal that honours C1 would clear the screen or set its title.
        const char text[] = "A\xc2\x9b" "2J\xc2\x9d" "0;pwned\x07" "B\xc2\x85" "C\x9b" "2JD\n";
        (void)!::write(2, text, sizeof text - 1);
        std::printf("%s", text);
        return report(0);
    }

    // --- process state ---------------------------------------------------------------------
    if (!std::strcmp(action, "dumpable")) {
        rlimit core{};
        ::getrlimit(RLIMIT_CORE, &core);
        std::printf("note dumpable=%d core-soft=%llu core-hard=%llu\n", ::prctl(PR_GET_DUMPABLE),
                    static_cast<unsigned long long>(core.rlim_cur), static_cast<unsigned long long>(core.rlim_max));
        return report(0);
    }
    if (!std::strcmp(action, "raise-core")) {
        rlimit core{RLIM_INFINITY, RLIM_INFINITY};
        return report(::setrlimit(RLIMIT_CORE, &core));
    }
    if (!std::strcmp(action, "crash")) {
        std::printf("note crashing\n");
        ::raise(SIGSEGV);
        return report(0);
    }
    if (!std::strcmp(action, "seccomp-listener")) {
        // A filter of the plugin's own whose user notifications it answers itself: were it
        // accepted, its USER_NOTIF would shadow the host's (the newest filter's wins among
        // equal actions) and a CONTINUE answer would run calls the host forbids.
        sock_filter notify_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF)};
        sock_fprog program{1, notify_all};
        return report(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program));
    }
    if (!std::strcmp(action, "sleep")) {
        std::printf("note pid=%d\n", ::getpid());
        ::sleep(static_cast<unsigned>(argc > 2 ? to_int(argv[2]) : 30));
        return report(0);
    }
    return 2;
}
