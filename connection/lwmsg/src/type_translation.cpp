#include "type_translation.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace airlock::lwmsg {
namespace {

constexpr std::uint64_t kMaxLength = LWMSG_AIRLOCK_MAX_LENGTH;
constexpr int kMaxDepth = 64;  // Airlock descriptions nest at most 64 levels (kMaxTypeDepth)
constexpr std::uint32_t kNoDescriptor = 0xFFFFFFFFu;

Outcome invalid(std::string message) { return {LWMSG_STATUS_INVALID_PARAMETER, std::move(message)}; }
Outcome malformed(std::string message) { return {LWMSG_STATUS_MALFORMED, std::move(message)}; }

bool valid_width(std::size_t width) { return width == 1 || width == 2 || width == 4 || width == 8; }

// A C type or member name as an Airlock name: "struct Foo" becomes "Foo"; [A-Za-z0-9_] only.
bool airlock_name(const char* text, std::string& out) {
    if (!text) return false;
    std::string name = text;
    if (name.rfind("struct ", 0) == 0) name.erase(0, 7);
    if (name.empty() || name.size() > 128) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    out = name;
    return true;
}

// Reads a C integer of `size` bytes at `at`, sign-extended when `is_signed`.
std::uint64_t load_c_integer(const unsigned char* at, std::size_t size, bool is_signed) {
    switch (size) {
    case 1: { std::uint8_t v; std::memcpy(&v, at, 1); return is_signed ? std::uint64_t(std::int64_t(std::int8_t(v))) : v; }
    case 2: { std::uint16_t v; std::memcpy(&v, at, 2); return is_signed ? std::uint64_t(std::int64_t(std::int16_t(v))) : v; }
    case 4: { std::uint32_t v; std::memcpy(&v, at, 4); return is_signed ? std::uint64_t(std::int64_t(std::int32_t(v))) : v; }
    default: { std::uint64_t v; std::memcpy(&v, at, 8); return v; }
    }
}

void store_c_integer(unsigned char* at, std::size_t size, std::uint64_t value) {
    switch (size) {
    case 1: { std::uint8_t v = std::uint8_t(value); std::memcpy(at, &v, 1); break; }
    case 2: { std::uint16_t v = std::uint16_t(value); std::memcpy(at, &v, 2); break; }
    case 4: { std::uint32_t v = std::uint32_t(value); std::memcpy(at, &v, 4); break; }
    default: std::memcpy(at, &value, 8);
    }
}

// True when `value` (sign-extended if signed) is representable in `width` bytes.
bool fits(std::uint64_t value, std::size_t width, bool is_signed) {
    if (width == 8) return true;
    unsigned bits = unsigned(width * 8);
    if (!is_signed) return value < (std::uint64_t{1} << bits);
    std::int64_t v = std::int64_t(value);
    std::int64_t limit = std::int64_t{1} << (bits - 1);
    return v >= -limit && v < limit;
}

bool in_range(const Node& node, std::uint64_t value) {
    if (!node.has_range) return true;
    if (node.is_signed) return std::int64_t(value) >= std::int64_t(node.low) && std::int64_t(value) <= std::int64_t(node.high);
    return value >= node.low && value <= node.high;
}

std::string number_text(std::uint64_t value, bool is_signed) {
    return is_signed ? std::to_string(std::int64_t(value)) : std::to_string(value);
}

bool is_byte(const Node& node) { return node.kind == Node::Kind::Integer && node.width == 1 && node.c_size == 1; }

} // namespace

// ---------------------------------------------------------------------------------------
// parsing

class SpecParser {
public:
    explicit SpecParser(TypeTranslation& out) : out_(out) {}

