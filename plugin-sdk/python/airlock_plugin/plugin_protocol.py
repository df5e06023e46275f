"""The host<->plugin protocol "airlock.plugin/1" (connection/include/airlock/protocol/
plugin_protocol.hpp), declared again in Python. Its fingerprint must equal the C++ one, so
every name, member, bound and enumerator here matches the C++ declaration exactly."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .connection import Entry, Protocol
from .types import Fd, String, UInt16, UInt32, UInt64, UInt8, Vector, wire_enum

CONNECTION_FD_VARIABLE = "AIRLOCK_CONNECTION_FD"
FIRST_APPLICATION_TAG = 100
MAX_METHODS = 256
MAX_TYPE_DESCRIPTION = 16384


@wire_enum(UInt8)
class GrantKind(enum.IntEnum):
    File = 0
    Directory = 1
    Connect = 2
    Memfd = 3


@wire_enum(UInt8)
class GrantAccess(enum.IntEnum):
    Read = 0
    Write = 1
    Append = 2
    ReadWrite = 3


@wire_enum(UInt8)
class LogLevel(enum.IntEnum):
    Error = 0
    Warning = 1
    Info = 2
    Debug = 3


@dataclass
class GrantEntry:
    name: String[64] = ""
    kind: GrantKind = GrantKind.File
    access: GrantAccess = GrantAccess.Read
    fd: Fd = None
    size: UInt64 = 0


@dataclass
class GrantTable:
    plugin_name: String[64] = ""
    grants: Vector[GrantEntry, 256] = field(default_factory=list)


@dataclass
class MethodAnnouncement:
    name: String[64] = ""
    tag: UInt16 = 0
    request_type: String[MAX_TYPE_DESCRIPTION] = ""
    reply_type: String[MAX_TYPE_DESCRIPTION] = ""


@dataclass
class ReadyNotice:
    methods: Vector[MethodAnnouncement, MAX_METHODS] = field(default_factory=list)


@dataclass
class LogRecord:
    level: LogLevel = LogLevel.Info
    text: String[4096] = ""


@dataclass
class StopRequest:
    timeout_ms: UInt32 = 0


@dataclass
class StopReply:
    calls_in_flight: UInt32 = 0


@dataclass
class ProgressReport:
    task: String[128] = ""
    done: UInt64 = 0
    total: UInt64 = 0
    message: String[512] = ""


@dataclass
class ProgressAck:
    reports: UInt64 = 0


GRANT_TABLE = Entry(1, "grant_table", GrantTable)
READY = Entry(2, "ready", ReadyNotice)
LOG = Entry(3, "log", LogRecord)
STOP = Entry(4, "stop", StopRequest, StopReply)
PROGRESS = Entry(5, "progress", ProgressReport, ProgressAck)

PLUGIN_PROTOCOL = Protocol("airlock.plugin/1", [GRANT_TABLE, READY, LOG, STOP, PROGRESS],
                           application_tags_from=FIRST_APPLICATION_TAG)
