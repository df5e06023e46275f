#include "support.hpp"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace bench {

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

int choose_cpu() {
    if (const char* chosen = std::getenv("AIRLOCK_BENCH_CPU"); chosen && *chosen) return std::atoi(chosen);
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) throw_errno("sched_getaffinity");
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu)
        if (CPU_ISSET(cpu, &allowed)) return cpu;
    return 0;
}

int env_int(const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value && *value ? std::max(1, std::atoi(value)) : fallback;
}

void pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) throw_errno("sched_setaffinity(cpu " + std::to_string(cpu) + ")");
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    std::size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

void print_result(std::string_view name, double value, std::string_view unit) {
    std::printf("%.*s %.3f %.*s\n", static_cast<int>(name.size()), name.data(), value, static_cast<int>(unit.size()),
                unit.data());
    std::fflush(stdout);
}

void note(const std::string& text) {
    std::fprintf(stderr, "# %s\n", text.c_str());
}

void throw_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string drain(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
    return text;
}

TempDir::TempDir(const std::string& name) {
    std::string pattern = "/tmp/airlock-" + name + "-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw_errno("mkdtemp");
    path_ = pattern;
    ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
    for (const std::string& file : files_) ::unlink(file.c_str());
    ::rmdir(path_.c_str());
}

std::string TempDir::write(const std::string& name, const std::string& content) {
    std::string full = path_ + "/" + name;
    std::ofstream out(full);
    out << content;
    if (!out.flush()) throw std::runtime_error("cannot write " + full);
    files_.push_back(full);
    return full;
}

namespace {
// Threads of this process (entries of /proc/self/task).
std::size_t thread_count() {
    std::size_t count = 0;
    if (DIR* tasks = ::opendir("/proc/self/task")) {
        while (const dirent* entry = ::readdir(tasks))
            if (entry->d_name[0] != '.') ++count;
        ::closedir(tasks);
    }
    return count;
}
} // namespace

Child::Child(int cpu, std::function<void()> body) {
    if (thread_count() != 1) {
        throw std::runtime_error("bench Child: the process has " + std::to_string(thread_count()) +
                                 " threads; a child that runs code without exec needs a single-threaded parent");
    }
    std::fflush(nullptr);  // the child must not flush the parent's buffered output again
    pid_ = ::fork();
    if (pid_ < 0) throw_errno("fork");
    if (pid_ == 0) {
        int code = 0;
        try {
            pin_to_cpu(cpu);
            body();
        } catch (const std::exception& error) {
            std::fprintf(stderr, "benchmark peer: %s\n", error.what());
            code = 1;
        }
        std::fflush(nullptr);
        ::_exit(code);
    }
}

Child::~Child() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

void Child::join() {
    int status = 0;
    pid_t pid = std::exchange(pid_, -1);
    if (::waitpid(pid, &status, 0) < 0) throw_errno("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("the benchmark peer process failed (wait status " + std::to_string(status) + ")");
}

void interleave(int rounds, int sides, const std::function<void(int round, int side)>& segment) {
    for (int round = 0; round <= rounds; ++round)
        for (int k = 0; k < sides; ++k) segment(round, (round + k) % sides);
}

void PairedRounds::record(int round, int side, double value) {
    pending_[side] = value;
    const bool round_done = side != round % 2;  // the second segment of this round
    if (round > 0 && round_done) {
        subject.push_back(pending_[0]);
        raw.push_back(pending_[1]);
        ratios.push_back(pending_[0] / pending_[1]);
    }
}

} // namespace bench
