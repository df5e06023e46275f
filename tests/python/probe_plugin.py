"""A Python plugin that tries forbidden things when asked (tests/python/hello_py_test.cpp):
run under hello-py's confinement, each attempt must fail, and the plugin keeps serving."""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass

from airlock_plugin import Plugin, String


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


raise SystemExit(plugin.run())
