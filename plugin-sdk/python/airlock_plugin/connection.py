"""The packet, hello and message layers of docs/wire-format.md §1–3 and the fingerprint of §6,
over a connected AF_UNIX SOCK_SEQPACKET socket. Blocking; one thread drives a connection.

Every failure raises WireError and closes the connection; descriptors that arrived with the
offending packet (or message) are closed first, so nothing leaks.
"""

from __future__ import annotations

import array
import fcntl
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from .errors import StatusCode, WireError
from .types import describe

WIRE_VERSION = 1
MAGIC = 0x4B434C41  # "ALCK"
PACKET_HELLO, PACKET_DATA = 1, 2
FLAG_FIRST, FLAG_LAST = 0x01, 0x02
PACKET_HEADER = struct.Struct("<BBHI")       # type, flags, fd_count, payload_length
MESSAGE_HEADER = struct.Struct("<HBBIII")    # tag, kind, reserved, call_id, body_length, fd_count
HELLO_HEADER = struct.Struct("<IHHIIQH")     # magic, version, reserved, packet size, reserved, fingerprint, name length
MAX_FDS_PER_PACKET = 253                     # SCM_MAX_FD
MIN_PACKET_SIZE, DEFAULT_PACKET_SIZE, MAX_PACKET_SIZE = 512, 131072, 212960
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_MESSAGE_FDS = 4096

ONE_WAY, REQUEST, REPLY, ERROR_REPLY = 0, 1, 2, 3


def fnv1a64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


@dataclass
class Entry:
    """One protocol entry: a method (with a reply type) or a notification (reply None)."""

    tag: int
    name: str
    request: Any
    reply: Any = None


class Protocol:
    """A protocol name, its entries and (optionally) the first application tag (§6)."""

    def __init__(self, name: str, entries: list[Entry] = (), application_tags_from: int = 0) -> None:
        self.name = name
        self.entries = sorted(entries, key=lambda entry: entry.tag)
        self.application_tags_from = application_tags_from
        tags = [entry.tag for entry in self.entries]
        if 0 in tags or len(set(tags)) != len(tags):
            raise ValueError(f"protocol {name}: tags must be distinct and not 0")
        if application_tags_from and tags and tags[-1] >= application_tags_from:
            raise ValueError(f"protocol {name}: a declared tag lies in the application range")

    def describe(self) -> str:
        text = f"protocol {self.name}\n"
        if self.application_tags_from:
            text += f"application tags from {self.application_tags_from}\n"
        for entry in self.entries:
            text += f"{entry.tag} {entry.name} {describe(entry.request)}"
            if entry.reply is not None:
                text += f" -> {describe(entry.reply)}"
            text += "\n"
        return text

    def fingerprint(self) -> int:
        return fnv1a64(self.describe().encode())

    def accepts(self, tag: int) -> bool:
        return any(entry.tag == tag for entry in self.entries) or (
            self.application_tags_from != 0 and tag >= self.application_tags_from)


@dataclass
class Message:
    tag: int
    kind: int
    call_id: int
    body: bytes
    fds: list[int] = field(default_factory=list)

    def close_fds(self) -> None:
        _close_all(self.fds)
        self.fds = []


