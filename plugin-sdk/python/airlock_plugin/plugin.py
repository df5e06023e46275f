"""The plugin side of "airlock.plugin/1": adopt the host connection, receive the grants,
announce methods, serve calls until the host says stop (connection/include/airlock/protocol/
plugin_protocol.hpp describes the sequence; the C++ SDK is airlock::plugin::Plugin)."""

from __future__ import annotations

import fcntl
import inspect
import os
import re
import socket
import stat
import sys
import typing
from dataclasses import dataclass
from typing import Any, Callable

from . import plugin_protocol as wire
from .connection import Connection
from .errors import PluginError, WireError
from .session import Session
from .types import decode_value, describe, spec_of

MAX_TYPE_DEPTH = 64  # docs/wire-format.md §6: nesting of vector / optional / struct

_METHOD_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_KIND_NAMES = {wire.GrantKind.File: "file", wire.GrantKind.Directory: "dir",
               wire.GrantKind.Connect: "connect", wire.GrantKind.Memfd: "memfd"}
_ACCESS_NAMES = {wire.GrantAccess.Read: "read", wire.GrantAccess.Write: "write",
                 wire.GrantAccess.Append: "append", wire.GrantAccess.ReadWrite: "read-write"}


@dataclass(frozen=True)
class Grant:
    """One granted capability. `fd` stays owned by the plugin object: use `Plugin.open_grant`
    (a duplicate) to hand it to code that closes what it gets."""

    name: str
    kind: wire.GrantKind
    access: wire.GrantAccess
    fd: int | None
    size: int

    def describe(self) -> str:
        return f'{_KIND_NAMES[self.kind]} grant "{self.name}" with access "{_ACCESS_NAMES[self.access]}"'


@dataclass(frozen=True)
class MethodInfo:
    name: str
    tag: int
    request_type: str
    reply_type: str


def _connection_fd_from_environment() -> int:
    variable = wire.CONNECTION_FD_VARIABLE
    text = os.environ.get(variable)
    if text is None:
        raise PluginError("NotUnderHost", f"{variable} is not set: this program is an Airlock plugin and must be started "
                                          "by airlock-host (e.g. `airlock-host exec CONFIG PLUGIN`), which hands it its connection")
    if not text.isdigit():
        raise PluginError("NotUnderHost", f'{variable}="{text}" is not a descriptor number; start the plugin with airlock-host')
    fd = int(text)
    try:
        is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
        what = "a socket"
    except OSError:
        is_socket, what = False, "an open descriptor"
    if not is_socket:
        raise PluginError("NotUnderHost", f"{variable}={text} is not {what}: this program is an Airlock plugin and must be "
                                          "started by airlock-host")
    return fd


def _handler_types(handler: Callable[..., Any]) -> tuple[Any, Any]:
    """The request and reply types from `def handler(request: Request) -> Reply`."""
    hints = typing.get_type_hints(handler)
    parameters = list(inspect.signature(handler).parameters)
    if len(parameters) != 1 or parameters[0] not in hints or "return" not in hints:
        raise PluginError("InvalidArgument", f"handler {getattr(handler, '__name__', handler)!r} needs one annotated "
                                             "parameter and a return annotation (def f(request: Request) -> Reply), "
                                             "or pass request= and reply= explicitly")
    return hints[parameters[0]], hints["return"]


