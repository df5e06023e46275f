"""The Python SDK against a hostile peer's bytes: what a header alone may make it allocate.
Run by ctest ("python: unit tests") over real socketpairs."""

from __future__ import annotations

import struct
import tracemalloc
import unittest

from airlock_plugin import StatusCode, WireError
from test_wire import DEMO, connected


class HostileBytesTest(unittest.TestCase):
    def test_a_message_header_alone_does_not_allocate_its_announced_body(self) -> None:
        left, right = connected(DEMO)
        announced = 64 * 1024 * 1024  # the default maximum message size
        body_start = b"0123456789"
        message_header = struct.pack("<HBBIII", 1, 0, 0, 0, announced, 0)
        packet_header = struct.pack("<BBHI", 2, 0x01, 0, len(message_header) + len(body_start))
        left.sock.sendmsg([packet_header, message_header, body_start])
        left.sock.close()  # the rest never comes
        tracemalloc.start()
        try:
            with self.assertRaises(WireError) as caught:
                right.receive()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertEqual(caught.exception.code, StatusCode.PeerClosed)
        # Before: bytearray(body_length) took 64 MiB on the first packet.
        self.assertLess(peak, 1024 * 1024)


if __name__ == "__main__":
    unittest.main()
