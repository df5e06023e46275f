// Fuzz target: the host's control server (host/src/control/control_server.cpp) handling
// requests from a client, end to end: a real ControlServer listening on a real UNIX socket,
// a real client Connection sending the fuzzer's requests (any tag, any body), and a scripted
// ControlBackend (the interface the server already offers to tests and embedders) standing in
// for the supervisor. The backend's plugin "demo" is as hostile as the client: its announced
// methods (a ReadyNotice body) and its reply to `call` (body and descriptor count) come from
// the input too, so the server's ParsedType::parse / encode_json / decode_to_json of them
// are fuzzed along.
// Properties: every request gets exactly one reply (Reply or ErrorReply) with its tag and
// call id, the server never drops the client for a bad request, and it closes the client's
// connection once the client goes away.
// Input: reply_fds:u8, ready notice (u32 length), reply body (u32 length, may be a recipe,
// support/fuzz_input.hpp), then requests: tag:u8 (tag % 10), body (u32 length, may be a recipe).

#include "../support/codec_properties.hpp"

#include <airlock/connection/connection.hpp>
#include <airlock/host/control_server.hpp>
#include <airlock/protocol/control_protocol.hpp>

#include <boost/asio/post.hpp>

#include <map>

namespace {

using namespace airlock;
using namespace airlock::host;
using protocol::MethodAnnouncement;

class ScriptedBackend final : public ControlBackend {
public:
    explicit ScriptedBackend(boost::asio::io_context& io) : io_(io) {}

    void set_script(Result<protocol::ReadyNotice> announced, std::vector<std::uint8_t> reply, std::size_t reply_fds) {
        announced_ = std::move(announced);
        reply_ = std::move(reply);
        reply_fds_ = reply_fds;
    }
    /// Sends a log line to every subscriber (log followers).
    void emit_log(const std::string& line) {
        auto subscribers = subscribers_;
        for (auto& [id, subscriber] : subscribers) subscriber("demo", line);
    }

    std::vector<PluginStatus> status() const override {
        PluginStatus demo;
        demo.name = "demo";
        demo.state = PluginState::Ready;
        demo.pid = 4242;
        demo.progress = protocol::ProgressReport{{"indexing"}, 3, 10, {"half way"}};
        return {demo};
    }
    Status start(const std::string& name) override { return known(name); }
    Status stop(const std::string& name) override { return known(name); }
    Status restart(const std::string& name) override { return known(name); }
    std::vector<std::string> recent_logs(const std::string& name) const override {
        if (name != "demo") return {};
        return {"first line", std::string(9000, 'x')};
    }
    std::uint64_t subscribe_logs(Supervisor::LogSubscriber subscriber) override {
        subscribers_.emplace(next_id_, std::move(subscriber));
        return next_id_++;
    }
    void unsubscribe_logs(std::uint64_t id) override { subscribers_.erase(id); }
    Result<std::vector<MethodAnnouncement>> methods(const std::string& name) const override {
        if (Status s = known(name); !s.ok()) return s;
        if (!announced_) return Status(StatusCode::InvalidState, "plugin demo is not ready");
        return announced_->methods;
    }
    void call_raw(const std::string& name, const std::string&, std::vector<std::uint8_t>,
                  std::function<void(Result<Message>)> done, CallOptions) override {
        if (Status s = known(name); !s.ok()) return done(s);
        Message reply;
        reply.tag = protocol::kFirstApplicationTag;
        reply.kind = MessageKind::Reply;
        reply.body.assign(reply_.begin(), reply_.end());
        reply.fds = fuzz::make_descriptors(reply_fds_);
        auto shared = std::make_shared<Message>(std::move(reply));
        boost::asio::post(io_, [done = std::move(done), shared] { done(std::move(*shared)); });
    }

private:
    static Status known(const std::string& name) {
        return name == "demo" ? Status() : Status(StatusCode::NotFound, "no plugin named \"" + name + "\"");
    }
    boost::asio::io_context& io_;
    Result<protocol::ReadyNotice> announced_ = Status(StatusCode::InvalidState, "no script");
    std::vector<std::uint8_t> reply_;
    std::size_t reply_fds_ = 0;
    std::map<std::uint64_t, Supervisor::LogSubscriber> subscribers_;
    std::uint64_t next_id_ = 1;
};

struct Server {
    boost::asio::io_context io;
    ScriptedBackend backend{io};
    ControlServer control{io, backend, "/tmp/airlock-fuzz-control-" + std::to_string(::getpid()) + ".sock", {}};
    Server() {
        control.set_log([](const std::string&) {});
        if (Status s = control.start(0600); !s.ok()) fuzz::property_failed("the control server does not start", s.to_string());
    }
};

/// Lets the client read and write what it can, then runs the server's handlers that are
/// ready, waiting up to 1 ms for one when none is (the server's sockets are in its io_context).
void step(Server& server, Connection& client, std::vector<Message>& received) {
    if (client.wants_write()) (void)client.on_writable();
    (void)client.on_readable();
    while (client.has_message()) received.push_back(client.take_message());
    server.io.restart();
    if (server.io.poll() == 0) {
        server.io.restart();
        (void)server.io.run_one_for(std::chrono::milliseconds(1));
    }
}

constexpr int kMaxSteps = 500;  // 0.5 s at most per request: a slower server is a finding

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Server* server = new Server;  // one server for the whole run; each input is a new client
    fuzz::InputReader in(data, size);
    std::size_t reply_fds = in.u8() % 4;
    auto announced = decode_value<protocol::ReadyNotice>(in.part(), {});
    auto reply = fuzz::expand(in.part());
    server->backend.set_script(std::move(announced), std::move(reply), reply_fds);

