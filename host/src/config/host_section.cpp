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

} // namespace

void parse_host(const TableReader& table, HostConfig& config) {
    table.reject_unknown_keys({"control", "control_users"});
    if (const auto control = table.string("control", "a string (absolute path of the control socket)")) {
        if (!std::filesystem::path(control->value).is_absolute())
            table.fail(*control->node, "control socket path " + in_quotes(control->value) +
                                           " is not absolute; control must be an absolute path "
                                           "such as \"/run/airlock/control.sock\"");
        config.control_path = std::filesystem::path(control->value).lexically_normal().string();
    }
    if (table.find("control_users") != nullptr)
        config.control_users = parse_control_users(table);
}

} // namespace airlock::host::config_detail
