// exec against bubblewrap: the whole-process wall time of sandboxing one trivial command.
//
//   exec_ms              `airlock-host exec CONFIG date`: the command fully confined (default
//                        syscall profile, Landlock, user nobody, the namespace layer, a memory
//                        cgroup from limits.memory, a pids cgroup from the default tasks limit)
//   bwrap_ms             `bwrap --unshare-all --die-with-parent --ro-bind /usr /usr ... date`
//   exec_ratio_vs_bwrap  median of the per-round ratios exec / bwrap (target <= 1.0)
//   exec_cpu_ms          CPU time (user + system) of `airlock-host exec` and every descendant,
//                        all of which it reaps: steadier than wall time on a busy machine.
//                        No such figure for bwrap: it exits without reaping its namespace's
//                        init, so wait4 never sees that process's (and the command's) CPU time
//
// Each round starts both (fork, exec, waitpid; output to /dev/null), alternating which goes
// first (A B, B A, ...), so slow phases of a shared machine hit both. Everything runs pinned
// to one CPU (the children inherit it). bubblewrap comes from `scripts/bootstrap bench`;
// without it the benchmark says so and reports nothing.
//
// Environment: AIRLOCK_BENCH_EXEC_ROUNDS (default 20), AIRLOCK_BENCH_CPU (default: the highest
// allowed CPU), AIRLOCK_BENCH_EXEC_COMMAND (default /usr/bin/date), AIRLOCK_BENCH_HOST_EXE (another
// airlock-host binary to measure, e.g. an older build for a before/after).
#include "support.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Timing {
    double wall_ms = 0;
    double cpu_ms = 0;  // user + system of the child and the descendants it reaped (wait4)
};

double milliseconds(const timeval& time) { return time.tv_sec * 1000.0 + time.tv_usec / 1000.0; }

// Runs argv with stdin, stdout and stderr on /dev/null (stderr kept when `show_errors`) and
// returns the wall time in milliseconds from fork to reaping and the CPU time; throws when it fails.
Timing run_ms(const std::vector<std::string>& argv, bool show_errors = false) {
    std::vector<char*> pointers;
    for (const auto& word : argv) pointers.push_back(const_cast<char*>(word.c_str()));
    pointers.push_back(nullptr);
    const auto start = bench::Clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) bench::throw_errno("fork");
    if (pid == 0) {
        const int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        if (!show_errors) ::dup2(null, 2);
        ::execv(pointers[0], pointers.data());
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) bench::throw_errno("wait4");
    }
    const double ms = bench::seconds_since(start) * 1000.0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (!show_errors) run_ms(argv, true);  // once more, so its complaint is visible
        throw std::runtime_error(argv[0] + " failed (status " + std::to_string(status) + ")");
    }
    return {ms, milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime)};
}

std::string config_for(const std::string& command) {
    return "[sandbox]\n"
           "system_paths = [\"/usr\", \"/lib\", \"/lib64\", \"/etc/ld.so.cache\", \"/etc/localtime\"]\n"
           "user = \"nobody\"\n"
           "require = [\"seccomp\", \"landlock\", \"no-new-privs\"]\n"
           "namespaces = \"require\"\n"
           "memory_cgroup = \"require\"\n"
           "[plugin.cmd]\n"
           "exec = \"" + command + "\"\n"
           "protocol = \"none\"\n"
           "[plugin.cmd.limits]\n"
           "memory = \"256MiB\"\n";
}

} // namespace

int main() try {
    const std::string bwrap = "/usr/bin/bwrap";
    if (::access(bwrap.c_str(), X_OK) != 0) {
        bench::note("exec_bench: no " + bwrap + " (scripts/bootstrap bench installs bubblewrap): skipped");
        return 0;
    }
    const char* command_env = std::getenv("AIRLOCK_BENCH_EXEC_COMMAND");
    const std::string command = command_env ? command_env : "/usr/bin/date";
    const int rounds = bench::env_int("AIRLOCK_BENCH_EXEC_ROUNDS", 20);
    const int cpu = bench::choose_cpu();
    bench::pin_to_cpu(cpu);

    bench::TempDir dir("exec-bench");
    const std::string config = dir.write("exec.toml", config_for(command));
    const char* host_env = std::getenv("AIRLOCK_BENCH_HOST_EXE");
    const std::vector<std::string> exec = {host_env ? host_env : AIRLOCK_HOST_EXE, "exec", config, "cmd"};
    const std::vector<std::string> bubblewrap = {bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
                                                 "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                                                 "--symlink", "usr/bin", "/bin", "--ro-bind", "/etc/ld.so.cache",
                                                 "/etc/ld.so.cache", "--", command};
    bench::note("exec_bench: " + command + ", " + std::to_string(rounds) + " interleaved rounds pinned to CPU " +
                std::to_string(cpu) + "; exec: default profile, Landlock, nobody, namespaces, memory cgroup");
    run_ms(exec);  // warm-up: page cache, the first cgroup directories
    run_ms(bubblewrap);

    std::vector<double> exec_ms, bwrap_ms, ratios, exec_cpu_ms;
    for (int round = 0; round < rounds; ++round) {
        Timing a, b;
        if (round % 2 == 0) {
            a = run_ms(exec);
            b = run_ms(bubblewrap);
        } else {
            b = run_ms(bubblewrap);
            a = run_ms(exec);
        }
        exec_ms.push_back(a.wall_ms);
        bwrap_ms.push_back(b.wall_ms);
        ratios.push_back(a.wall_ms / b.wall_ms);
        exec_cpu_ms.push_back(a.cpu_ms);
    }
    bench::print_result("exec_ms", bench::median(exec_ms), "ms");
    bench::print_result("bwrap_ms", bench::median(bwrap_ms), "ms");
    bench::print_result("exec_ratio_vs_bwrap", bench::median(ratios), "x");
    bench::print_result("exec_cpu_ms", bench::median(exec_cpu_ms), "ms");
    return 0;
} catch (const std::exception& error) {
    bench::note(std::string("exec_bench failed: ") + error.what());
    return 1;
}
