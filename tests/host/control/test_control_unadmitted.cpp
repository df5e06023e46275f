// What a control peer's bytes may cost the host: a peer that may not use the socket (not in
// control_users nor control_group) before it is refused, and descriptors sent to a protocol
// that carries none. A real ControlServer on a real socket.
#include <airlock/connection/call_session.hpp>
#include <airlock/connection/connection.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "../../support/lingering_socket.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <poll.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

namespace {

namespace control = airlock::protocol::control;

/// A backend that must never be reached: every request of a refused peer stops before it.
class UnreachedBackend final : public airlock::host::ControlBackend {
public:
    std::vector<airlock::host::PluginStatus> status() const override { return {}; }
    airlock::Status start(const std::string&) override { return reached(); }
    airlock::Status stop(const std::string&) override { return reached(); }
    airlock::Status restart(const std::string&) override { return reached(); }
    std::vector<std::string> recent_logs(const std::string&) const override { return {}; }
    std::uint64_t subscribe_logs(airlock::host::Supervisor::LogSubscriber) override { return 1; }
    void unsubscribe_logs(std::uint64_t) override {}
    airlock::Result<std::vector<airlock::protocol::MethodAnnouncement>> methods(const std::string&) const override {
        return airlock::Status(airlock::StatusCode::NotFound, "reached");
    }
    void call_raw(const std::string&, const std::string&, std::vector<std::uint8_t>,
                  std::function<void(airlock::Result<airlock::Message>)> done, airlock::host::CallOptions) override {
        done(reached());
    }

private:
    static airlock::Status reached() { return airlock::Status(airlock::StatusCode::InvalidState, "reached"); }
};

/// A control server on its own io thread; by default its only allowed uid is not ours.
struct RefusingServer {
    explicit RefusingServer(uid_t allowed = ::geteuid() + 12345)
        : path("/tmp/airlock-ctl-unadmitted-" + std::to_string(::getpid()) + ".sock"),
          server(io, backend, path, {allowed}) {
        server.set_log([](const std::string&) {});
        REQUIRE(server.start(0600).ok());
        thread = std::thread([this] { io.run(); });
    }
    ~RefusingServer() {
        std::promise<void> stopped;
        boost::asio::post(io, [this, &stopped] {
            server.stop();
            stopped.set_value();
        });
        stopped.get_future().wait();
        work.reset();
        io.stop();
        thread.join();
        ::unlink(path.c_str());
    }
    /// A control request from a fresh connection: the server's answer, or why there is none.
    airlock::Status call(std::string json_request) {
        airlock::Connection connection(airlock::protocol::control_protocol());
        connection.set_timeout(std::chrono::seconds(60));
        REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, path).ok());
        REQUIRE(connection.establish().ok());
        airlock::CallSession session(connection);
        airlock::protocol::CallRequest request;
        request.plugin = "hello";
        request.method = "greet";
        request.json_request = std::move(json_request);
        return session.call(control::call, request).status();
    }

    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    UnreachedBackend backend;
    std::string path;
    airlock::host::ControlServer server;
    std::thread thread;
};

std::size_t open_fd_count() {
    std::size_t count = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (::readdir(dir)) ++count;
        ::closedir(dir);
    }
    return count;
}

/// A raw connection to `path`: no handshake, nothing sent.
airlock::UniqueFd raw_connection(const std::string& path) {
    airlock::UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    REQUIRE(::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return socket;
}

/// Whether this kernel can refuse descriptors on a socket (SO_PASSRIGHTS, Linux 6.16).
bool kernel_refuses_descriptors() {
    airlock::UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    const int pass = 0;
    return ::setsockopt(probe.get(), SOL_SOCKET, 83 /* SO_PASSRIGHTS */, &pass, sizeof pass) == 0;
}

} // namespace