@dataclass
class PeerToken:
    """Who the peer is, from the kernel-verified credentials of its hello."""

    pid: int
    uid: int
    gid: int


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class Connection:
    """One end of an Airlock connection in Pair mode (the socket comes from a socketpair)."""

    def __init__(self, sock: socket.socket, protocol: Protocol, packet_size: int = DEFAULT_PACKET_SIZE,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, max_message_fds: int = DEFAULT_MAX_MESSAGE_FDS) -> None:
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_SEQPACKET:
            raise WireError(StatusCode.InvalidParameter, "the connection needs an AF_UNIX SOCK_SEQPACKET socket")
        if not MIN_PACKET_SIZE <= packet_size <= MAX_PACKET_SIZE:
            raise WireError(StatusCode.InvalidParameter,
                            f"packet size {packet_size} is outside [{MIN_PACKET_SIZE}, {MAX_PACKET_SIZE}]")
        self.sock = sock
        self.protocol = protocol
        self.packet_size = packet_size
        self.agreed_packet_size = 0
        self.max_message_size = max_message_size
        self.max_message_fds = max_message_fds
        self.peer: PeerToken | None = None
        self.peer_protocol_name = ""
        self.closed_reason: WireError | None = None

    # --- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.sock.close()

    def _fail(self, code: StatusCode, message: str, fds: list[int] = ()) -> WireError:
        _close_all(list(fds))
        error = WireError(code, message)
        self.closed_reason = error
        self.close()
        return error

    @property
    def is_open(self) -> bool:
        return self.closed_reason is None and self.sock.fileno() >= 0

    # --- the hello (§2) ----------------------------------------------------------------------

    def handshake(self) -> PeerToken:
        """Sends our hello with SCM_CREDENTIALS, receives and checks the peer's."""
        fingerprint = self.protocol.fingerprint()
        name = self.protocol.name.encode()[:255]
        payload = HELLO_HEADER.pack(MAGIC, WIRE_VERSION, 0, self.packet_size, 0, fingerprint, len(name)) + name
        packet = PACKET_HEADER.pack(PACKET_HELLO, FLAG_FIRST | FLAG_LAST, 0, len(payload)) + payload
        credentials = struct.pack("iII", os.getpid(), os.geteuid(), os.getegid())
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self.sock.sendmsg([packet], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, credentials)], socket.MSG_NOSIGNAL)
            data, ancillary, flags, _ = self.sock.recvmsg(
                self.packet_size, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(4 * MAX_FDS_PER_PACKET), socket.MSG_CMSG_CLOEXEC)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
        except (BrokenPipeError, ConnectionResetError) as error:
            raise self._fail(StatusCode.PeerClosed, f"the peer closed the connection during the handshake ({error})")
        except OSError as error:
            raise self._fail(StatusCode.SystemError, f"handshake: {error}")
        token = None
        fds: list[int] = []
        for level, kind, content in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(content) >= 12:
                pid, uid, gid = struct.unpack("iII", content[:12])
                token = PeerToken(pid if pid > 0 else -1, uid, gid)
            elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", content[:len(content) - len(content) % 4]))
        if not data and not fds:
            raise self._fail(StatusCode.PeerClosed, "the peer closed the connection before its hello")
        header = self._check_packet(data, fds, flags)
        kind, _, fd_count, _ = header
        if kind != PACKET_HELLO:
            raise self._fail(StatusCode.Malformed, "the first packet is not a hello", fds)
        if fd_count or fds:
            raise self._fail(StatusCode.Malformed, "a hello carried descriptors", fds)
        payload = data[PACKET_HEADER.size:]
        if len(payload) < HELLO_HEADER.size or struct.unpack_from("<I", payload)[0] != MAGIC:
            raise self._fail(StatusCode.ProtocolMismatch, "the peer is not an Airlock connection (bad handshake magic)")
        magic, version, _, peer_packet_size, _, peer_fingerprint, name_length = HELLO_HEADER.unpack_from(payload)
        if version != WIRE_VERSION:
            raise self._fail(StatusCode.ProtocolMismatch,
                             f"wire version mismatch: this side speaks {WIRE_VERSION}, the peer {version}")
        if len(payload) != HELLO_HEADER.size + name_length:
            raise self._fail(StatusCode.Malformed, "hello: the name length does not match the payload")
        self.peer_protocol_name = payload[HELLO_HEADER.size:].decode("utf-8", "replace")
        if peer_fingerprint != fingerprint:
            raise self._fail(StatusCode.ProtocolMismatch,
                             f'protocol mismatch: this side speaks "{self.protocol.name}" (fingerprint {fingerprint:016x}), '
                             f'the peer speaks "{self.peer_protocol_name}" (fingerprint {peer_fingerprint:016x}); '
                             "rebuild both against the same protocol definition")
        if not MIN_PACKET_SIZE <= peer_packet_size <= MAX_PACKET_SIZE:
            raise self._fail(StatusCode.Malformed, f"the peer's packet size {peer_packet_size} is out of range")
        if token is None:
            raise self._fail(StatusCode.PermissionDenied, "the peer's hello carried no credentials")
        self.agreed_packet_size = min(self.packet_size, peer_packet_size)
        self.peer = token
        return token

    # --- packets (§1) ------------------------------------------------------------------------

    def _check_packet(self, data: bytes, fds: list[int], flags: int) -> tuple[int, int, int, int]:
        if flags & socket.MSG_CTRUNC:
            raise self._fail(StatusCode.TooLarge, "descriptors were dropped by the kernel (MSG_CTRUNC)", fds)
        if flags & socket.MSG_TRUNC:
            raise self._fail(StatusCode.Malformed, "a packet is larger than the packet size (MSG_TRUNC)", fds)
        if len(data) < PACKET_HEADER.size:
            raise self._fail(StatusCode.Malformed, f"a packet of {len(data)} bytes is shorter than its header", fds)
        kind, packet_flags, fd_count, payload_length = PACKET_HEADER.unpack_from(data)
        if payload_length != len(data) - PACKET_HEADER.size:
            raise self._fail(StatusCode.Malformed,
                             f"packet payload length {payload_length} does not match the datagram ({len(data)} bytes)", fds)
        if fd_count != len(fds):
            raise self._fail(StatusCode.Malformed, f"packet announces {fd_count} descriptors, {len(fds)} arrived", fds)
        if kind not in (PACKET_HELLO, PACKET_DATA):
            raise self._fail(StatusCode.Malformed, f"unknown packet type {kind}", fds)
        return kind, packet_flags, fd_count, payload_length

    def _receive_packet(self) -> tuple[int, bytes, list[int]]:
        try:
            data, fds, flags, _ = socket.recv_fds(self.sock, self.agreed_packet_size, MAX_FDS_PER_PACKET,
                                                  socket.MSG_CMSG_CLOEXEC)
        except ConnectionResetError:
            raise self._fail(StatusCode.PeerClosed, "the peer reset the connection")
        except OSError as error:
            raise self._fail(StatusCode.SystemError, f"recvmsg: {error}")
        fds = list(fds)
        if not data and not fds:
            raise self._fail(StatusCode.PeerClosed, "the peer closed the connection")
        # A descriptor numbered 0 would read as "no descriptor" (§1): move it up.
        for index, fd in enumerate(fds):
            if fd == 0:
                fds[index] = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
                os.close(fd)
        kind, packet_flags, _, _ = self._check_packet(data, fds, flags)
        if kind == PACKET_HELLO:
            raise self._fail(StatusCode.Malformed, "a second hello", fds)
        return packet_flags, data[PACKET_HEADER.size:], fds

    # --- messages (§3) -----------------------------------------------------------------------

    def send(self, tag: int, kind: int, call_id: int, body: bytes, fds: list[int] = ()) -> None:
        """Sends one message, split into packets of at most the agreed size (the descriptors
        are borrowed: the kernel duplicates them into the receiver)."""
        if not self.is_open or not self.agreed_packet_size:
            raise WireError(StatusCode.InvalidState, "the connection is closed or not yet established")
        size = self.agreed_packet_size
        fds = list(fds)
        header = MESSAGE_HEADER.pack(tag, kind, 0, call_id, len(body), len(fds))
        view = memoryview(body)
        body_at, fd_at, first = 0, 0, True
        while first or body_at < len(body) or fd_at < len(fds):
            room = size - PACKET_HEADER.size - (MESSAGE_HEADER.size if first else 0)
            chunk = view[body_at:body_at + room]
            chunk_fds = fds[fd_at:fd_at + MAX_FDS_PER_PACKET]
            body_at += len(chunk)
            fd_at += len(chunk_fds)
            last = body_at >= len(body) and fd_at >= len(fds)
            flags = (FLAG_FIRST if first else 0) | (FLAG_LAST if last else 0)
            prefix = header if first else b""
            packet_header = PACKET_HEADER.pack(PACKET_DATA, flags, len(chunk_fds), len(prefix) + len(chunk))
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", chunk_fds))] if chunk_fds else []
            try:
                self.sock.sendmsg([packet_header, prefix, chunk], ancillary, socket.MSG_NOSIGNAL)
            except (BrokenPipeError, ConnectionResetError):
                raise self._fail(StatusCode.PeerClosed, "the peer closed the connection")
            except OSError as error:
                raise self._fail(StatusCode.SystemError, f"sendmsg: {error}")
            first = False

    def receive(self) -> Message:
        """Receives one whole message, checking every packet against §3."""
        if not self.is_open or not self.agreed_packet_size:
            raise WireError(StatusCode.InvalidState, "the connection is closed or not yet established")
        flags, payload, fds = self._receive_packet()
        if not flags & FLAG_FIRST:
            raise self._fail(StatusCode.Malformed, "a continuation packet without a message being assembled", fds)
        if len(payload) < MESSAGE_HEADER.size:
            raise self._fail(StatusCode.Malformed, "the first packet is shorter than the message header", fds)
        tag, kind, _, call_id, body_length, fd_count = MESSAGE_HEADER.unpack_from(payload)
        if body_length > self.max_message_size:
            raise self._fail(StatusCode.TooLarge,
                             f"message body of {body_length} bytes exceeds the maximum of {self.max_message_size}", fds)
        if fd_count > self.max_message_fds:
            raise self._fail(StatusCode.TooLarge,
                             f"message with {fd_count} descriptors exceeds the maximum of {self.max_message_fds}", fds)
        if kind > ERROR_REPLY:
            raise self._fail(StatusCode.Malformed, f"unknown message kind {kind}", fds)
        # Grown as the bytes arrive: a header alone must not make us allocate its body_length.
        body = bytearray()
        received_fds: list[int] = []
        filled = 0
        part = memoryview(payload)[MESSAGE_HEADER.size:]
        while True:
            if filled + len(part) > body_length:
                raise self._fail(StatusCode.Malformed, "a packet carries more body bytes than the message declares",
                                 received_fds + fds)
            body += part
            filled += len(part)
            received_fds.extend(fds)
            if len(received_fds) > fd_count:
                raise self._fail(StatusCode.Malformed, "more descriptors arrived than the message declares", received_fds)
            complete = filled == body_length and len(received_fds) == fd_count
            if bool(flags & FLAG_LAST) != complete:
                raise self._fail(StatusCode.Malformed,
                                 "the last-fragment flag does not match the message's body and descriptors", received_fds)
            if complete:
                return Message(tag, kind, call_id, bytes(body), received_fds)
            try:
                flags, payload, fds = self._receive_packet()
            except WireError:
                _close_all(received_fds)
                raise
            if flags & FLAG_FIRST:
                raise self._fail(StatusCode.Malformed, "a first fragment while a message is being assembled",
                                 received_fds + fds)
            part = memoryview(payload)
