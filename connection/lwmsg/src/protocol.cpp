// Contexts and protocols of the LWMsg-compatible API.
#include "objects.hpp"

#include <new>

using airlock::lwmsg::Outcome;
using airlock::lwmsg::TypeTranslation;

extern "C" {

LWMsgStatus lwmsg_context_new(const LWMsgContext* parent, LWMsgContext** context) {
    if (!context) return LWMSG_STATUS_INVALID_PARAMETER;
    *context = new (std::nothrow) LWMsgContext{parent};
    return *context ? LWMSG_STATUS_SUCCESS : LWMSG_STATUS_MEMORY;
}

void lwmsg_context_delete(LWMsgContext* context) { delete context; }

LWMsgStatus lwmsg_protocol_new(LWMsgContext* context, LWMsgProtocol** prot) {
    if (!prot) return LWMSG_STATUS_INVALID_PARAMETER;
    *prot = new (std::nothrow) LWMsgProtocol;
    if (!*prot) return LWMSG_STATUS_MEMORY;
    (*prot)->context = context;
    return LWMSG_STATUS_SUCCESS;
}

LWMsgStatus lwmsg_protocol_add_protocol_spec(LWMsgProtocol* prot, LWMsgProtocolSpec* spec) {
    if (!prot || !spec) return LWMSG_STATUS_INVALID_PARAMETER;
    if (prot->connections > 0) {
        prot->error = "the protocol is in use by a connection; add every specification before creating connections";
        return LWMSG_STATUS_INVALID_STATE;
    }
    try {
        std::map<LWMsgTag, LWMsgProtocol::Entry> added;
        for (const LWMsgProtocolSpec* entry = spec; entry->tag != -1 || entry->type || entry->tag_name; ++entry) {
            std::string name = entry->tag_name ? entry->tag_name : "tag" + std::to_string(entry->tag);
            if (entry->tag < 0 || entry->tag > 32766) {
                prot->error = "message " + name + ": tag " + std::to_string(entry->tag) + " is outside 0 ... 32766";
                return LWMSG_STATUS_INVALID_PARAMETER;
            }
            if (prot->messages.count(entry->tag) || added.count(entry->tag)) {
                prot->error = "message " + name + ": tag " + std::to_string(entry->tag) + " is declared twice";
                return LWMSG_STATUS_INVALID_PARAMETER;
            }
            LWMsgProtocol::Entry translated{name, nullptr};
            if (Outcome o = TypeTranslation::translate(entry->type, translated.type); !o.ok()) {
                prot->error = "message " + name + ": " + o.message;
                return o.status;
            }
            added.emplace(entry->tag, std::move(translated));
        }
        prot->messages.merge(added);
        return LWMSG_STATUS_SUCCESS;
    } catch (const std::bad_alloc&) {
        return LWMSG_STATUS_MEMORY;
    }
}

void lwmsg_protocol_delete(LWMsgProtocol* prot) { delete prot; }

} // extern "C"

airlock::Protocol LWMsgProtocol::airlock_protocol() const {
    airlock::Protocol protocol("lwmsg");
    for (const auto& [tag, entry] : messages)
        protocol.add(airlock::MessageSpec{airlock::lwmsg::wire_tag(tag), entry.name, &entry.type->spec(), nullptr});
    return protocol;
}
