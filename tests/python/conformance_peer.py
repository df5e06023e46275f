"""The Python side of the C++ <-> Python conformance test (tests/python/conformance_test.cpp).

Started by the test with its end of a SOCK_SEQPACKET socketpair at descriptor 3:
    python3 -B conformance_peer.py PACKET_SIZE
It declares the protocol of conformance_api.hpp again, handshakes (so the fingerprints must
agree), then serves until the test closes the connection (exit 0). A connection the peer
refuses (malformed packets, a protocol mismatch) ends it with exit status 3 and one line on
stderr naming the reason, never a traceback.
"""

from __future__ import annotations

import enum
import os
import socket
import sys
from dataclasses import dataclass, field

from airlock_plugin import (Bool, Bytes, Connection, Entry, Fd, Int8, Int16, Int32, Int64, Optional, Protocol,
                            Session, String, UInt8, UInt16, UInt32, UInt64, Vector, WireError, wire_enum)


@wire_enum(UInt8)
class Color(enum.IntEnum):
    Red = 1
    Green = 2
    Blue = 200


@wire_enum(Int16)
class Delta(enum.IntEnum):
    Down = -300
    Zero = 0
    Up = 300


@dataclass
class Leaf:
    label: String[16] = ""
    weight: Optional[Int32] = None
    fd: Fd = None


@dataclass
class Everything:
    i8: Int8 = 0
    i16: Int16 = 0
    i32: Int32 = 0
    i64: Int64 = 0
    u8: UInt8 = 0
    u16: UInt16 = 0
    u32: UInt32 = 0
    u64: UInt64 = 0
    yes: Bool = False
    no: Bool = False
    color: Color = Color.Red
    delta: Delta = Delta.Zero
    text: String[64] = ""
    blob: Bytes[64] = b""
    present: Optional[UInt16] = None
    absent: Optional[UInt16] = None
    leaf: Leaf = field(default_factory=Leaf)
    leaves: Vector[Leaf, 8] = field(default_factory=list)
    grid: Vector[Vector[UInt8, 4], 4] = field(default_factory=list)
    single: Fd = None
    none: Fd = None


@dataclass
class Largest:
    bytes: Bytes[16777216] = b""
    text: String[1048576] = ""
    fds: Vector[Fd, 300] = field(default_factory=list)


@dataclass
class Verdict:
    ok: Bool = False
    why: String[4096] = ""


@dataclass
class Probe:
    unused: UInt8 = 0


@dataclass
class Count:
    open_fds: UInt32 = 0


MIRROR_EVERYTHING = Entry(1, "mirror_everything", Everything, Everything)
MIRROR_LARGEST = Entry(2, "mirror_largest", Largest, Largest)
CALL_BACK = Entry(3, "call_back", Probe, Verdict)
OPEN_FDS = Entry(4, "open_fds", Probe, Count)
CHECK_EVERYTHING = Entry(5, "check_everything", Everything, Verdict)
CHECK_LARGEST = Entry(6, "check_largest", Largest, Verdict)
PROTOCOL = Protocol("airlock.conformance/1",
                    [MIRROR_EVERYTHING, MIRROR_LARGEST, CALL_BACK, OPEN_FDS, CHECK_EVERYTHING, CHECK_LARGEST])

# --- the expected values: the same recipe as expected_everything()/expected_largest() in C++ --


def labelled_memfd(label: str) -> int:
    fd = os.memfd_create("conformance", os.MFD_CLOEXEC)
    os.write(fd, label.encode())
    return fd


def fd_label(fd: int | None) -> str | None:
    return None if fd is None else os.pread(fd, 256, 0).decode()


def expected_everything(with_fds: bool) -> Everything:
    def memfd(label: str) -> int | None:
        return labelled_memfd(label) if with_fds else None
    return Everything(
        i8=-128, i16=-32768, i32=-2147483648, i64=-9223372036854775808,
        u8=255, u16=65535, u32=4294967295, u64=18446744073709551615,
        yes=True, no=False, color=Color.Blue, delta=Delta.Down,
        text="grüße, 世界", blob=bytes([0, 1, 2, 0x7F, 0x80, 0xFF]),
        present=4660, absent=None,
        leaf=Leaf("leaf", -7, memfd("leaf")),
        leaves=[Leaf(f"leaf {i}", i * 1000 if i % 2 == 0 else None, memfd(f"leaf {i}") if i != 1 else None)
                for i in range(3)],
        grid=[[], [1], [1, 2, 3, 4]],
        single=memfd("single"), none=None)


def expected_largest(with_fds: bool) -> Largest:
    return Largest(bytes=bytes((i * 7 + 3) & 0xFF for i in range(256)) * 65536,
                   text="é" * 524288,
                   fds=[labelled_memfd(f"fd {i}") for i in range(300)] if with_fds else [])


