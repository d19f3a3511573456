"""Field types of the wire schema and the ``@wire`` decorator for records.

A record (a struct of docs/PROTOCOL.md) is a frozen dataclass whose
``WIRE`` attribute lists ``(field name, field type)`` in declaration order;
the field types below know how to write and read one value with a
:class:`~battlegrid_client.wire.Writer` / :class:`~battlegrid_client.wire.Reader`.
The concrete records and messages live in ``messages.py``; this module
holds no protocol knowledge beyond the encoding rules of each type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from .wire import EncodeError, Reader, Writer


class FieldType:
    """How one value of a field is encoded."""

    #: Fewest bytes one value can take; used to bound list lengths early.
    min_size = 1

    def encode(self, w: Writer, value: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, r: Reader) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class UInt(FieldType):
    """An unsigned integer: ``u8`` as one raw byte, wider ones as varints."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def encode(self, w: Writer, value: int) -> None:
        if self.bits == 8:
            w.u8(value)
        else:
            w.uint(value, self.bits)

    def decode(self, r: Reader) -> int:
        return r.u8() if self.bits == 8 else r.uint(self.bits)


class SInt(FieldType):
    """A signed integer: zigzag then varint (``i8`` included, as bincode does)."""

    def __init__(self, bits: int) -> None:
        self.bits = bits

    def encode(self, w: Writer, value: int) -> None:
        if self.bits == 8:
            # bincode writes i8 as one raw two's-complement byte.
            if not isinstance(value, int) or not -128 <= value < 128:
                raise EncodeError(f"{value!r} does not fit a signed 8-bit integer")
            w.u8(value & 0xFF)
        else:
            w.sint(value, self.bits)

    def decode(self, r: Reader) -> int:
        if self.bits == 8:
            byte = r.u8()
            return byte - 256 if byte >= 128 else byte
        return r.sint(self.bits)


class F32Type(FieldType):
    """IEEE-754 binary32, little-endian."""

    min_size = 4

    def encode(self, w: Writer, value: float) -> None:
        w.f32(value)

    def decode(self, r: Reader) -> float:
        return r.f32()


class BoolType(FieldType):
    """One byte, 0 or 1."""

    def encode(self, w: Writer, value: bool) -> None:
        w.boolean(value)

    def decode(self, r: Reader) -> bool:
        return r.boolean()


class StrType(FieldType):
    """Varint byte length, then UTF-8."""

    def encode(self, w: Writer, value: str) -> None:
        w.string(value)

    def decode(self, r: Reader) -> str:
        return r.string()


class VecOf(FieldType):
    """Varint count, then the elements back to back. Decodes to a tuple."""

    def __init__(self, item: FieldType) -> None:
        self.item = item

    def encode(self, w: Writer, value: Any) -> None:
        items = list(value)
        w.length(len(items))
        for item in items:
            self.item.encode(w, item)

    def decode(self, r: Reader) -> tuple:
        count = r.length(self.item.min_size)
        return tuple(self.item.decode(r) for _ in range(count))


class OptionOf(FieldType):
    """Tag 0 for ``None``; tag 1 then the value."""

    def __init__(self, item: FieldType) -> None:
        self.item = item

    def encode(self, w: Writer, value: Any) -> None:
        if value is None:
            w.u8(0)
        else:
            w.u8(1)
            self.item.encode(w, value)

    def decode(self, r: Reader) -> Any:
        return self.item.decode(r) if r.option_tag() else None


class StructOf(FieldType):
    """A nested record: its fields in order, nothing around them."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.min_size = sum(t.min_size for _, t in cls.WIRE)

    def encode(self, w: Writer, value: Any) -> None:
        encode_fields(w, value)

    def decode(self, r: Reader) -> Any:
        return decode_fields(r, self.cls)


U16 = UInt(16)
U32 = UInt(32)
U64 = UInt(64)
F32 = F32Type()
STR = StrType()

T = TypeVar("T")


def wire(*fields: tuple[str, FieldType]) -> Callable[[type[T]], type[T]]:
    """Makes a frozen dataclass whose fields are encoded in the given order.

    The class body declares the annotations; ``fields`` gives the wire
    order and types, and must name exactly the dataclass fields.
    """

    def apply(cls: type[T]) -> type[T]:
        cls.WIRE = tuple(fields)  # type: ignore[attr-defined]
        out = dataclasses.dataclass(frozen=True)(cls)
        names = [f.name for f in dataclasses.fields(out)]
        if names != [name for name, _ in fields]:
            raise TypeError(f"{cls.__name__}: wire fields {fields} do not match {names}")
        return out

    return apply


def encode_fields(w: Writer, record: Any) -> None:
    """Writes every field of ``record`` in wire order."""
    for name, ftype in record.WIRE:
        ftype.encode(w, getattr(record, name))


def decode_fields(r: Reader, cls: type[T]) -> T:
    """Reads the fields of ``cls`` in wire order and builds it."""
    return cls(*(ftype.decode(r) for _, ftype in cls.WIRE))  # type: ignore[attr-defined]


__all__ = [
    "F32",
    "STR",
    "U16",
    "U32",
    "U64",
    "BoolType",
    "FieldType",
    "OptionOf",
    "SInt",
    "StructOf",
    "UInt",
    "VecOf",
    "decode_fields",
    "encode_fields",
    "wire",
]
