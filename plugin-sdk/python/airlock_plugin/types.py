"""Wire types: how Python values map to the Airlock body encoding (docs/wire-format.md §4).

A message type is a dataclass whose members are annotated with the markers below::

    @dataclass
    class GreetRequest:
        name: String[256] = ""

    @dataclass
    class Grant:
        name: String[64] = ""
        access: Access = Access.Read       # an IntEnum decorated with @wire_enum(UInt8)
        fd: Fd = None                      # a descriptor: an int, or None for "no descriptor"
        tags: Vector[String[16], 8] = field(default_factory=list)
        level: Optional[Int16] = None

Every marker is a ``WireType``; ``spec_of(cls)`` turns a dataclass (or a marker) into one.
Each WireType can describe itself canonically (the text the fingerprint and the method
announcements use), encode a value and decode it back, checking every bound.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import struct
import sys
from typing import Any

from .errors import StatusCode, WireError

# --- the encoder / decoder state -------------------------------------------------------------


class Encoder:
    """Collects a body and its descriptors, in body order (§4 "Descriptors")."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.fds: list[int] = []

    def body(self) -> bytes:
        return b"".join(self.parts)


class Decoder:
    """Reads a body; remembers which received descriptors were used."""

    def __init__(self, body: bytes | memoryview, fds: list[int]) -> None:
        self.view = memoryview(body)
        self.offset = 0
        self.fds = fds
        self.used = [False] * len(fds)

    def remaining(self) -> int:
        return len(self.view) - self.offset

    def take(self, count: int, path: str) -> memoryview:
        if count > self.remaining():
            raise WireError(StatusCode.Malformed, f"{path}: truncated: needs {count - self.remaining()} more bytes")
        start = self.offset
        self.offset += count
        return self.view[start:self.offset]


def _path(path: str) -> str:
    return path or "value"


# --- the type markers ------------------------------------------------------------------------


class WireType:
    """One type on the wire. Subclasses implement describe/encode/decode/min_size."""

    def describe(self) -> str:
        raise NotImplementedError

    def min_size(self) -> int:
        raise NotImplementedError

    def default(self) -> Any:
        raise NotImplementedError

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        raise NotImplementedError

    def decode(self, source: Decoder, path: str) -> Any:
        raise NotImplementedError

    def depth(self) -> int:
        return 0

    def __repr__(self) -> str:
        return self.describe()

    # Annotations may be evaluated by typing helpers, which want callables.
    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
        raise TypeError(f"{self.describe()} is a wire type marker, not a constructor")


class IntegerType(WireType):
    def __init__(self, signed: bool, width: int) -> None:
        self.signed = signed
        self.width = width
        self.format = "<" + {1: "b", 2: "h", 4: "i", 8: "q"}[width]
        if not signed:
            self.format = self.format.upper()
        bits = 8 * width
        self.low = -(1 << (bits - 1)) if signed else 0
        self.high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def describe(self) -> str:
        return f"{'int' if self.signed else 'uint'}{8 * self.width}"

    def min_size(self) -> int:
        return self.width

    def default(self) -> int:
        return 0

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: {self.describe()} needs an int, got {type(value).__name__}")
        if not self.low <= value <= self.high:
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: {value} is outside {self.describe()}")
        out.parts.append(struct.pack(self.format, value))

    def decode(self, source: Decoder, path: str) -> int:
        return struct.unpack(self.format, source.take(self.width, _path(path)))[0]


class BoolType(WireType):
    def describe(self) -> str:
        return "bool"

    def min_size(self) -> int:
        return 1

    def default(self) -> bool:
        return False

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if not isinstance(value, bool):
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: bool needs True or False, got {type(value).__name__}")
        out.parts.append(b"\x01" if value else b"\x00")

    def decode(self, source: Decoder, path: str) -> bool:
        byte = source.take(1, _path(path))[0]
        if byte > 1:
            raise WireError(StatusCode.Malformed, f"{_path(path)}: bool byte is {byte}, not 0 or 1")
        return byte == 1