    Outcome parse_root(LWMsgTypeSpec* spec) {
        if (!spec) {
            out_.root_.kind = Node::Kind::Void;
            return build(out_.root_);
        }
        const std::size_t* cursor = spec;
        if (Outcome o = parse_type(cursor, out_.root_, nullptr, 0); !o.ok()) return o;
        if (*cursor != LWMSG_CMD_END) return invalid("the type specification has more than one type before LWMSG_TYPE_END");
        if (out_.root_.kind == Node::Kind::Pointer && out_.root_.length == Node::Length::Member)
            return invalid("a message's top-level pointer cannot have LWMSG_ATTR_LENGTH_MEMBER");
        return build(out_.root_);
    }

private:
    // Parses one type (with a member prefix when `parent` is a struct) and its attributes.
    Outcome parse_type(const std::size_t*& cursor, Node& node, Node* parent, int depth) {
        if (depth > kMaxDepth) return invalid("the type specification nests deeper than 64 levels (recursive LWMSG_TYPESPEC?)");
        std::size_t word = *cursor++;
        std::size_t command = word & LWMSG_CMD_MASK;
        bool member = word & LWMSG_FLAG_MEMBER;
        if (member != (parent != nullptr))
            return invalid(member ? "a member macro (LWMSG_MEMBER_...) outside a structure"
                                  : "a structure member must use an LWMSG_MEMBER_... macro");
        if (member) {
            if (!airlock_name(reinterpret_cast<const char*>(*cursor++), node.member_name))
                return invalid("a member name must be 1-128 characters of [A-Za-z0-9_]");
            node.offset = *cursor++;
        }
        std::string where = member ? "member " + node.member_name : std::string("type");
        switch (command) {
        case LWMSG_CMD_INTEGER:
            node.kind = Node::Kind::Integer;
            node.c_size = *cursor++;
            node.width = *cursor++;
            node.is_signed = *cursor++ == LWMSG_SIGNED;
            if (!valid_width(node.width) || !valid_width(node.c_size))
                return invalid(where + ": integers are 1, 2, 4 or 8 bytes wide");
            break;
        case LWMSG_CMD_FD:
            node.kind = Node::Kind::Fd;
            node.c_size = sizeof(int);
            break;
        case LWMSG_CMD_STRUCT: {
            node.kind = Node::Kind::Struct;
            if (member) {
                node.c_size = *cursor++;
                node.struct_name = node.member_name;
            } else {
                if (!airlock_name(reinterpret_cast<const char*>(*cursor++), node.struct_name))
                    return invalid("a structure's type name must be 1-128 characters of [A-Za-z0-9_]");
                node.c_size = *cursor++;
            }
            while (*cursor != LWMSG_CMD_END) {
                Node child;
                if (Outcome o = parse_type(cursor, child, &node, depth + 1); !o.ok()) return o;
                for (const Node& other : node.members)
                    if (other.member_name == child.member_name)
                        return invalid("structure " + node.struct_name + " declares member " + child.member_name + " twice");
                node.members.push_back(std::move(child));
            }
            ++cursor;
            if (node.members.empty()) return invalid("structure " + node.struct_name + " has no members");
            break;
        }
        case LWMSG_CMD_POINTER: {
            node.kind = Node::Kind::Pointer;
            node.c_size = sizeof(void*);
            node.element.emplace_back();
            if (Outcome o = parse_type(cursor, node.element[0], nullptr, depth + 1); !o.ok()) return o;
            if (*cursor != LWMSG_CMD_END) return invalid(where + ": a pointer points to exactly one type before LWMSG_POINTER_END");
            ++cursor;
            break;
        }
        case LWMSG_CMD_TYPESPEC: {
            auto* referenced = reinterpret_cast<LWMsgTypeSpec*>(*cursor++);
            if (!referenced) return invalid(where + ": LWMSG_TYPESPEC of NULL");
            const std::size_t* inner = referenced;
            std::string name = node.member_name;
            std::size_t offset = node.offset;
            if (Outcome o = parse_type(inner, node, nullptr, depth + 1); !o.ok()) return o;
            node.member_name = name;
            node.offset = offset;
            break;
        }
        default:
            return invalid(where + ": unsupported type directive " + std::to_string(command) +
                           " (see docs/lwmsg-compat.md for what this library covers)");
        }
        return parse_attributes(cursor, node, parent, where);
    }

