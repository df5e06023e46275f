"""Unit tests of the Python SDK's wire format against docs/wire-format.md (its worked example
byte for byte, its limits) over real socketpairs. Run by ctest ("python: unit tests")."""

from __future__ import annotations

import enum
import os
import socket
import struct
import threading
import unittest
from dataclasses import dataclass, field

from airlock_plugin import (Bool, Bytes, Connection, Entry, Fd, Int16, Optional, Protocol, RemoteError, Session,
                            StatusCode, String, UInt8, UInt32, Vector, WireError, decode_value, describe,
                            encode_value, wire_enum)
from airlock_plugin.plugin_protocol import PLUGIN_PROTOCOL


# The worked example of docs/wire-format.md §7.
@wire_enum(UInt8)
class Access(enum.IntEnum):
    Read = 1
    Write = 2


@dataclass
class Grant:
    name: String[64] = ""
    access: Access = Access.Read
    fd: Fd = None


@dataclass
class OpenRequest:
    id: UInt32 = 0
    grants: Vector[Grant, 8] = field(default_factory=list)
    level: Optional[Int16] = None
    urgent: Bool = False


@dataclass
class OpenReply:
    fd: Fd = None


DEMO = Protocol("demo", [Entry(1, "open", OpenRequest, OpenReply)])


@dataclass
class Blob:
    data: Bytes[16777216] = b""


def seqpacket_pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def connected(protocol: Protocol, packet_size: int = 131072) -> tuple[Connection, Connection]:
    a, b = seqpacket_pair()
    left, right = Connection(a, protocol, packet_size), Connection(b, protocol, packet_size)
    done = threading.Thread(target=right.handshake)
    done.start()
    left.handshake()
    done.join()
    return left, right


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


class WorkedExampleTest(unittest.TestCase):
    def test_description_and_fingerprint(self) -> None:
        self.assertEqual(DEMO.describe(),
                         "protocol demo\n"
                         "1 open struct OpenRequest{id:uint32,grants:vector<struct Grant{name:string<64>,access:enum "
                         "Access:uint8{Read=1,Write=2},fd:fd},8>,level:optional<int16>,urgent:bool} -> "
                         "struct OpenReply{fd:fd}\n")
        self.assertEqual(DEMO.fingerprint(), 0x0F9C18088611A492)
        self.assertEqual(Protocol("empty").fingerprint(), 0xDED5C2FB0E4ABC92)

    def test_request_body(self) -> None:
        log = os.open("/dev/null", os.O_WRONLY)
        self.addCleanup(os.close, log)
        request = OpenRequest(7, [Grant("log", Access.Write, log), Grant("in", Access.Read, None)], -2, True)
        body, fds = encode_value(OpenRequest, request)
        self.assertEqual(body.hex(" "), "07 00 00 00 02 00 00 00 03 00 00 00 6c 6f 67 02 00 00 00 00 02 00 00 00 "
                                        "69 6e 01 ff ff ff ff 01 fe ff 01")
        self.assertEqual(fds, [log])

    def test_hello_and_request_packets_on_the_wire(self) -> None:
        a, b = seqpacket_pair()
        connection = Connection(a, DEMO)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        peer_hello = struct.pack("<BBHI", 1, 3, 0, 30) + struct.pack("<IHHIIQH", 0x4B434C41, 1, 0, 131072, 0,
                                                                      DEMO.fingerprint(), 4) + b"demo"
        b.sendmsg([peer_hello], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("iII", os.getpid(), 0, 0))])
        token = connection.handshake()
        self.assertEqual(token.pid, os.getpid())
        hello, ancillary, _, _ = b.recvmsg(1024, 1024)
        self.assertEqual(hello, peer_hello)  # the same bytes as §7 shows
        self.assertTrue(any(kind == socket.SCM_CREDENTIALS for _, kind, _ in ancillary))
        b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
        body, fds = encode_value(OpenRequest, OpenRequest(7, [Grant("log", Access.Write, b.fileno())], -2, True))
        connection.send(1, 1, 1, body, fds)
        packet, fds, _, _ = socket.recv_fds(b, 1024, 8)
        self.assertEqual(packet[:24].hex(" "), "02 03 01 00 " + (len(packet) - 8).to_bytes(4, "little").hex(" ") +
                         " 01 00 01 00 01 00 00 00 " + len(body).to_bytes(4, "little").hex(" ") + " 01 00 00 00")
        self.assertEqual(len(fds), 1)
        os.close(fds[0])
        connection.close()
        b.close()

    def test_fragmentation_of_one_mebibyte_at_4096(self) -> None:
        a, b = seqpacket_pair()
        sender = Connection(a, DEMO, packet_size=4096)
        sender.agreed_packet_size = 4096  # as after a handshake with a peer preferring 4096
        sizes, flags = [], []

        def read_all() -> None:  # concurrently: 1 MiB does not fit the socket buffer
            while not flags or not flags[-1] & 2:
                packet = b.recv(8192)
                flags.append(packet[1])
                sizes.append(len(packet) - 8)
        reader = threading.Thread(target=read_all)
        reader.start()
        sender.send(1, 0, 0, bytes(1048576))
        reader.join()
        self.assertEqual(len(sizes), 257)
        self.assertEqual(sizes[0], 16 + 4072)
        self.assertEqual(set(sizes[1:-1]), {4088})
        self.assertEqual(sizes[-1], 2064)
        self.assertEqual(flags, [1] + [0] * 255 + [2])
        sender.close()
        b.close()


