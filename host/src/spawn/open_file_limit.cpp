// The host's raised RLIMIT_NOFILE and the one plugins get instead (see open_file_limit.hpp).
#include <airlock/host/open_file_limit.hpp>

namespace airlock::host {
namespace {

// Written once at start, before any thread; read by launches later.
bool raised = false;
rlimit before_raise{};

} // namespace

rlimit raise_open_file_limit() noexcept {
    rlimit current{};
    if (::getrlimit(RLIMIT_NOFILE, &current) != 0) return current;
    if (!raised) {
        before_raise = current;
        raised = true;
    }
    rlimit wanted = current;
    wanted.rlim_cur = current.rlim_max;
    if (wanted.rlim_cur != current.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &wanted) == 0) return wanted;
    return current;
}

rlimit inherited_open_file_limit() noexcept {
    if (raised) return before_raise;
    rlimit current{};
    (void)::getrlimit(RLIMIT_NOFILE, &current);
    return current;
}

rlim_t current_open_file_soft_limit() noexcept {
    rlimit current{};
    (void)::getrlimit(RLIMIT_NOFILE, &current);
    return current.rlim_cur;
}

} // namespace airlock::host
