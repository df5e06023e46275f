"""A Python plugin for tests/python/hello_py_test.cpp, run under hello-py's confinement:
"try" attempts a forbidden thing (each must fail, and the plugin keeps serving); "grant"
reads a file grant through its descriptor; "report" sends a log record and a progress report."""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass

from airlock_plugin import GrantKind, LogLevel, Plugin, PluginError, String


@dataclass
class Attempt:
    what: String[32] = ""


@dataclass
class Outcome:
    result: String[256] = ""


def attempt(what: str) -> None:
    if what == "read /etc/passwd":
        with open("/etc/passwd", "rb") as file:
            file.read()
    elif what == "list /home":
        os.listdir("/home")
    elif what == "exec /bin/sh":
        os.execv("/bin/sh", ["sh", "-c", "true"])
    elif what == "open a TCP socket":
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    elif what == "write into the SDK":
        with open(os.path.join(os.path.dirname(sys.modules["airlock_plugin"].__file__), "planted.py"), "w") as file:
            file.write("oops")
    else:
        raise ValueError(f"unknown attempt {what!r}")


plugin = Plugin()


@plugin.method("try")
def try_(request: Attempt) -> Outcome:
    try:
        attempt(request.what)
    except OSError as error:
        return Outcome(f"refused: {errno.errorcode.get(error.errno, error.errno)}")
    return Outcome("ALLOWED")


@plugin.method("grant")
def read_grant(request: Attempt) -> Outcome:
    try:
        fd = plugin.open_grant(request.what, GrantKind.File)
    except PluginError as error:
        return Outcome(f"PluginError {error.kind}: {error}"[:256])
    try:
        entry = plugin.grant(request.what)
        return Outcome(f"{entry.kind.name} {entry.access.name} {entry.size}: {os.pread(fd, 200, 0).decode()}")
    finally:
        os.close(fd)


@plugin.method("report")
def report(request: Attempt) -> Outcome:
    plugin.log(request.what, LogLevel.Warning)
    plugin.progress("probing", 3, 4, request.what)
    return Outcome(f"reported to {plugin.name}")


raise SystemExit(plugin.run())
