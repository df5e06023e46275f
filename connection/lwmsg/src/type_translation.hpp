#pragma once
// LWMsg type specifications translated to Airlock type descriptions, and the marshalling of
// C objects described by them to and from the Airlock body encoding (docs/wire-format.md §4).
// Internal to the lwmsg library; the mapping is documented in docs/lwmsg-compat.md.

#include "lwmsg/status.h"
#include "lwmsg/type.h"

#include "airlock/connection/type_spec.hpp"
#include "airlock/connection/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace airlock::lwmsg {

/// A status of this library plus the reason, for lwmsg_assoc_get_error_message().
struct Outcome {
    LWMsgStatus status = LWMSG_STATUS_SUCCESS;
    std::string message;
    [[nodiscard]] bool ok() const { return status == LWMSG_STATUS_SUCCESS; }
};

/// One node of a parsed specification: where the C object lives and how it travels.
struct Node {
    enum class Kind { Integer, Struct, Pointer, Fd, Void };
    enum class Length { Single, Member, ZeroTerminated };
    Kind kind = Kind::Void;
    std::string member_name;      ///< as a struct member
    std::size_t offset = 0;       ///< offset in the containing struct
    std::size_t c_size = 0;       ///< bytes the C object takes
    // integers
    std::size_t width = 0;
    bool is_signed = false;
    bool has_range = false;
    std::uint64_t low = 0, high = 0;
    bool is_length_member = false;  ///< carries a pointer's count: not sent on its own
    // structs
    std::string struct_name;
    std::vector<Node> members;
    // pointers
    std::vector<Node> element;      ///< exactly one once parsed
    Length length = Length::Single;
    std::size_t length_offset = 0, length_size = 0;
    bool length_signed = false;
    bool not_null = false;
    /// The Airlock type this node travels as.
    const TypeSpec* spec = nullptr;
};

/// A message payload type: the parsed specification and its Airlock description.
class TypeTranslation {
public:
    /// Parses `spec` (NULL: a message without payload). INVALID_PARAMETER with the reason
    /// for a malformed or unsupported specification.
    static Outcome translate(LWMsgTypeSpec* spec, std::unique_ptr<TypeTranslation>& out);

    [[nodiscard]] const TypeSpec& spec() const { return *root_.spec; }

    /// Encodes the payload `data` (LWMsgMessage::data) to a body; the descriptors are borrowed.
    Outcome encode(void* data, std::vector<std::uint8_t>& body, std::vector<int>& fds) const;
    /// Decodes a body into a newly allocated payload; on success the payload owns the
    /// descriptors, on failure every descriptor is closed and nothing is allocated.
    Outcome decode(std::span<const std::uint8_t> body, std::vector<UniqueFd>& fds, void** data) const;
    /// Frees a payload made by decode() (every pointer with free()), closing its descriptors
    /// unless `close_fds` is false.
    void destroy(void* data, bool close_fds = true) const;
    /// True when the payload is a structure (LWMsgMessage::data points to it).
    [[nodiscard]] bool is_struct() const { return root_.kind == Node::Kind::Struct; }
    /// sizeof the payload's top-level C object.
    [[nodiscard]] std::size_t c_size() const { return root_.c_size; }

private:
    Node root_;
    std::vector<std::unique_ptr<TypeSpec>> specs_;
    friend class SpecParser;
};

} // namespace airlock::lwmsg
