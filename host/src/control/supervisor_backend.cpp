// ControlServer on a real Supervisor. Kept apart from control_server.cpp so that programs that
// serve another ControlBackend link without the supervisor's implementation.
#include <airlock/host/control_server.hpp>

namespace airlock::host {
namespace {

class SupervisorBackend final : public ControlBackend {
public:
    explicit SupervisorBackend(Supervisor& supervisor) : supervisor_(supervisor) {}
    std::vector<PluginStatus> status() const override { return supervisor_.status(); }
    airlock::Status start(const std::string& name) override { return supervisor_.start(name); }
    airlock::Status stop(const std::string& name) override { return supervisor_.stop(name); }
    airlock::Status restart(const std::string& name) override { return supervisor_.restart(name); }
    std::vector<std::string> recent_logs(const std::string& name) const override { return supervisor_.recent_logs(name); }
    std::uint64_t subscribe_logs(Supervisor::LogSubscriber subscriber) override {
        return supervisor_.subscribe_logs(std::move(subscriber));
    }
    void unsubscribe_logs(std::uint64_t id) override { supervisor_.unsubscribe_logs(id); }
    airlock::Result<std::vector<airlock::protocol::MethodAnnouncement>> methods(const std::string& name) const override {
        return supervisor_.methods(name);
    }
    airlock::Result<std::shared_ptr<const std::vector<airlock::protocol::MethodAnnouncement>>> announcements(
        const std::string& name) const override {
        return supervisor_.announcements(name);
    }
    void call_raw(const std::string& name, const std::string& method, std::vector<std::uint8_t> body,
                  std::function<void(airlock::Result<airlock::Message>)> done, CallOptions options) override {
        supervisor_.call_raw(name, method, body, {}, std::move(done), options);
    }
    void when_ready(const std::string& name, std::chrono::milliseconds timeout, std::function<void(airlock::Status)> done,
                    std::shared_ptr<CallCanceller> canceller) override {
        supervisor_.when_ready(name, timeout, std::move(done), std::move(canceller));
    }

private:
    Supervisor& supervisor_;
};

} // namespace

ControlServer::ControlServer(boost::asio::io_context& io, Supervisor& supervisor, std::string path,
                             std::vector<uid_t> allowed_users)
    : ControlServer(io, std::make_unique<SupervisorBackend>(supervisor), std::move(path), std::move(allowed_users)) {}

} // namespace airlock::host