class FdType(WireType):
    """A descriptor: an int the receiver owns, or None. Values <= 0 send no descriptor."""

    NONE = 0xFFFFFFFF

    def describe(self) -> str:
        return "fd"

    def min_size(self) -> int:
        return 4

    def default(self) -> None:
        return None

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            if hasattr(value, "fileno"):
                value = value.fileno()
            else:
                raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: fd needs an int, None or an object with fileno()")
        if value is None or value <= 0:
            out.parts.append(struct.pack("<I", self.NONE))
            return
        out.parts.append(struct.pack("<I", len(out.fds)))
        out.fds.append(value)

    def decode(self, source: Decoder, path: str) -> int | None:
        index = struct.unpack("<I", source.take(4, _path(path)))[0]
        if index == self.NONE:
            return None
        if index >= len(source.fds):
            raise WireError(StatusCode.Malformed,
                            f"{_path(path)}: descriptor index {index} is out of range (message carries {len(source.fds)})")
        if source.used[index]:
            raise WireError(StatusCode.Malformed, f"{_path(path)}: descriptor index {index} is used twice")
        source.used[index] = True
        return source.fds[index]


class _SizedType(WireType):
    """String and bytes: u32 length, then the bytes."""

    kind = ""

    def __init__(self, max_length: int) -> None:
        if not isinstance(max_length, int) or max_length < 0 or max_length > 0xFFFFFFFF:
            raise TypeError(f"{self.kind}[N] needs a bound 0..2^32-1, got {max_length!r}")
        self.max_length = max_length

    def describe(self) -> str:
        return f"{self.kind}<{self.max_length}>"

    def min_size(self) -> int:
        return 4

    def _put(self, data: bytes, out: Encoder, path: str) -> None:
        if len(data) > self.max_length:
            raise WireError(StatusCode.InvalidParameter,
                            f"{_path(path)}: {len(data)} bytes exceed the maximum of {self.max_length} ({self.describe()})")
        out.parts.append(struct.pack("<I", len(data)))
        out.parts.append(data)

    def _get(self, source: Decoder, path: str) -> memoryview:
        length = struct.unpack("<I", source.take(4, _path(path)))[0]
        if length > self.max_length:
            raise WireError(StatusCode.Malformed,
                            f"{_path(path)}: length {length} exceeds the maximum of {self.max_length}")
        return source.take(length, _path(path))


class StringType(_SizedType):
    """UTF-8 text; bytes that are not UTF-8 survive a round trip as surrogate escapes."""

    kind = "string"

    def default(self) -> str:
        return ""

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if not isinstance(value, str):
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: {self.describe()} needs a str, got {type(value).__name__}")
        self._put(value.encode("utf-8", "surrogateescape"), out, path)

    def decode(self, source: Decoder, path: str) -> str:
        return bytes(self._get(source, path)).decode("utf-8", "surrogateescape")


class BytesType(_SizedType):
    kind = "bytes"

    def default(self) -> bytes:
        return b""

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: {self.describe()} needs bytes, got {type(value).__name__}")
        self._put(bytes(value), out, path)

    def decode(self, source: Decoder, path: str) -> bytes:
        return bytes(self._get(source, path))


class VectorType(WireType):
    def __init__(self, element: WireType, max_length: int) -> None:
        if not isinstance(max_length, int) or max_length < 0 or max_length > 0xFFFFFFFF:
            raise TypeError(f"Vector[T, N] needs a bound 0..2^32-1, got {max_length!r}")
        self.element = element
        self.max_length = max_length

    def describe(self) -> str:
        return f"vector<{self.element.describe()},{self.max_length}>"

    def min_size(self) -> int:
        return 4

    def depth(self) -> int:
        return 1 + self.element.depth()

    def default(self) -> list:
        return []

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__len__"):
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: {self.describe()} needs a list, got {type(value).__name__}")
        if len(value) > self.max_length:
            raise WireError(StatusCode.InvalidParameter,
                            f"{_path(path)}: {len(value)} elements exceed the maximum of {self.max_length}")
        out.parts.append(struct.pack("<I", len(value)))
        for index, item in enumerate(value):
            self.element.encode(item, out, f"{_path(path)}[{index}]")

    def decode(self, source: Decoder, path: str) -> list:
        count = struct.unpack("<I", source.take(4, _path(path)))[0]
        if count > self.max_length:
            raise WireError(StatusCode.Malformed, f"{_path(path)}: count {count} exceeds the maximum of {self.max_length}")
        # A hostile count cannot make us loop or allocate beyond what the bytes can hold.
        if count * self.element.min_size() > source.remaining():
            raise WireError(StatusCode.Malformed,
                            f"{_path(path)}: count {count} needs at least {count * self.element.min_size()} bytes, "
                            f"{source.remaining()} remain")
        return [self.element.decode(source, f"{_path(path)}[{index}]") for index in range(count)]


