"""Status codes (docs/wire-format.md §5) and the exceptions the SDK raises."""

from __future__ import annotations

import enum


class StatusCode(enum.IntEnum):
    Success = 0
    Memory = 1
    InvalidParameter = 2
    InvalidState = 3
    EndOfStream = 4
    PeerClosed = 5
    PeerReset = 6
    Timeout = 7
    Malformed = 8
    TooLarge = 9
    ProtocolMismatch = 10
    PermissionDenied = 11
    NotFound = 12
    Unsupported = 13
    HandlerFailed = 14
    Cancelled = 15
    SystemError = 16


class WireError(Exception):
    """A failure with a status code, e.g. a malformed packet or a refused value.

    Raised by the connection (which is then closed) and by the encoder/decoder. A handler may
    raise it too: the caller gets an error reply with this code and message."""

    def __init__(self, code: StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = StatusCode(code)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class RemoteError(WireError):
    """The peer answered a call with an error reply ("remote: <message>")."""


class PluginError(Exception):
    """A mistake in using the plugin SDK (not under a host, unknown grant, duplicate method...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