TEST_CASE("control: a peer that will be refused gets the refusal of its call, and cannot send a large request",
          "[control][hostile]") {
    RefusingServer refusing;
    // `call` replies later: its refusal was posted, and the connection closed before it went out.
    airlock::Status small = refusing.call("{}");
    CHECK(small.code() == airlock::StatusCode::PermissionDenied);
    // 100 KiB of request (one packet): before, the host took it in whole (up to 64 MiB per
    // connection) only to refuse it; now the connection closes at the message header.
    airlock::Status large = refusing.call(std::string(100 * 1024, ' ') + "{}");
    INFO(large.to_string());
    CHECK(large.code() != airlock::StatusCode::PermissionDenied);
    CHECK((large.code() == airlock::StatusCode::PeerClosed || large.code() == airlock::StatusCode::PeerReset));
    // The host still answers the next peer.
    CHECK(refusing.call("{}").code() == airlock::StatusCode::PermissionDenied);
}

TEST_CASE("control: a message with descriptors closes the connection, the host keeps none of them",
          "[control][hostile]") {
    RefusingServer admitting(::geteuid());
    const std::size_t before = open_fd_count();
    {
        airlock::Connection connection(airlock::protocol::control_protocol());
        connection.set_timeout(std::chrono::seconds(60));
        REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, admitting.path).ok());
        REQUIRE(connection.establish().ok());
        std::vector<std::uint8_t> body;
        std::vector<int> no_fds;
        REQUIRE(airlock::encode_value(airlock::protocol::StatusRequest{}, body, no_fds).ok());
        // 200 descriptors with a status request: no control message carries any. Before, the
        // host took them in (up to 4096 a message, held as long as the message stays open).
        airlock::UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        const std::vector<int> fds(200, null_fd.get());
        const airlock::Status sent =
            connection.send(airlock::OutgoingMessage{control::status.tag, airlock::MessageKind::Request, 1, body, fds});
        if (kernel_refuses_descriptors()) {
            // The kernel refuses them at our sendmsg (SO_PASSRIGHTS): none reaches the host.
            INFO(sent.to_string());
            CHECK_THAT(sent.message(), Catch::Contains("Operation not permitted"));
        } else {
            REQUIRE(sent.ok());
            auto answer = connection.receive();
            INFO((answer ? "an answer of kind " + std::to_string(int(answer->kind)) : answer.status().to_string()));
            REQUIRE_FALSE(answer.ok());
            CHECK(answer.status().code() == airlock::StatusCode::PeerClosed);
        }
    }
    // The server closed what it received (it runs in this process); wait for its io thread.
    std::size_t after = open_fd_count();
    for (int i = 0; i < 500 && after > before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        after = open_fd_count();
    }
    CHECK(after <= before);
    CHECK(admitting.call("{}").code() != airlock::StatusCode::PeerClosed);  // still serving
}

TEST_CASE("control: a flood of refused peers cannot flood the host's log", "[control][hostile]") {
    RefusingServer refusing;
    std::mutex mutex;
    std::vector<std::string> lines;
    std::promise<void> set;
    boost::asio::post(refusing.io, [&] {
        refusing.server.set_log([&](const std::string& line) {
            std::lock_guard lock(mutex);
            lines.push_back(line);
        });
        set.set_value();
    });
    set.get_future().wait();
    // 300 refused peers, each logged before (one line per refusal, without end).
    const auto began = std::chrono::steady_clock::now();
    for (int i = 0; i < 300; ++i) CHECK(refusing.call("{}").code() == airlock::StatusCode::PermissionDenied);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began).count();
    std::lock_guard lock(mutex);
    INFO(lines.size() << " lines in " << seconds << " s");
    // At most 10 lines a second, plus one count of those held back per second.
    CHECK(lines.size() <= static_cast<std::size_t>(11 * (seconds + 1)));
    CHECK(lines.size() >= 1);
    CHECK_THAT(lines.front(), Catch::Contains("refused a control connection from uid"));
}

