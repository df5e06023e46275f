#pragma once
// The pid-1 program of a plugin's PID namespace (pid_init.cpp), embedded in the spawner and
// kept in a sealed memfd that launches execute (internal to the spawner).

#include <cstddef>

namespace airlock::host::detail {

/// The program's bytes (generated from airlock-pid-init at build time).
extern const unsigned char kPidInitImage[];
extern const std::size_t kPidInitImage_size;

/// A close-on-exec, sealed, executable memfd holding the program, made once per host
/// process and never closed.
/// @throws SpawnError when it cannot be made.
int pid_init_image_fd();

} // namespace airlock::host::detail