class CodecLimitsTest(unittest.TestCase):
    def test_encoder_refuses_values_outside_the_declaration(self) -> None:
        with self.assertRaises(WireError) as refused:
            encode_value(OpenRequest, OpenRequest(grants=[Grant("x" * 65)]))
        self.assertEqual(refused.exception.code, StatusCode.InvalidParameter)
        self.assertIn("grants[0].name: 65 bytes exceed the maximum of 64", refused.exception.message)
        with self.assertRaises(WireError):
            encode_value(OpenRequest, OpenRequest(id=1 << 32))
        with self.assertRaises(WireError):
            encode_value(OpenRequest, OpenRequest(grants=[Grant("a", 3)]))
        with self.assertRaises(WireError):
            encode_value(OpenRequest, OpenRequest(grants=[Grant()] * 9))

    def test_decoder_refuses_and_closes_every_received_descriptor(self) -> None:
        body, _ = encode_value(OpenRequest, OpenRequest(1, [Grant("a", Access.Read, None)]))
        bad_index = body.replace(b"\xff\xff\xff\xff", b"\x07\x00\x00\x00")
        received = [os.open("/dev/null", os.O_RDONLY), os.open("/dev/null", os.O_RDONLY)]
        with self.assertRaises(WireError) as refused:
            decode_value(OpenRequest, bad_index, received)
        self.assertEqual(refused.exception.code, StatusCode.Malformed)
        self.assertEqual(refused.exception.message, "grants[0].fd: descriptor index 7 is out of range (message carries 2)")
        self.assertFalse(any(is_open(fd) for fd in received))

        for broken, message in ((body[:-1], "urgent: truncated: needs 1 more bytes"),
                                (body[:-1] + b"\x02", "urgent: bool byte is 2, not 0 or 1"),
                                (body + b"\x00", "1 trailing bytes after the value"),
                                (body[:4] + b"\x09\x00\x00\x00", "grants: count 9 exceeds the maximum of 8"),
                                (body[:4] + b"\x08\x00\x00\x00", "grants: count 8 needs at least 72 bytes, 0 remain")):
            with self.subTest(message=message), self.assertRaises(WireError) as refused:
                decode_value(OpenRequest, broken, [])
            self.assertEqual(refused.exception.message, message)

    def test_a_descriptor_sent_but_not_referenced_is_refused(self) -> None:
        body, _ = encode_value(OpenReply, OpenReply(None))
        stray = os.open("/dev/null", os.O_RDONLY)
        with self.assertRaises(WireError):
            decode_value(OpenReply, body, [stray])
        self.assertFalse(is_open(stray))

    def test_types_without_a_wire_form_are_refused_when_declared(self) -> None:
        @dataclass
        class Unbounded:
            text: str = ""
        with self.assertRaises(TypeError):
            describe(Unbounded)


class CallTest(unittest.TestCase):
    def test_calls_both_ways_with_descriptors_and_error_replies(self) -> None:
        left, right = connected(DEMO, packet_size=512)
        served = Session(right)
        calls = Session(left)

        def open_files(request: OpenRequest) -> OpenReply:
            if request.id == 0:
                raise ValueError("id 0 is not a file")
            return OpenReply(request.grants[0].fd)

        served.on(1, OpenRequest, OpenReply, open_files)
        server = threading.Thread(target=lambda: [served.serve_one() for _ in range(2)])
        server.start()
        read_end, write_end = os.pipe()
        reply = calls.call(1, OpenRequest, OpenReply, OpenRequest(5, [Grant("p", Access.Write, write_end)] * 8))
        os.write(reply.fd, b"through the reply")
        self.assertEqual(os.read(read_end, 100), b"through the reply")
        with self.assertRaises(RemoteError) as failed:
            calls.call(1, OpenRequest, OpenReply, OpenRequest(0))
        self.assertEqual(failed.exception.code, StatusCode.HandlerFailed)
        self.assertEqual(failed.exception.message, "remote: id 0 is not a file")
        server.join()
        for fd in (read_end, write_end, reply.fd):
            os.close(fd)
        left.close()
        right.close()

    def test_a_protocol_mismatch_is_refused(self) -> None:
        a, b = seqpacket_pair()
        left, right = Connection(a, DEMO), Connection(b, Protocol("other"))
        errors = []
        thread = threading.Thread(target=lambda: errors.append(self.assertRaises(WireError, right.handshake)))
        thread.start()
        with self.assertRaises(WireError) as refused:
            left.handshake()
        thread.join()
        self.assertEqual(refused.exception.code, StatusCode.ProtocolMismatch)
        self.assertIn('the peer speaks "other"', refused.exception.message)
        self.assertFalse(left.is_open)


class PluginProtocolTest(unittest.TestCase):
    def test_the_plugin_protocol_declares_application_tags(self) -> None:
        # docs/wire-format.md §6: the application range is part of the description.
        self.assertTrue(PLUGIN_PROTOCOL.describe().startswith("protocol airlock.plugin/1\napplication tags from 100\n"))


if __name__ == "__main__":
    unittest.main()
