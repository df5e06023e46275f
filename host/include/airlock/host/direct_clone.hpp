#pragma once
/// @file direct_clone.hpp
/// glibc's clone(), never a sanitizer's interceptor (internal to the host: the spawner and the
/// namespaces layer start CLONE_VM children with it).

namespace airlock::host::detail {

using CloneFunction = int (*)(int (*)(void*), void*, int, void*, ...);

/// The clone() to use for a CLONE_VM child. ThreadSanitizer intercepts clone() and runs its
/// fork bookkeeping in the child; with CLONE_VM that rewrites the host's own TSan state (lost
/// mutexes, then false races). In a TSan build (AIRLOCK_TSAN_BUILD, set by
/// cmake/AirlockBuildChecks.cmake) this returns libc's own clone; otherwise ::clone.
CloneFunction direct_clone() noexcept;

} // namespace airlock::host::detail