class Plugin:
    """A plugin: its connection to the host, its grants and its methods. Create one, register
    methods, then ``sys.exit(plugin.run())``."""

    def __init__(self, connection_fd: int | None = None) -> None:
        fd = _connection_fd_from_environment() if connection_fd is None else connection_fd
        try:
            sock = socket.socket(fileno=fd)
        except OSError as error:
            raise PluginError("NotUnderHost", f"the connection descriptor is not a host connection ({error}); "
                                              "start the plugin with airlock-host") from None
        os.set_inheritable(fd, False)
        try:
            self._connection = Connection(sock, wire.PLUGIN_PROTOCOL)
            self._connection.handshake()
            message = self._connection.receive()
        except WireError as error:
            raise PluginError("Connection", f"handshake with the host failed: {error}") from None
        if message.tag != wire.GRANT_TABLE.tag:
            message.close_fds()
            raise PluginError("Connection", f"did not receive the grant table from the host: got tag {message.tag}")
        try:
            table = decode_value(wire.GrantTable, message.body, message.fds)
        except WireError as error:
            raise PluginError("Connection", f"did not receive the grant table from the host: {error}") from None
        self.name: str = table.plugin_name
        self._grants = [Grant(entry.name, entry.kind, entry.access, entry.fd, entry.size) for entry in table.grants]
        self._session = Session(self._connection)
        self._methods: list[MethodInfo] = []
        self._running = False
        self._stop_requested = False
        self._session.on(wire.STOP.tag, wire.StopRequest, wire.StopReply, self._on_stop)

    # --- grants ------------------------------------------------------------------------------

    @property
    def grants(self) -> list[Grant]:
        """Every grant, in config order."""
        return list(self._grants)

    def grant(self, name: str) -> Grant:
        for entry in self._grants:
            if entry.name == name:
                return entry
        granted = ", ".join(entry.name for entry in self._grants) or "nothing"
        raise PluginError("GrantNotFound", f'grant "{name}" is not granted to plugin "{self.name}"; granted: {granted}. '
                                           f"Add it under [plugin.{self.name}.grants] in the host's config")

    def open_grant(self, name: str, kind: wire.GrantKind | None = None) -> int:
        """A close-on-exec duplicate of the grant's descriptor (the caller owns it), optionally
        checking its kind."""
        entry = self.grant(name)
        if kind is not None and entry.kind != kind:
            raise PluginError("WrongGrantKind", f"{entry.describe()} is not a {_KIND_NAMES[kind]} grant")
        if entry.fd is None:
            raise PluginError("WrongGrantKind", f"{entry.describe()} carries no descriptor")
        return fcntl.fcntl(entry.fd, fcntl.F_DUPFD_CLOEXEC, 3)

    # --- methods -----------------------------------------------------------------------------

    def on(self, name: str, handler: Callable[[Any], Any], request: Any = None, reply: Any = None) -> None:
        """Serves method `name` with `handler(request) -> reply`. The types are dataclasses
        (see airlock_plugin.types); by default they come from the handler's annotations.
        A handler that raises gives the caller an error reply with the message; a WireError
        carries its own status code. The plugin keeps serving."""
        if self._running:
            raise PluginError("RegistrationClosed",
                              f'method "{name}" registered after run(): register every handler before calling run()')
        if not isinstance(name, str) or not _METHOD_NAME.fullmatch(name):
            raise PluginError("InvalidArgument", f'method name "{name}" must be 1 to 64 bytes of A-Z a-z 0-9 _ . -')
        if any(method.name == name for method in self._methods):
            raise PluginError("DuplicateHandler", f'method "{name}" is already registered (a method has one handler)')
        if len(self._methods) >= wire.MAX_METHODS:
            raise PluginError("InvalidArgument", f"a plugin serves at most {wire.MAX_METHODS} methods")
        if request is None or reply is None:
            annotated_request, annotated_reply = _handler_types(handler)
            request = annotated_request if request is None else request
            reply = annotated_reply if reply is None else reply
        try:
            request_type, reply_type = describe(request), describe(reply)
            depth = max(spec_of(request).depth(), spec_of(reply).depth())
        except TypeError as error:
            raise PluginError("InvalidArgument", f'method "{name}": {error}') from None
        if depth > MAX_TYPE_DEPTH:
            raise PluginError("InvalidArgument", f'method "{name}": types nest {depth} levels deep; the host accepts '
                                                 f"at most {MAX_TYPE_DEPTH}")
        for which, text in (("request", request_type), ("reply", reply_type)):
            if len(text.encode()) > wire.MAX_TYPE_DESCRIPTION:
                raise PluginError("InvalidArgument", f'method "{name}": the {which} type description is longer than '
                                                     f"{wire.MAX_TYPE_DESCRIPTION} bytes")
        tag = wire.FIRST_APPLICATION_TAG + len(self._methods)
        self._session.on(tag, request, reply, handler)
        self._methods.append(MethodInfo(name, tag, request_type, reply_type))

    def method(self, name: str | None = None, request: Any = None, reply: Any = None) -> Callable:
        """Decorator form of `on`: ``@plugin.method("greet")`` (name defaults to the function's)."""
        def register(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
            self.on(name or handler.__name__, handler, request, reply)
            return handler
        return register

    @property
    def methods(self) -> list[MethodInfo]:
        return list(self._methods)

    # --- talking to the host -----------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The call session, for calls to the host's own methods."""
        return self._session

    def log(self, text: str, level: wire.LogLevel = wire.LogLevel.Info) -> None:
        """Sends a log line to the host (printed with the plugin's name); cut to 4096 bytes.
        Never raises for a closed connection."""
        cut = text.encode("utf-8", "surrogateescape")[:4096].decode("utf-8", "surrogateescape")
        try:
            self._session.notify(wire.LOG.tag, wire.LogRecord, wire.LogRecord(level, cut))
        except WireError:
            pass

    def progress(self, task: str, done: int, total: int = 0, message: str = "") -> None:
        """Reports how far a long task has got (`airlockctl status` shows it). The host's
        acknowledgement is not waited for, so no other call is served inside the handler."""
        def cut(text: str, limit: int) -> str:
            return text.encode("utf-8", "surrogateescape")[:limit].decode("utf-8", "surrogateescape")
        report = wire.ProgressReport(cut(task, 128), done, total, cut(message, 512))
        self._session.call_async(wire.PROGRESS.tag, wire.ProgressReport, report)

    # --- running -----------------------------------------------------------------------------

    def _on_stop(self, request: wire.StopRequest) -> wire.StopReply:
        self._stop_requested = True
        return wire.StopReply(0)

    def run(self) -> int:
        """Reports ready with the registered methods and serves until the host's stop request;
        then answers the calls already received and returns 0. Returns 1 when the host closes
        the connection without a stop request (after saying so on stderr)."""
        if self._running:
            raise PluginError("RegistrationClosed", "run() was called twice")
        self._running = True
        notice = wire.ReadyNotice([wire.MethodAnnouncement(m.name, m.tag, m.request_type, m.reply_type)
                                   for m in self._methods])
        try:
            self._session.notify(wire.READY.tag, wire.ReadyNotice, notice)
            while not self._stop_requested:
                self._session.serve_one()
            self._session.serve_queued()
        except WireError as error:
            print(f"airlock plugin {self.name}: the host closed the connection without a stop request: {error}",
                  file=sys.stderr, flush=True)
            return 1
        return 0