class OptionalType(WireType):
    def __init__(self, element: WireType) -> None:
        self.element = element

    def describe(self) -> str:
        return f"optional<{self.element.describe()}>"

    def min_size(self) -> int:
        return 1

    def depth(self) -> int:
        return 1 + self.element.depth()

    def default(self) -> None:
        return None

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if value is None:
            out.parts.append(b"\x00")
            return
        out.parts.append(b"\x01")
        self.element.encode(value, out, path)

    def decode(self, source: Decoder, path: str) -> Any:
        present = source.take(1, _path(path))[0]
        if present > 1:
            raise WireError(StatusCode.Malformed, f"{_path(path)}: optional presence byte is {present}, not 0 or 1")
        return self.element.decode(source, path) if present else None


class EnumType(WireType):
    def __init__(self, cls: type[enum.IntEnum], underlying: IntegerType) -> None:
        self.cls = cls
        self.underlying = underlying
        self.name = getattr(cls, "__airlock_name__", cls.__name__)
        self.values = {member.value for member in cls}
        if not self.values:
            raise TypeError(f"enum {cls.__name__} has no enumerators")

    def describe(self) -> str:
        items = ",".join(f"{member.name}={member.value}" for member in self.cls)
        return f"enum {self.name}:{self.underlying.describe()}{{{items}}}"

    def min_size(self) -> int:
        return self.underlying.width

    def default(self) -> Any:
        return next(iter(self.cls))

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value not in self.values:
            raise WireError(StatusCode.InvalidParameter, f"{_path(path)}: {value!r} is not an enumerator of {self.name}")
        self.underlying.encode(int(value), out, path)

    def decode(self, source: Decoder, path: str) -> Any:
        raw = self.underlying.decode(source, path)
        if raw not in self.values:
            raise WireError(StatusCode.Malformed, f"{_path(path)}: {raw} is not an enumerator of {self.name}")
        return self.cls(raw)


class StructType(WireType):
    def __init__(self, cls: type, members: list[tuple[str, WireType]]) -> None:
        if not members:
            raise TypeError(f"struct {cls.__name__} has no members; the wire format needs at least one")
        self.cls = cls
        self.name = getattr(cls, "__airlock_name__", cls.__name__)
        self.members = members

    def describe(self) -> str:
        items = ",".join(f"{name}:{member.describe()}" for name, member in self.members)
        return f"struct {self.name}{{{items}}}"

    def min_size(self) -> int:
        return sum(member.min_size() for _, member in self.members)

    def depth(self) -> int:
        return 1 + max(member.depth() for _, member in self.members)

    def default(self) -> Any:
        return self.cls()

    def encode(self, value: Any, out: Encoder, path: str) -> None:
        if not isinstance(value, self.cls):
            raise WireError(StatusCode.InvalidParameter,
                            f"{_path(path)}: struct {self.name} needs a {self.cls.__name__}, got {type(value).__name__}")
        for name, member in self.members:
            member.encode(getattr(value, name), out, f"{path}.{name}" if path else name)

    def decode(self, source: Decoder, path: str) -> Any:
        values = {name: member.decode(source, f"{path}.{name}" if path else name) for name, member in self.members}
        return self.cls(**values)


# --- the public markers ----------------------------------------------------------------------

Int8, Int16, Int32, Int64 = (IntegerType(True, w) for w in (1, 2, 4, 8))
UInt8, UInt16, UInt32, UInt64 = (IntegerType(False, w) for w in (1, 2, 4, 8))
Bool = BoolType()
Fd = FdType()


