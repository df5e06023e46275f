#pragma once
// The objects behind the opaque handles of the LWMsg-compatible API. Internal.

#include "lwmsg/lwmsg.h"

#include "type_translation.hpp"

#include "airlock/connection/connection.hpp"
#include "airlock/connection/protocol.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

namespace airlock::lwmsg {

/// An LWMsg tag travels as Airlock tag + 1 (Airlock reserves tag 0; LWMsg protocols start at 0).
inline std::uint16_t wire_tag(LWMsgTag tag) { return static_cast<std::uint16_t>(tag + 1); }
inline LWMsgTag lwmsg_tag(std::uint16_t tag) { return static_cast<LWMsgTag>(tag - 1); }

} // namespace airlock::lwmsg

struct LWMsgContext {
    const LWMsgContext* parent = nullptr;
};

struct LWMsgProtocol {
    struct Entry {
        std::string name;
        std::unique_ptr<airlock::lwmsg::TypeTranslation> type;
    };
    LWMsgContext* context = nullptr;
    std::map<LWMsgTag, Entry> messages;
    int connections = 0;  ///< connections using it: it is frozen while > 0
    std::string error;

    /// The Airlock protocol "lwmsg": one entry per message (see docs/lwmsg-compat.md).
    [[nodiscard]] airlock::Protocol airlock_protocol() const;
    [[nodiscard]] const Entry* find(LWMsgTag tag) const {
        auto it = messages.find(tag);
        return it == messages.end() ? nullptr : &it->second;
    }
};

struct LWMsgSecurityToken {
    airlock::SecurityToken local;
};

struct LWMsgSession {
    LWMsgAssoc* assoc = nullptr;
    LWMsgSecurityToken token;
};

struct LWMsgCall {
    LWMsgAssoc* assoc = nullptr;
    bool acquired = false;
};

struct LWMsgAssoc {
    enum class Phase { Fresh, Established, Closed };
    explicit LWMsgAssoc(LWMsgProtocol* protocol)
        : protocol(protocol), connection(protocol->airlock_protocol()) {
        session.assoc = this;
        call.assoc = this;
    }
    LWMsgProtocol* protocol;
    airlock::Connection connection;
    Phase phase = Phase::Fresh;
    LWMsgSession session;
    LWMsgCall call;
    std::deque<airlock::Message> held;                         ///< received while a call waited for its reply
    std::unordered_map<LWMsgCookie, std::uint32_t> unanswered;  ///< received requests: cookie -> call id
    std::uint32_t next_call_id = 1;
    std::string error;
};
