"""The Python SDK's decoder on mutated bodies: a deterministic mutation run (the libFuzzer
targets in fuzz/ cover the C++ decoders; atheris is not packaged in Debian 12). Each body of
the plugin protocol and of a sample type using every kind is bit-flipped, overwritten,
truncated, extended and given large counts; decode_value must then either return a value that
survives encoding and decoding again or raise WireError, never another exception. Run by ctest
("python: unit tests")."""

from __future__ import annotations

import enum
import random
import struct
import unittest
from dataclasses import dataclass, field

from airlock_plugin import (Bool, Bytes, Int16, Optional, String, UInt8, UInt32, Vector, WireError, decode_value,
                            encode_value, wire_enum)
from airlock_plugin.plugin_protocol import (GrantAccess, GrantEntry, GrantKind, GrantTable, LogLevel, LogRecord,
                                            MethodAnnouncement, ProgressReport, ReadyNotice)


@wire_enum(UInt8)
class Colour(enum.IntEnum):
    Red = 1
    Green = 2


@dataclass
class Leaf:
    flag: Bool = False
    colour: Colour = Colour.Red
    small: Int16 = 0


@dataclass
class Sample:
    name: String[32] = ""
    data: Bytes[64] = b""
    leaves: Vector[Leaf, 8] = field(default_factory=list)
    maybe: Optional[UInt32] = None
    nested: Vector[Vector[String[8], 4], 4] = field(default_factory=list)
    deep: Optional[Optional[Leaf]] = None


SAMPLES = [
    (GrantTable, GrantTable("plugin", [GrantEntry("in", GrantKind.Directory, GrantAccess.Read, None, 7),
                                       GrantEntry("out", GrantKind.File, GrantAccess.ReadWrite, None, 0)])),
    (ReadyNotice, ReadyNotice([MethodAnnouncement("sum", 100, "struct R{a:i32}", "i64"),
                               MethodAnnouncement("x", 101, "", "string<8>")])),
    (LogRecord, LogRecord(LogLevel.Warning, "caf\u00e9 \x1b[2J")),
    (ProgressReport, ProgressReport("task", 3, 10, "three of ten")),
    (Sample, Sample("name", b"\x00\xff", [Leaf(True, Colour.Green, -3), Leaf()], 5, [["a", "bc"], []],
                    Leaf(False, Colour.Red, 7))),
]

ROUNDS = 2000


def mutate(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        if choice == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif choice == 1 and data:
            data[rng.randrange(len(data))] = rng.choice([0, 1, 2, 0x7F, 0x80, 0xFF])
        elif choice == 2 and data:
            del data[rng.randrange(len(data)):]
        elif choice == 3:
            at = rng.randrange(len(data) + 1)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 4 and len(data) >= 4:
            at = rng.randrange(len(data) - 3)  # a length or count field made large
            data[at:at + 4] = struct.pack("<I", rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 65536, 257, 9]))
        elif choice == 5 and data:
            data[rng.randrange(len(data))] = 0xC0  # a byte that is never valid UTF-8
    return bytes(data)


class DecoderMutationTest(unittest.TestCase):
    def test_mutated_bodies_decode_to_a_round_trip_or_a_wire_error(self) -> None:
        rng = random.Random(20261205)
        for annotation, value in SAMPLES:
            body, fds = encode_value(annotation, value)
            self.assertEqual(fds, [])
            self.assertEqual(encode_value(annotation, decode_value(annotation, body, []))[0], body)
            for _ in range(ROUNDS):
                mutated = mutate(body, rng)
                try:
                    decoded = decode_value(annotation, mutated, [])
                except WireError:
                    continue
                except Exception as error:  # noqa: BLE001 - any other exception is the finding
                    self.fail(f"{annotation.__name__}: {type(error).__name__}: {error} on {mutated.hex()}")
                again, _ = encode_value(annotation, decoded)
                if again != mutated and decode_value(annotation, again, []) != decoded:
                    # Bytes may differ only where Python has one value for two encodings
                    # (Optional[Optional[T]] present but empty is None, like absent): the value
                    # must survive the round trip.
                    self.fail(f"{annotation.__name__}: decode then encode changed {mutated.hex()} to {again.hex()}")


if __name__ == "__main__":
    unittest.main()