class _Subscriptable:
    def __init__(self, build: Any, name: str) -> None:
        self._build = build
        self._name = name

    def __getitem__(self, arguments: Any) -> WireType:
        if not isinstance(arguments, tuple):
            arguments = (arguments,)
        return self._build(*arguments)

    def __repr__(self) -> str:
        return self._name


String = _Subscriptable(StringType, "String")        # String[256]
Bytes = _Subscriptable(BytesType, "Bytes")           # Bytes[65536]
Vector = _Subscriptable(lambda element, bound: VectorType(spec_of(element), bound), "Vector")  # Vector[T, 16]
List = Vector
Optional = _Subscriptable(lambda element: OptionalType(spec_of(element)), "Optional")  # Optional[UInt32]


def wire_enum(underlying: IntegerType):
    """Class decorator: an IntEnum travels as `underlying` (e.g. ``@wire_enum(UInt8)``)."""

    def mark(cls: type[enum.IntEnum]) -> type[enum.IntEnum]:
        if not (isinstance(cls, type) and issubclass(cls, enum.IntEnum)):
            raise TypeError("@wire_enum decorates an enum.IntEnum")
        if not isinstance(underlying, IntegerType):
            raise TypeError("@wire_enum needs an integer marker such as UInt8")
        cls.__airlock_underlying__ = underlying
        return cls

    return mark


_struct_cache: dict[type, StructType] = {}


def spec_of(annotation: Any) -> WireType:
    """The WireType of a marker, a @wire_enum IntEnum or a dataclass (members in field order)."""
    if isinstance(annotation, WireType):
        return annotation
    if annotation is bool:
        return Bool
    if isinstance(annotation, type) and issubclass(annotation, enum.IntEnum):
        underlying = getattr(annotation, "__airlock_underlying__", None)
        if underlying is None:
            raise TypeError(f"enum {annotation.__name__} needs @wire_enum(UInt8) (or another width) to travel")
        return EnumType(annotation, underlying)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        cached = _struct_cache.get(annotation)
        if cached is not None:
            return cached
        namespace = vars(sys.modules[annotation.__module__]) if annotation.__module__ in sys.modules else {}
        members = []
        for member in dataclasses.fields(annotation):
            declared = member.type
            if isinstance(declared, str):  # `from __future__ import annotations`
                try:
                    declared = eval(declared, dict(namespace), dict(vars(annotation)))  # noqa: S307 - the module's own annotation
                except NameError as error:
                    raise TypeError(f"{annotation.__name__}.{member.name}: cannot resolve the annotation {declared!r} "
                                    f"({error}); declare message types at module level") from None
            try:
                members.append((member.name, spec_of(declared)))
            except TypeError as error:
                raise TypeError(f"{annotation.__name__}.{member.name}: {error}") from None
        spec = StructType(annotation, members)
        _struct_cache[annotation] = spec
        return spec
    raise TypeError(f"{annotation!r} is not a wire type: use Int8..UInt64, Bool, String[N], Bytes[N], "
                    "Vector[T, N], Optional[T], Fd, a @wire_enum IntEnum or a dataclass")


def describe(annotation: Any) -> str:
    """The canonical description (docs/wire-format.md §6), e.g. ``struct Grant{name:string<64>,fd:fd}``."""
    return spec_of(annotation).describe()


def encode_value(annotation: Any, value: Any) -> tuple[bytes, list[int]]:
    """The body and the descriptors (borrowed, not duplicated) of `value`."""
    out = Encoder()
    spec_of(annotation).encode(value, out, "")
    return out.body(), out.fds


def decode_value(annotation: Any, body: bytes | memoryview, fds: list[int]) -> Any:
    """Decodes a whole body. The received descriptors are owned by the result on success and
    all closed on failure (a WireError Malformed naming the member path)."""
    source = Decoder(body, fds)
    try:
        value = spec_of(annotation).decode(source, "")
        if source.remaining():
            raise WireError(StatusCode.Malformed, f"{source.remaining()} trailing bytes after the value")
        unused = [index for index, used in enumerate(source.used) if not used]
        if unused:
            raise WireError(StatusCode.Malformed, f"descriptor index {unused[0]} was received but not referenced")
        return value
    except WireError:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        raise
