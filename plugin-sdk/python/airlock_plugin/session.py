"""Calls over a Connection (docs/wire-format.md §5): requests, replies, error replies and
notifications, in both directions. Blocking and single-threaded: while a call waits for its
reply, other incoming messages are queued and handled afterwards, one at a time."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Callable

from .connection import ERROR_REPLY, ONE_WAY, REPLY, REQUEST, Connection, Message
from .errors import RemoteError, StatusCode, WireError
from .types import String, UInt8, decode_value, encode_value

MAX_ERROR_MESSAGE = 4096


@dataclass
class CallError:
    code: UInt8 = 0
    message: String[MAX_ERROR_MESSAGE] = ""


def _cut(text: str, limit: int) -> str:
    return text.encode("utf-8", "surrogateescape")[:limit].decode("utf-8", "surrogateescape")


@dataclass
class _Method:
    request: Any
    reply: Any
    handler: Callable[[Any], Any]


class Session:
    """Serves handlers by tag and makes calls to the peer's methods."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._methods: dict[int, _Method] = {}
        self._notifications: dict[int, tuple[Any, Callable[[Any], None]]] = {}
        self._next_call_id = 1
        self._unanswered: set[int] = set()     # call_async ids whose replies are dropped
        self._queued: collections.deque[Message] = collections.deque()

    # --- registration ------------------------------------------------------------------------

    def on(self, tag: int, request: Any, reply: Any, handler: Callable[[Any], Any]) -> None:
        """Serves requests under `tag` with `handler(request) -> reply`."""
        if tag in self._methods or tag in self._notifications:
            raise WireError(StatusCode.InvalidParameter, f"tag {tag} already has a handler")
        if not self.connection.protocol.accepts(tag):
            raise WireError(StatusCode.InvalidParameter, f"tag {tag} is not part of protocol {self.connection.protocol.name}")
        self._methods[tag] = _Method(request, reply, handler)

    def on_notification(self, tag: int, payload: Any, handler: Callable[[Any], None]) -> None:
        self._notifications[tag] = (payload, handler)

    # --- sending -----------------------------------------------------------------------------

    def _call_id(self) -> int:
        call_id = self._next_call_id
        self._next_call_id = self._next_call_id % 0xFFFFFFFF + 1  # never 0
        return call_id

    def notify(self, tag: int, payload_type: Any, value: Any) -> None:
        body, fds = encode_value(payload_type, value)
        self.connection.send(tag, ONE_WAY, 0, body, fds)

    def call_async(self, tag: int, request_type: Any, value: Any) -> int:
        """Sends a request and does not wait: its reply (or error reply) is dropped."""
        body, fds = encode_value(request_type, value)
        call_id = self._call_id()
        self.connection.send(tag, REQUEST, call_id, body, fds)
        self._unanswered.add(call_id)
        return call_id

    def call(self, tag: int, request_type: Any, reply_type: Any, value: Any) -> Any:
        """Calls the peer's method and waits for its reply. Raises RemoteError for an error
        reply, WireError when the connection fails. Requests the peer sends meanwhile are
        queued and served after this call returns."""
        body, fds = encode_value(request_type, value)
        call_id = self._call_id()
        self.connection.send(tag, REQUEST, call_id, body, fds)
        while True:
            message = self.connection.receive()
            if message.kind in (REPLY, ERROR_REPLY) and message.call_id == call_id:
                return self._reply_value(message, reply_type)
            if message.kind in (REPLY, ERROR_REPLY):
                self._drop_reply(message)
            else:
                self._queued.append(message)

    def _reply_value(self, message: Message, reply_type: Any) -> Any:
        if message.kind == REPLY:
            return decode_value(reply_type, message.body, message.fds)
        try:
            error = decode_value(CallError, message.body, message.fds)
        except WireError:
            raise RemoteError(StatusCode.Malformed, "undecodable error reply") from None
        code = error.code if 0 < error.code <= max(StatusCode) else StatusCode.HandlerFailed
        raise RemoteError(StatusCode(code), f"remote: {error.message}")

    def _drop_reply(self, message: Message) -> None:
        self._unanswered.discard(message.call_id)
        message.close_fds()

    # --- serving -----------------------------------------------------------------------------

    def serve_one(self) -> None:
        """Handles one incoming message (a queued one first), blocking until one arrives."""
        message = self._queued.popleft() if self._queued else self.connection.receive()
        self.dispatch(message)

    def serve_queued(self) -> None:
        """Handles the messages queued while a call waited."""
        while self._queued:
            self.dispatch(self._queued.popleft())

    def dispatch(self, message: Message) -> None:
        if message.kind in (REPLY, ERROR_REPLY):
            self._drop_reply(message)  # not outstanding (or sent with call_async)
        elif message.kind == ONE_WAY:
            self._notify(message)
        else:
            self._serve_request(message)

    def _notify(self, message: Message) -> None:
        entry = self._notifications.get(message.tag)
        if entry is None:
            message.close_fds()
            return
        try:
            value = decode_value(entry[0], message.body, message.fds)
        except WireError:
            return  # undecodable notifications are dropped (their descriptors are closed)
        entry[1](value)

    def _serve_request(self, message: Message) -> None:
        method = self._methods.get(message.tag)
        if method is None:
            message.close_fds()
            self._error_reply(message, StatusCode.NotFound, f"no method with tag {message.tag}")
            return
        try:
            request = decode_value(method.request, message.body, message.fds)
        except WireError as error:
            self._error_reply(message, error.code, error.message)
            return
        try:
            reply = method.handler(request)
            body, fds = encode_value(method.reply, reply)
        except WireError as error:
            self._error_reply(message, error.code, error.message)
            return
        except Exception as error:  # noqa: BLE001 - any handler failure becomes an error reply
            self._error_reply(message, StatusCode.HandlerFailed, str(error) or type(error).__name__)
            return
        self.connection.send(message.tag, REPLY, message.call_id, body, fds)

    def _error_reply(self, message: Message, code: StatusCode, text: str) -> None:
        body, fds = encode_value(CallError, CallError(int(code), _cut(text, MAX_ERROR_MESSAGE)))
        self.connection.send(message.tag, ERROR_REPLY, message.call_id, body, fds)