    Outcome parse_attributes(const std::size_t*& cursor, Node& node, Node* parent, const std::string& where) {
        for (;;) {
            switch (*cursor) {
            case LWMSG_CMD_NOT_NULL:
                ++cursor;
                if (node.kind != Node::Kind::Pointer) return invalid(where + ": LWMSG_ATTR_NOT_NULL applies to pointers");
                node.not_null = true;
                break;
            case LWMSG_CMD_RANGE:
                ++cursor;
                if (node.kind != Node::Kind::Integer) return invalid(where + ": LWMSG_ATTR_RANGE applies to integers");
                node.has_range = true;
                node.low = cursor[0];
                node.high = cursor[1];
                cursor += 2;
                break;
            case LWMSG_CMD_ZERO_TERMINATED:
                ++cursor;
                if (node.kind != Node::Kind::Pointer || !is_byte(node.element[0]))
                    return invalid(where + ": LWMSG_ATTR_ZERO_TERMINATED applies to pointers to 8-bit integers (strings)");
                node.length = Node::Length::ZeroTerminated;
                break;
            case LWMSG_CMD_ENCODING:
                cursor += 2;  // a display hint only
                break;
            case LWMSG_CMD_LENGTH_MEMBER: {
                std::size_t offset = cursor[1], size = cursor[2];
                cursor += 3;
                if (node.kind != Node::Kind::Pointer) return invalid(where + ": LWMSG_ATTR_LENGTH_MEMBER applies to pointers");
                Node* length = nullptr;
                if (parent)
                    for (Node& previous : parent->members)
                        if (previous.offset == offset && previous.kind == Node::Kind::Integer) length = &previous;
                if (!length || length->c_size != size)
                    return invalid(where + ": LWMSG_ATTR_LENGTH_MEMBER must name an integer member declared before it");
                length->is_length_member = true;
                node.length = Node::Length::Member;
                node.length_offset = offset;
                node.length_size = size;
                node.length_signed = length->is_signed;
                break;
            }
            default:
                return {};
            }
        }
    }

    TypeSpec& new_spec() {
        out_.specs_.push_back(std::make_unique<TypeSpec>());
        return *out_.specs_.back();
    }
    const TypeSpec* finish(TypeSpec& spec) {
        spec.min_encoded_size = min_encoded_size(spec);
        return &spec;
    }

    // Builds the Airlock type of `node` (children first).
    Outcome build(Node& node) {
        switch (node.kind) {
        case Node::Kind::Void: {
            TypeSpec& s = new_spec();
            s.kind = TypeKind::Struct;
            s.name = "void";
            node.spec = finish(s);
            return {};
        }
        case Node::Kind::Integer: {
            TypeSpec& s = new_spec();
            s.kind = TypeKind::Integer;
            s.is_signed = node.is_signed;
            s.width = static_cast<std::uint8_t>(node.width);
            s.name = std::string(node.is_signed ? "int" : "uint") + std::to_string(8 * node.width);
            node.spec = finish(s);
            return {};
        }
        case Node::Kind::Fd: {
            TypeSpec& s = new_spec();
            s.kind = TypeKind::Fd;
            s.name = "fd";
            node.spec = finish(s);
            return {};
        }
        case Node::Kind::Struct: {
            TypeSpec& s = new_spec();
            s.kind = TypeKind::Struct;
            s.name = node.struct_name;
            for (Node& member : node.members) {
                if (Outcome o = build(member); !o.ok()) return o;
            }
            for (Node& member : node.members)
                if (!member.is_length_member) s.members.push_back(MemberSpec{member.member_name, member.spec});
            if (s.members.empty()) return invalid("structure " + node.struct_name + " has only length members");
            node.spec = finish(s);
            return {};
        }
        case Node::Kind::Pointer: {
            Node& element = node.element[0];
            if (Outcome o = build(element); !o.ok()) return o;
            const TypeSpec* target = element.spec;
            if (node.length == Node::Length::ZeroTerminated || (node.length == Node::Length::Member && is_byte(element))) {
                TypeSpec& s = new_spec();
                s.kind = node.length == Node::Length::ZeroTerminated ? TypeKind::String : TypeKind::Bytes;
                s.name = node.length == Node::Length::ZeroTerminated ? "string" : "bytes";
                s.max_length = kMaxLength;
                target = finish(s);
            } else if (node.length == Node::Length::Member) {
                TypeSpec& s = new_spec();
                s.kind = TypeKind::Vector;
                s.name = "vector";
                s.element = element.spec;
                s.max_length = kMaxLength;
                target = finish(s);
            }
            if (!node.not_null) {
                TypeSpec& s = new_spec();
                s.kind = TypeKind::Optional;
                s.name = "optional";
                s.element = target;
                target = finish(s);
            }
            node.spec = target;
            return {};
        }
        }
        return invalid("unknown node");
    }

    TypeTranslation& out_;
};

Outcome TypeTranslation::translate(LWMsgTypeSpec* spec, std::unique_ptr<TypeTranslation>& out) {
    auto translation = std::make_unique<TypeTranslation>();
    SpecParser parser(*translation);
    if (Outcome o = parser.parse_root(spec); !o.ok()) return o;
    out = std::move(translation);
    return {};
}