    Connection client(protocol::control_protocol());
    (void)client.set_max_message_size(64u << 20);
    if (!client.set_endpoint(ConnectionMode::Local, server->control.path()).ok() || !client.start().ok())
        fuzz::property_failed("cannot connect to the control server");
    std::vector<Message> received;
    for (int i = 0; i < kMaxSteps && client.state() == ConnectionState::Handshaking; ++i) step(*server, client, received);
    if (client.state() != ConnectionState::Ready) fuzz::property_failed("the control handshake does not complete");

    for (std::uint32_t call_id = 1; !in.empty(); ++call_id) {
        std::uint16_t tag = in.u8() % 10;
        auto body = fuzz::expand(in.part());
        if (!client.queue(OutgoingMessage{tag, MessageKind::Request, call_id, body, {}}).ok())
            fuzz::property_failed("the client cannot send", client.close_reason().to_string());
        received.clear();
        auto is_reply = [&](const Message& m) { return m.kind == MessageKind::Reply || m.kind == MessageKind::ErrorReply; };
        for (int i = 0; i < kMaxSteps && std::none_of(received.begin(), received.end(), is_reply); ++i) {
            if (client.state() == ConnectionState::Closed) fuzz::property_failed("the server dropped the client");
            step(*server, client, received);
        }
        server->backend.emit_log("a line for followers");
        for (int i = 0; i < 3; ++i) step(*server, client, received);
        std::size_t replies = 0;
        for (const Message& m : received) {
            if (!is_reply(m)) continue;
            ++replies;
            if (m.tag != tag || m.call_id != call_id) fuzz::property_failed("a reply carries another request's tag or call id");
        }
        if (replies != 1) fuzz::property_failed("a request did not get exactly one reply", "tag " + std::to_string(tag));
    }
    client.close();
    for (int i = 0; i < kMaxSteps && server->control.connection_count() != 0; ++i) {
        server->io.restart();
        (void)server->io.run_one_for(std::chrono::milliseconds(1));
    }
    if (server->control.connection_count() != 0) fuzz::property_failed("the server keeps a closed client");
    return 0;
}
