#include "airlock/connection/codec.hpp"

namespace airlock {
namespace {

// Member paths are built as ".grants[2].fd" while unwinding; users read "grants[2].fd".
std::string readable_path(const std::string& path) {
    if (!path.empty() && path.front() == '.') return path.substr(1);
    return path;
}

Status path_status(StatusCode code, const std::string& path, const std::string& error) {
    std::string where = readable_path(path);
    if (where.empty()) return Status(code, error);
    return Status(code, where + ": " + error);
}

} // namespace

Status Encoder::status() const {
    return path_status(StatusCode::InvalidParameter, path_, error_);
}

Status Decoder::status() const {
    return path_status(StatusCode::Malformed, path_, error_);
}

bool Decoder::finish() {
    if (remaining() != 0) {
        path_.clear();
        return fail(std::to_string(remaining()) + " trailing bytes after the message");
    }
    for (std::size_t i = 0; i < fd_used_.size(); ++i) {
        if (!fd_used_[i]) {
            path_.clear();
            return fail("descriptor " + std::to_string(i) + " of " + std::to_string(fd_used_.size()) +
                        " is not referenced by the message");
        }
    }
    return true;
}

std::uint64_t min_encoded_size(const TypeSpec& spec) {
    switch (spec.kind) {
    case TypeKind::Integer:
    case TypeKind::Enum:
        return spec.width;
    case TypeKind::Bool:
    case TypeKind::Optional:
        return 1;  // the value byte / the presence byte
    case TypeKind::Fd:
    case TypeKind::String:
    case TypeKind::Bytes:
    case TypeKind::Vector:
        return 4;  // the descriptor index / the length prefix
    case TypeKind::Struct: {
        std::uint64_t total = 0;
        for (const MemberSpec& member : spec.members) {
            const std::uint64_t size = member.type->min_encoded_size;
            total = size > UINT64_MAX - total ? UINT64_MAX : total + size;
        }
        return total;
    }
    }
    return 0;
}

std::string describe(const TypeSpec& spec) {
    switch (spec.kind) {
    case TypeKind::Integer:
    case TypeKind::Bool:
    case TypeKind::Fd:
        return spec.name;
    case TypeKind::String:
    case TypeKind::Bytes:
        return spec.name + "<" + std::to_string(spec.max_length) + ">";
    case TypeKind::Enum: {
        std::string text = "enum " + spec.name + ":" + (spec.is_signed ? "int" : "uint") +
                           std::to_string(8 * spec.width) + "{";
        for (std::size_t i = 0; i < spec.enumerators.size(); ++i) {
            if (i) text += ",";
            text += spec.enumerators[i].first + "=" + std::to_string(spec.enumerators[i].second);
        }
        return text + "}";
    }
    case TypeKind::Vector:
        return "vector<" + describe(*spec.element) + "," + std::to_string(spec.max_length) + ">";
    case TypeKind::Optional:
        return "optional<" + describe(*spec.element) + ">";
    case TypeKind::Struct: {
        std::string text = "struct " + spec.name + "{";
        for (std::size_t i = 0; i < spec.members.size(); ++i) {
            if (i) text += ",";
            text += spec.members[i].name + ":" + describe(*spec.members[i].type);
        }
        return text + "}";
    }
    }
    return "?";
}

} // namespace airlock
