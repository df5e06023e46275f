"""Airlock plugins in Python: the wire format and the plugin protocol of docs/wire-format.md,
standard library only.

    from dataclasses import dataclass
    from airlock_plugin import Plugin, String

    @dataclass
    class GreetRequest:
        name: String[256] = ""

    @dataclass
    class GreetReply:
        text: String[512] = ""

    plugin = Plugin()                      # adopts the host connection, receives the grants

    @plugin.method("greet")
    def greet(request: GreetRequest) -> GreetReply:
        return GreetReply("hello, " + request.name)

    raise SystemExit(plugin.run())         # reports ready, serves until stopped
"""

from .connection import Connection, Entry, Message, PeerToken, Protocol
from .errors import PluginError, RemoteError, StatusCode, WireError
from .plugin import Grant, MethodInfo, Plugin
from .plugin_protocol import GrantAccess, GrantKind, LogLevel
from .session import Session
from .types import (Bool, Bytes, Fd, Int8, Int16, Int32, Int64, List, Optional, String, UInt8, UInt16, UInt32,
                    UInt64, Vector, WireType, decode_value, describe, encode_value, spec_of, wire_enum)

__version__ = "1.0.0"

__all__ = [
    "Bool", "Bytes", "Connection", "Entry", "Fd", "Grant", "GrantAccess", "GrantKind", "Int8", "Int16", "Int32",
    "Int64", "List", "LogLevel", "Message", "MethodInfo", "Optional", "PeerToken", "Plugin", "PluginError",
    "Protocol", "RemoteError", "Session", "StatusCode", "String", "UInt8", "UInt16", "UInt32", "UInt64", "Vector",
    "WireError", "WireType", "decode_value", "describe", "encode_value", "spec_of", "wire_enum",
]