TEST_CASE("control: a descriptor whose close() blocks cannot stop the host's loop", "[control][hostile]") {
    if (!kernel_refuses_descriptors()) {
        WARN("this kernel has no SO_PASSRIGHTS: descriptors sent to the control socket are not refused (docs/sandbox.md, Not covered)");
        return;
    }
    RefusingServer admitting(::geteuid());
    // A TCP socket lingering for 120 s with unsent data, sent in SCM_RIGHTS (inside a
    // socketpair end, so that the host's close drops the last reference). Before, the host
    // received it, refused the message and closed it: its loop then waited in close() for the
    // linger time, every client and plugin with it (as long as the peer set, with no bound).
    airlock::test_support::LingeringSocketSender sender(120);
    airlock::UniqueFd raw = raw_connection(admitting.path);
    const char packet[16] = {};
    const int sent = sender.send_from_child(raw.get(), packet, sizeof packet);
    // The kernel refuses it at the sender's sendmsg: nothing reaches the host.
    CHECK(sent == airlock::test_support::LingeringSocketSender::kRefused);
    // And the host answers the next client at once.
    const auto began = std::chrono::steady_clock::now();
    airlock::Connection connection(airlock::protocol::control_protocol());
    connection.set_timeout(std::chrono::seconds(10));
    REQUIRE(connection.set_endpoint(airlock::ConnectionMode::Local, admitting.path).ok());
    airlock::Status answer = connection.establish();
    if (answer.ok()) {
        airlock::CallSession session(connection);
        answer = session.call(control::status, airlock::protocol::StatusRequest{}).status();
    }
    const auto waited = std::chrono::steady_clock::now() - began;
    INFO(answer.to_string() << " after " << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms");
    CHECK(answer.ok());
    CHECK(waited < std::chrono::seconds(5));
}

TEST_CASE("control: a request left unfinished closes its connection, the host does not hold it", "[control][hostile]") {
    RefusingServer admitting(::geteuid());
    auto on_io = [&](auto work) {
        std::promise<decltype(work())> done;
        boost::asio::post(admitting.io, [&] { done.set_value(work()); });
        return done.get_future().get();
    };
    on_io([&] {
        admitting.server.set_unfinished_message_timeout(std::chrono::milliseconds(1000));
        return 0;
    });
    // 16 connections (the most one uid may hold), each sending the first packets of a 4 MiB
    // call and then nothing. The host holds each message's whole body from its first packet.
    // Before, it held them for as long as the connections stayed open (64 MiB per uid).
    airlock::protocol::CallRequest request;
    request.plugin = "hello";
    request.method = "greet";
    request.json_request = std::string((std::size_t{4} << 20) - 64, ' ');
    std::vector<std::uint8_t> body;
    std::vector<int> no_fds;
    REQUIRE(airlock::encode_value(request, body, no_fds).ok());
    std::vector<std::unique_ptr<airlock::Connection>> clients;
    for (int i = 0; i < 16; ++i) {
        auto connection = std::make_unique<airlock::Connection>(airlock::protocol::control_protocol());
        connection->set_timeout(std::chrono::seconds(60));
        REQUIRE(connection->set_endpoint(airlock::ConnectionMode::Local, admitting.path).ok());
        REQUIRE(connection->establish().ok());
        clients.push_back(std::move(connection));
    }
    // The host does not read while each client fills its socket, so none sends it all.
    std::promise<void> release;
    boost::asio::post(admitting.io, [waiting = release.get_future().share()] { waiting.wait(); });
    for (auto& connection : clients) {
        REQUIRE(connection->queue(airlock::OutgoingMessage{control::call.tag, airlock::MessageKind::Request, 1, body, no_fds})
                    .ok());
        (void)connection->on_writable();  // what the socket takes now; the rest is never sent
        REQUIRE(connection->wants_write());
    }
    release.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(on_io([&] { return admitting.server.connection_count(); }) == 16);
    // Each is closed once its message has been unfinished for the timeout.
    std::size_t open = 16;
    for (int i = 0; i < 100 && open > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        open = on_io([&] { return admitting.server.connection_count(); });
    }
    CHECK(open == 0);
    for (auto& connection : clients) {
        pollfd closed{connection->fd(), POLLIN, 0};
        REQUIRE(::poll(&closed, 1, 5000) == 1);
        CHECK((closed.revents & (POLLHUP | POLLIN)) != 0);
    }
    clients.clear();
    CHECK(admitting.call("{}").code() != airlock::StatusCode::PeerClosed);  // still serving
}
