// A small real program for profile_run_test: does what a typical plugin does, so the test can
// show that the "default" and "minimal" profiles let it run. Exit status 0 = all steps worked.
//   profile_probe single   one thread: stdio, memory, a read of its own stdin
//   profile_probe full     plus threads, mutexes, sleeping, socketpair messages, poll, epoll
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

int single() {
    auto big = std::make_unique<char[]>(64 << 20);  // large enough for mmap rather than brk
    std::memset(big.get(), 1, 1 << 20);
    char buffer[16];
    if (read(STDIN_FILENO, buffer, sizeof buffer) < 0)
        return 2;
    std::printf("single ok\n");
    return 0;
}

int full() {
    std::mutex mutex;
    int counter = 0;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            std::vector<char> work(1 << 20, 'x');
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            std::lock_guard lock(mutex);
            counter += work[0] == 'x';
        });
    for (auto& thread : threads)
        thread.join();
    if (counter != 4)
        return 3;

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return 4;
    char byte = 'x';
    iovec io{&byte, 1};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    if (sendmsg(pair[0], &message, 0) != 1)
        return 5;
    pollfd ready{pair[1], POLLIN, 0};
    if (poll(&ready, 1, 1000) != 1)
        return 6;
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, pair[1], &event) != 0 ||
        epoll_wait(epoll, &event, 1, 1000) != 1)
        return 7;
    if (recvmsg(pair[1], &message, 0) != 1)
        return 8;
    std::cout << "full ok" << std::endl;
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "single")
        return single();
    if (mode == "full")
        return full();
    std::cerr << "usage: profile_probe single|full\n";
    return 1;
}
