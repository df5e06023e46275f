// The control protocol: the single definition of its message set.
#include <airlock/protocol/control_protocol.hpp>

namespace airlock::protocol {

const Protocol& control_protocol() {
    static const Protocol protocol = Protocol("airlock.control/1")
                                         .add(control::status)
                                         .add(control::start)
                                         .add(control::stop)
                                         .add(control::restart)
                                         .add(control::logs)
                                         .add(control::describe)
                                         .add(control::call)
                                         .add(control::follow_logs)
                                         .add(control::log_line)
                                         .add(control::wait_ready);
    return protocol;
}

} // namespace airlock::protocol
