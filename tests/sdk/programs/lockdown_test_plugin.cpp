// A plugin that locks itself down on request (airlock/plugin/lockdown.hpp), inside the real
// sandbox. It takes its grants at start-up and starts a worker thread before serving, so the
// tests can show what a lockdown does to a thread that already existed.
//   lockdown  {LockdownRequest}  build a Lockdown from the request and apply() it
//   open      {text}   read a file beneath directory grant "data" (handle taken at start-up)
//   worker    {text}   the same, on the worker thread
//   input     {}       read the file grant "input" (descriptor opened at start-up)
//   probe     {text}   one raw system call: getppid, getuid, socket (AF_UNIX), listener (a
//                      seccomp filter with its own listener), allow-all (a raw allow-all filter)
//   tid       {text}   "main" or "worker": that thread's id
//   spawn     {text}   start a new thread that returns the text reversed, join it
//   echo      {text}   the text back, with a log message to the host
// Every attempt answers ok + value, or the error: "Kind: message" for a PluginError, the
// errno name (EPERM, ...) for a raw call.
// Run as `lockdown-test-plugin outside-host` (not by a host), it checks that a lockdown works in
// a process without no_new_privs: exit 0, or the number of the check that failed (11-14).
#include "lockdown_api.hpp"

#include <airlock/plugin/lockdown.hpp>
#include <airlock/plugin/plugin.hpp>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

using airlock::plugin::Lockdown;
using airlock::plugin::Plugin;
using airlock::plugin::PluginError;
using airlock::plugin::PluginErrorKind;
using airlock::plugin::Refusal;
using namespace lockdown_test;

namespace {

const char* kind_name(PluginErrorKind kind) {
    switch (kind) {
    case PluginErrorKind::InvalidArgument: return "InvalidArgument";
    case PluginErrorKind::System: return "System";
    default: return "Other";
    }
}

template <class Action>
Outcome attempt(Action action) {
    try {
        return Outcome{true, action()};
    } catch (const PluginError& error) {
        return Outcome{false, std::string(kind_name(error.kind())) + ": " + error.what()};
    }
}

Outcome raw(long result) {
    if (result >= 0) return Outcome{true, "ok"};
    const char* name = ::strerrorname_np(errno);
    return Outcome{false, name != nullptr ? name : std::to_string(errno)};
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string word; in >> word;) result.push_back(word);
    return result;
}

Refusal refusal_from(const std::string& text) {
    if (text.empty() || text == "EPERM") return Refusal::error(EPERM);
    if (text == "EACCES") return Refusal::error(EACCES);
    if (text == "EROFS") return Refusal::error(EROFS);
    if (text == "kill") return Refusal::kill();
    return Refusal::error(std::stoi(text));
}

long install_allow_all(unsigned int flags) {
    sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    sock_fprog program{1, allow};
    long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    if (fd >= 0 && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0) ::close(static_cast<int>(fd));
    return fd;
}

// A thread started before run() that performs jobs for the handlers, one at a time.
class Worker {
public:
    // Returns once the thread runs: one still in glibc's start-up would make its start-up
    // calls (rseq, set_robust_list, ...) under whatever lockdown comes next.
    Worker() : thread_([this] { loop(); }) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return running_; });
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }
    Outcome run(std::function<Outcome()> job) {
        std::unique_lock lock(mutex_);
        job_ = std::move(job);
        result_.reset();
        changed_.notify_all();
        changed_.wait(lock, [&] { return result_.has_value(); });
        return std::move(*result_);
    }

private:
    void loop() {
        std::unique_lock lock(mutex_);
        running_ = true;
        changed_.notify_all();
        for (;;) {
            changed_.wait(lock, [&] { return stopping_ || job_; });
            if (stopping_) return;
            auto job = std::move(job_);
            job_ = nullptr;
            lock.unlock();
            Outcome outcome = job();
            lock.lock();
            result_ = std::move(outcome);
            changed_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::function<Outcome()> job_;
    std::optional<Outcome> result_;
    bool running_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once the members above exist
};

} // namespace

namespace {

// Without a host: no_new_privs is not set yet; the lockdown must set it and still install.
int lock_down_outside_host() {
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) return 11;
    try {
        airlock::plugin::deny_syscalls({"getppid"}, airlock::plugin::Refusal::error(EACCES));
    } catch (const std::exception&) {
        return 12;
    }
    if (::syscall(SYS_getppid) != -1 || errno != EACCES) return 13;
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 14;
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "outside-host") == 0) return lock_down_outside_host();
    std::unique_ptr<Plugin> created;
    try {
        created = std::make_unique<Plugin>();
    } catch (const PluginError& error) {
        std::fprintf(stderr, "lockdown-test-plugin: %s\n", error.what());
        return 78;
    }
    Plugin& plugin = *created;
    // Grants first, as a plugin that locks itself down would.
    const auto data = plugin.directory("data");
    const auto input = plugin.read_only_file("input");
    Worker worker;

    plugin.on<LockdownRequest, Outcome>("lockdown", [&](LockdownRequest& request) {
        return attempt([&] {
            Lockdown lockdown;
            if (!request.deny.empty()) lockdown.deny(words(request.deny), refusal_from(request.refusal));
            if (request.allowlist) {
                lockdown.allow_only(words(request.allow));
                if (request.serving) lockdown.allow_only(Lockdown::serving_syscalls());
                if (request.threads) lockdown.allow_only(Lockdown::thread_syscalls());
                lockdown.otherwise(refusal_from(request.otherwise));
            }
            lockdown.apply();
            return std::string("installed");
        });
    });
    plugin.on<Text, Outcome>("open", [&](Text& request) { return attempt([&] { return data.read_file(request.text); }); });
    plugin.on<Text, Outcome>("worker", [&](Text& request) {
        return worker.run([&] { return attempt([&] { return data.read_file(request.text); }); });
    });
    plugin.on<Text, Outcome>("input", [&](Text&) { return attempt([&] { return input.read_all(); }); });
    plugin.on<Text, Outcome>("probe", [&](Text& request) -> Outcome {
        const std::string& what = request.text;
        if (what == "getppid") return raw(::syscall(SYS_getppid));
        if (what == "getuid") return raw(::syscall(SYS_getuid));
        if (what == "socket") {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd >= 0) ::close(fd);
            return raw(fd);
        }
        if (what == "listener") return raw(install_allow_all(SECCOMP_FILTER_FLAG_NEW_LISTENER));
        if (what == "allow-all") return raw(install_allow_all(SECCOMP_FILTER_FLAG_TSYNC));
        return Outcome{false, "unknown probe " + what};
    });
    plugin.on<Text, Text>("tid", [&](Text& request) {
        if (request.text == "worker") {
            return Text{worker.run([] { return Outcome{true, std::to_string(::gettid())}; }).value};
        }
        return Text{std::to_string(::gettid())};
    });
    plugin.on<Text, Outcome>("spawn", [&](Text& request) {
        try {
            std::string reversed;
            std::thread thread([&] { reversed.assign(request.text.rbegin(), request.text.rend()); });
            thread.join();
            return Outcome{true, reversed};
        } catch (const std::system_error& error) {
            return Outcome{false, error.what()};
        }
    });
    plugin.on<Text, Text>("echo", [&](Text& request) {
        plugin.log("echo " + request.text);
        return request;
    });
    return plugin.run();
}
