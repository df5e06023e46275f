#pragma once
// Messages of the self-lockdown test plugin (tests/sdk/programs/lockdown_test_plugin.cpp).
#include "sdk_api.hpp"

#include <airlock/connection/types.hpp>

namespace lockdown_test {

using sdk_test::Outcome;
using sdk_test::Text;

/// One `Lockdown`, built inside the plugin from this description and applied.
struct LockdownRequest {
    airlock::String<4096> deny;       ///< system call names separated by spaces
    airlock::String<32> refusal;      ///< for `deny`: "EPERM", "EACCES", ..., a number, or "kill"
    bool allowlist = false;           ///< call allow_only (with the names below, possibly none)
    bool serving = false;             ///< add Lockdown::serving_syscalls() to the allowlist
    bool threads = false;             ///< add Lockdown::thread_syscalls() to the allowlist
    airlock::String<4096> allow;      ///< system call names separated by spaces
    airlock::String<32> otherwise;    ///< refusal outside the allowlist, as `refusal`
};
AIRLOCK_STRUCT(LockdownRequest, deny, refusal, allowlist, serving, threads, allow, otherwise)

} // namespace lockdown_test