def fd_fields(value: Everything) -> list[int | None]:
    return [value.leaf.fd] + [leaf.fd for leaf in value.leaves] + [value.single, value.none]


def differences(got: Everything, want: Everything) -> list[str]:
    """What differs between two Everything values, comparing descriptors by their content."""
    problems = []
    for name in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "yes", "no", "color", "delta", "text", "blob",
                 "present", "absent", "grid"):
        if getattr(got, name) != getattr(want, name):
            problems.append(f"{name}: got {getattr(got, name)!r}, want {getattr(want, name)!r}")
    if type(got.color) is not Color or type(got.delta) is not Delta:
        problems.append("enums did not decode as their IntEnum classes")
    pairs = [(got.leaf, want.leaf, "leaf")] + [(g, w, f"leaves[{i}]") for i, (g, w) in enumerate(zip(got.leaves, want.leaves))]
    if len(got.leaves) != len(want.leaves):
        problems.append(f"leaves: {len(got.leaves)} elements, want {len(want.leaves)}")
    for g, w, path in pairs:
        if (g.label, g.weight) != (w.label, w.weight):
            problems.append(f"{path}: got {(g.label, g.weight)}, want {(w.label, w.weight)}")
        if fd_label(g.fd) != (None if w.fd is None else fd_label(w.fd)):
            problems.append(f"{path}.fd: got content {fd_label(g.fd)!r}")
    if fd_label(got.single) != "single" or got.none is not None:
        problems.append(f"single/none: got {fd_label(got.single)!r} / {got.none!r}")
    return problems


def close_all(fds) -> None:
    for fd in fds:
        if fd is not None:
            os.close(fd)


# --- the methods the peer serves ---------------------------------------------------------------


class Peer:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.want = expected_everything(with_fds=False)
        self.want.leaf.fd = labelled_memfd("leaf")
        for i, leaf in enumerate(self.want.leaves):
            leaf.fd = labelled_memfd(f"leaf {i}") if i != 1 else None
        self.want.single = labelled_memfd("single")
        self.kept: list[int] = []   # descriptors of the last mirrored value (sent borrowed)

    def release_kept(self) -> None:
        close_all(self.kept)
        self.kept = []

    def mirror_everything(self, value: Everything) -> Everything:
        self.release_kept()
        problems = differences(value, self.want)
        if problems:
            close_all(fd_fields(value))
            raise ValueError("the Python side decoded something else: " + "; ".join(problems))
        self.kept = [fd for fd in fd_fields(value) if fd is not None]
        return value

    def mirror_largest(self, value: Largest) -> Largest:
        self.release_kept()
        want = expected_largest(with_fds=False)
        labels = [fd_label(fd) for fd in value.fds]
        self.kept = list(value.fds)
        if value.bytes != want.bytes or value.text != want.text or labels != [f"fd {i}" for i in range(300)]:
            raise ValueError(f"the Python side decoded something else: {len(value.bytes)} bytes, "
                             f"{len(value.text)} characters, {len(labels)} descriptors")
        return value

    def call_back(self, _: Probe) -> Verdict:
        """Calls the C++ side's methods with the peer's own values (Python -> C++)."""
        everything = expected_everything(with_fds=True)
        largest = expected_largest(with_fds=True)
        try:
            for entry, value in ((CHECK_EVERYTHING, everything), (CHECK_LARGEST, largest)):
                verdict = self.session.call(entry.tag, entry.request, entry.reply, value)
                if not verdict.ok:
                    return Verdict(False, f"{entry.name}: {verdict.why}")
            return Verdict(True, "")
        finally:
            close_all(fd_fields(everything) + largest.fds)

    def open_fds(self, _: Probe) -> Count:
        return Count(len(os.listdir("/proc/self/fd")) - 1)  # minus the listing's own descriptor


def main() -> int:
    packet_size = int(sys.argv[1]) if len(sys.argv) > 1 else 131072
    connection = Connection(socket.socket(fileno=3), PROTOCOL, packet_size=packet_size)
    session = Session(connection)
    peer = Peer(session)
    for entry, handler in ((MIRROR_EVERYTHING, peer.mirror_everything), (MIRROR_LARGEST, peer.mirror_largest),
                           (CALL_BACK, peer.call_back), (OPEN_FDS, peer.open_fds)):
        session.on(entry.tag, entry.request, entry.reply, handler)
    try:
        connection.handshake()
        while True:
            session.serve_one()
    except WireError as error:
        if error.code.name == "PeerClosed":
            return 0
        print(f"conformance peer: connection refused: {error}", file=sys.stderr, flush=True)
        return 3


if __name__ == "__main__":
    sys.exit(main())