// ---------------------------------------------------------------------------------------
// encoding: C object -> body

namespace {

class Writer {
public:
    Writer(std::vector<std::uint8_t>& body, std::vector<int>& fds) : body_(body), fds_(fds) {}
    void put(std::uint64_t value, std::size_t width) {
        for (std::size_t i = 0; i < width; ++i) body_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
    void put_raw(const void* data, std::size_t size) {
        auto* bytes = static_cast<const std::uint8_t*>(data);
        body_.insert(body_.end(), bytes, bytes + size);
    }
    std::uint32_t add_fd(int fd) {
        fds_.push_back(fd);
        return static_cast<std::uint32_t>(fds_.size() - 1);
    }

private:
    std::vector<std::uint8_t>& body_;
    std::vector<int>& fds_;
};

std::string join(const std::string& path, const Node& node) {
    if (node.member_name.empty()) return path;
    return path.empty() ? node.member_name : path + "." + node.member_name;
}

// `object` is where the node's C object lives; `owner` the struct holding it (length members).
Outcome encode_node(const Node& node, const unsigned char* object, const unsigned char* owner, Writer& out,
                    const std::string& path) {
    switch (node.kind) {
    case Node::Kind::Void:
        return {};
    case Node::Kind::Integer: {
        if (node.is_length_member) return {};
        std::uint64_t value = load_c_integer(object, node.c_size, node.is_signed);
        if (!in_range(node, value))
            return invalid(path + ": value " + number_text(value, node.is_signed) + " is outside its LWMSG_ATTR_RANGE");
        if (!fits(value, node.width, node.is_signed))
            return {LWMSG_STATUS_OVERFLOW, path + ": value " + number_text(value, node.is_signed) + " does not fit " +
                                               std::to_string(node.width) + " bytes"};
        out.put(value, node.width);
        return {};
    }
    case Node::Kind::Fd: {
        int fd;
        std::memcpy(&fd, object, sizeof fd);
        out.put(fd > 0 ? out.add_fd(fd) : kNoDescriptor, 4);
        return {};
    }
    case Node::Kind::Struct:
        for (const Node& member : node.members) {
            if (Outcome o = encode_node(member, object + member.offset, object, out, join(path, member)); !o.ok()) return o;
        }
        return {};
    case Node::Kind::Pointer: {
        const unsigned char* target;
        std::memcpy(&target, object, sizeof target);
        if (!target && node.not_null) return invalid(path + ": is NULL but declared LWMSG_ATTR_NOT_NULL");
        if (!node.not_null) out.put(target ? 1 : 0, 1);
        if (!target) return {};
        const Node& element = node.element[0];
        if (node.length == Node::Length::ZeroTerminated) {
            std::size_t length = std::strlen(reinterpret_cast<const char*>(target));
            if (length > kMaxLength) return invalid(path + ": string of " + std::to_string(length) + " bytes exceeds " + std::to_string(kMaxLength));
            out.put(length, 4);
            out.put_raw(target, length);
            return {};
        }
        if (node.length == Node::Length::Single) return encode_node(element, target, nullptr, out, path);
        std::uint64_t count = load_c_integer(owner + node.length_offset, node.length_size, node.length_signed);
        if (count > kMaxLength)
            return invalid(path + ": length " + number_text(count, node.length_signed) + " exceeds " + std::to_string(kMaxLength));
        out.put(count, 4);
        if (is_byte(element)) {
            out.put_raw(target, count);
            return {};
        }
        for (std::uint64_t i = 0; i < count; ++i) {
            if (Outcome o = encode_node(element, target + i * element.c_size, nullptr, out, path + "[" + std::to_string(i) + "]"); !o.ok())
                return o;
        }
        return {};
    }
    }
    return invalid(path + ": unknown node");
}

// ---------------------------------------------------------------------------------------
// decoding: body -> C object

class Reader {
public:
    Reader(std::span<const std::uint8_t> body, std::vector<UniqueFd>& fds)
        : at_(body.data()), end_(body.data() + body.size()), fds_(fds), used_(fds.size(), false) {}
    [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(end_ - at_); }
    bool get(std::uint64_t& value, std::size_t width) {
        if (remaining() < width) return false;
        value = 0;
        for (std::size_t i = 0; i < width; ++i) value |= std::uint64_t(at_[i]) << (8 * i);
        at_ += width;
        return true;
    }
    const std::uint8_t* take(std::size_t size) {
        if (remaining() < size) return nullptr;
        const std::uint8_t* start = at_;
        at_ += size;
        return start;
    }
    // The descriptor at `index`, which may be used once.
    bool descriptor(std::uint64_t index, int& fd) {
        if (index >= fds_.size() || used_[index]) return false;
        used_[index] = true;
        fd = fds_[index].get();
        return true;
    }
    [[nodiscard]] bool all_used() const {
        for (bool used : used_)
            if (!used) return false;
        return true;
    }

private:
    const std::uint8_t* at_;
    const std::uint8_t* end_;
    std::vector<UniqueFd>& fds_;
    std::vector<bool> used_;
};

Outcome truncated(const std::string& path) { return malformed(path + ": truncated"); }

// `object` is zero-filled memory for the node; allocations are stored before they are
// filled, so a failure leaves a graph free_node() can release.
Outcome decode_node(const Node& node, unsigned char* object, unsigned char* owner, Reader& in, const std::string& path) {
    switch (node.kind) {
    case Node::Kind::Void:
        return {};
    case Node::Kind::Integer: {
        if (node.is_length_member) return {};  // set by the pointer it counts
        std::uint64_t value;
        if (!in.get(value, node.width)) return truncated(path);
        if (node.is_signed && node.width < 8 && (value >> (8 * node.width - 1)) & 1) value |= ~std::uint64_t{0} << (8 * node.width);
        if (!in_range(node, value))
            return malformed(path + ": value " + number_text(value, node.is_signed) + " is outside its LWMSG_ATTR_RANGE");
        if (!fits(value, node.c_size, node.is_signed))
            return malformed(path + ": value " + number_text(value, node.is_signed) + " does not fit the C member");
        store_c_integer(object, node.c_size, value);
        return {};
    }
    case Node::Kind::Fd: {
        std::uint64_t index;
        if (!in.get(index, 4)) return truncated(path);
        int fd = -1;
        if (index != kNoDescriptor && !in.descriptor(index, fd))
            return malformed(path + ": descriptor index " + std::to_string(index) + " is out of range or used twice");
        std::memcpy(object, &fd, sizeof fd);
        return {};
    }
    case Node::Kind::Struct:
        for (const Node& member : node.members) {
            if (Outcome o = decode_node(member, object + member.offset, object, in, join(path, member)); !o.ok()) return o;
        }
        return {};
    case Node::Kind::Pointer: {
        if (!node.not_null) {
            std::uint64_t present;
            if (!in.get(present, 1)) return truncated(path);
            if (present > 1) return malformed(path + ": presence byte " + std::to_string(present) + " is not 0 or 1");
            if (!present) {
                if (node.length == Node::Length::Member) store_c_integer(owner + node.length_offset, node.length_size, 0);
                return {};
            }
        }
        const Node& element = node.element[0];
        if (node.length == Node::Length::Single) {
            void* target = std::calloc(1, element.c_size);
            if (!target) return {LWMSG_STATUS_MEMORY, path + ": out of memory"};
            std::memcpy(object, &target, sizeof target);
            return decode_node(element, static_cast<unsigned char*>(target), nullptr, in, path);
        }
        std::uint64_t count;
        if (!in.get(count, 4)) return truncated(path);
        if (count > kMaxLength) return malformed(path + ": length " + std::to_string(count) + " exceeds " + std::to_string(kMaxLength));
        std::uint64_t least = element.spec->min_encoded_size ? element.spec->min_encoded_size : 1;
        if (node.length == Node::Length::ZeroTerminated) least = 1;
        if (count > in.remaining() / least) return truncated(path);
        if (node.length == Node::Length::ZeroTerminated) {
            const std::uint8_t* text = in.take(count);
            if (std::memchr(text, 0, count)) return malformed(path + ": the string contains a NUL byte");
            auto* target = static_cast<char*>(std::malloc(count + 1));
            if (!target) return {LWMSG_STATUS_MEMORY, path + ": out of memory"};
            std::memcpy(target, text, count);
            target[count] = '\0';
            std::memcpy(object, &target, sizeof target);
            return {};
        }
        if (!fits(count, node.length_size, node.length_signed))
            return malformed(path + ": length " + std::to_string(count) + " does not fit the length member");
        auto* target = static_cast<unsigned char*>(std::calloc(count ? count : 1, element.c_size));
        if (!target) return {LWMSG_STATUS_MEMORY, path + ": out of memory"};
        std::memcpy(object, &target, sizeof target);
        store_c_integer(owner + node.length_offset, node.length_size, count);
        if (is_byte(element)) {
            std::memcpy(target, in.take(count), count);
            return {};
        }
        for (std::uint64_t i = 0; i < count; ++i) {
            if (Outcome o = decode_node(element, target + i * element.c_size, nullptr, in, path + "[" + std::to_string(i) + "]"); !o.ok())
                return o;
        }
        return {};
    }
    }
    return malformed(path + ": unknown node");
}

// Frees what decode_node() allocated under `object`; closes descriptors when asked.
void free_node(const Node& node, unsigned char* object, const unsigned char* owner, bool close_fds) {
    switch (node.kind) {
    case Node::Kind::Void:
    case Node::Kind::Integer:
        return;
    case Node::Kind::Fd: {
        int fd;
        std::memcpy(&fd, object, sizeof fd);
        if (close_fds && fd > 0) ::close(fd);
        fd = -1;
        std::memcpy(object, &fd, sizeof fd);
        return;
    }
    case Node::Kind::Struct:
        for (const Node& member : node.members) free_node(member, object + member.offset, object, close_fds);
        return;
    case Node::Kind::Pointer: {
        unsigned char* target;
        std::memcpy(&target, object, sizeof target);
        if (!target) return;
        const Node& element = node.element[0];
        if (node.length == Node::Length::Single) {
            free_node(element, target, nullptr, close_fds);
        } else if (node.length == Node::Length::Member && !is_byte(element)) {
            std::uint64_t count = load_c_integer(owner + node.length_offset, node.length_size, node.length_signed);
            for (std::uint64_t i = 0; i < count; ++i) free_node(element, target + i * element.c_size, nullptr, close_fds);
        }
        std::free(target);
        target = nullptr;
        std::memcpy(object, &target, sizeof target);
        return;
    }
    }
}

} // namespace

Outcome TypeTranslation::encode(void* data, std::vector<std::uint8_t>& body, std::vector<int>& fds) const {
    Writer out(body, fds);
    if (root_.kind == Node::Kind::Void) return {};
    if (root_.kind == Node::Kind::Pointer)  // a pointer type: the payload is the pointer itself
        return encode_node(root_, reinterpret_cast<const unsigned char*>(&data), nullptr, out, "payload");
    if (!data) return invalid("the message data is NULL");
    return encode_node(root_, static_cast<const unsigned char*>(data), nullptr, out, "payload");
}

Outcome TypeTranslation::decode(std::span<const std::uint8_t> body, std::vector<UniqueFd>& fds, void** data) const {
    *data = nullptr;
    if (root_.kind == Node::Kind::Void) {
        if (!body.empty()) return malformed("payload: " + std::to_string(body.size()) + " bytes for a message without data");
        if (!fds.empty()) return malformed("payload: descriptors for a message without data");
        return {};
    }
    Reader in(body, fds);
    void* result = nullptr;
    unsigned char* object = reinterpret_cast<unsigned char*>(&result);  // a pointer type: the payload is the pointer
    if (root_.kind != Node::Kind::Pointer) {
        result = std::calloc(1, root_.c_size);
        if (!result) return {LWMSG_STATUS_MEMORY, "out of memory"};
        object = static_cast<unsigned char*>(result);
    }
    Outcome outcome = decode_node(root_, object, nullptr, in, "payload");
    if (outcome.ok() && in.remaining() != 0)
        outcome = malformed("payload: " + std::to_string(in.remaining()) + " trailing bytes");
    if (outcome.ok() && !in.all_used()) outcome = malformed("payload: the message carries descriptors no member refers to");
    if (!outcome.ok()) {
        // Free the partial graph without closing: `fds` still owns (and closes) every descriptor.
        free_node(root_, object, nullptr, false);
        if (root_.kind != Node::Kind::Pointer) std::free(result);
        return outcome;
    }
    for (UniqueFd& fd : fds) (void)fd.release();  // the payload owns them now
    *data = result;
    return {};
}

void TypeTranslation::destroy(void* data, bool close_fds) const {
    if (root_.kind == Node::Kind::Void) return;
    if (root_.kind == Node::Kind::Pointer) {
        free_node(root_, reinterpret_cast<unsigned char*>(&data), nullptr, close_fds);
        return;
    }
    if (!data) return;
    free_node(root_, static_cast<unsigned char*>(data), nullptr, close_fds);
    std::free(data);
}

} // namespace airlock::lwmsg
