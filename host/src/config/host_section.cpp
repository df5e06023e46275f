// [host]: settings of the supervisor itself (control socket and who may use it).
#include <unistd.h>

#include <filesystem>
#include <limits>

#include "sections.hpp"
#include "user_lookup.hpp"

namespace airlock::host::config_detail {
namespace {


constexpr std::string_view kUsersExpected =
    "an array of user names or numeric uids, e.g. [\"alice\", 1000]";

std::vector<std::uint32_t> parse_control_users(const TableReader& table) {
    const toml::node& node = *table.find("control_users");
    const auto* array = node.as_array();
    if (array == nullptr)
        table.fail_type("control_users", node, kUsersExpected);
    if (array->empty())
        table.fail(node, "control_users in [host] is empty, so nobody could use the control "
                         "socket; name at least one user, or leave control_users out to allow "
                         "the host's own user");
    std::vector<std::uint32_t> uids;
    for (const toml::node& element : *array) {
        if (const auto* uid = element.as_integer()) {
            const std::int64_t value = uid->get();
            // (uid_t)-1 means "no change" to the kernel; it can never be a real peer.
            if (value < 0 || value >= std::numeric_limits<std::uint32_t>::max())
                table.fail(element, "uid " + std::to_string(value) +
                                        " in control_users is out of range; uids are 0 to 4294967294");
            uids.push_back(static_cast<std::uint32_t>(value));
        } else if (const auto* name = element.as_string()) {
            const auto ids = lookup_user(name->get());
            if (!ids)
                table.fail(element, "unknown user " + in_quotes(name->get()) +
                                        " in control_users; name existing accounts or give numeric uids");
            uids.push_back(ids->uid);
        } else {
            table.fail(element, "elements of control_users must be user names or uids, not " +
                                    describe_type(element));
        }
    }
    return uids;
}

std::uint32_t parse_control_group(const TableReader& table) {
    const toml::node& node = *table.find("control_group");
    if (const auto* gid = node.as_integer()) {
        if (gid->get() < 0 || gid->get() >= std::numeric_limits<std::uint32_t>::max())
            table.fail(node, "control_group " + std::to_string(gid->get()) +
                                 " is out of range; gids are 0 to 4294967294");
        return static_cast<std::uint32_t>(gid->get());
    }
    if (const auto* name = node.as_string()) {
        const auto gid = lookup_group(name->get());
        if (!gid)
            table.fail(node, "unknown group " + in_quotes(name->get()) +
                                 " in control_group; name an existing group or give a numeric gid");
        return *gid;
    }
    table.fail_type("control_group", node, "a group name or numeric gid, e.g. \"airlock\"");
}

// "0660" (octal digits, as chmod takes them) or a TOML octal integer such as 0o660.
std::uint32_t parse_control_mode(const TableReader& table) {
    const toml::node& node = *table.find("control_mode");
    std::int64_t mode = -1;
    if (const auto* integer = node.as_integer()) {
        mode = integer->get();
    } else if (const auto* text = node.as_string()) {
        const std::string& digits = text->get();
        if (!digits.empty() && digits.size() <= 4 && digits.find_first_not_of("01234567") == std::string::npos)
            mode = std::stol(digits, nullptr, 8);
        else
            table.fail(node, "control_mode " + in_quotes(digits) + " is not an octal mode; write it as \"0660\"");
    } else {
        table.fail_type("control_mode", node, "an octal mode as a string, e.g. \"0660\"");
    }
    if (mode < 0 || (mode & ~std::int64_t{0770}) != 0)
        table.fail(node, "control_mode gives permissions beyond owner and group (allowed: 0 to 0770); "
                         "let others in through control_group instead");
    if ((mode & 0600) != 0600)
        table.fail(node, "control_mode must let the owner (the host) read and write the socket, e.g. \"0660\"");
    return static_cast<std::uint32_t>(mode);
}

} // namespace

void parse_host(const TableReader& table, HostConfig& config) {
    table.reject_unknown_keys({"control", "control_users", "control_group", "control_mode"});
    if (const auto control = table.string("control", "a string (absolute path of the control socket)")) {
        if (!std::filesystem::path(control->value).is_absolute())
            table.fail(*control->node, "control socket path " + in_quotes(control->value) +
                                           " is not absolute; control must be an absolute path "
                                           "such as \"/run/airlock/control.sock\"");
        config.control_path = std::filesystem::path(control->value).lexically_normal().string();
    }
    if (table.find("control_users") != nullptr)
        config.control_users = parse_control_users(table);
    if (table.find("control_group") != nullptr)
        config.control_group = parse_control_group(table);
    if (table.find("control_mode") != nullptr)
        config.control_mode = parse_control_mode(table);
}

} // namespace airlock::host::config_detail
