"""Typed property declarations. One declaration drives the launch parser, ``set_property`` and ``inspect``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vistream.core.caps import Caps, CapsError
from vistream.core.errors import PropertyError

_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}

INT_LIMITS = {
    "int": (-(2**31), 2**31 - 1),
    "uint": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


@dataclass(frozen=True)
class Property:
    """A typed element property: ``name`` (dashed, as users type it), ``type``, ``default``, ``doc``.

    ``type`` is one of int, uint, int64, uint64, float, double, bool, string, enum, fraction, caps, object.
    Enums carry ``choices``: ``(value, nick, description)`` triples; they are stored as their int value.
    """

    name: str
    type: str
    default: Any
    doc: str
    minimum: Any = None
    maximum: Any = None
    choices: tuple[tuple[int, str, str], ...] = ()
    readonly: bool = False

    # --- convenience constructors -------------------------------------------------------------------------
    @classmethod
    def int(cls, name: str, default: int, doc: str, minimum: int | None = None, maximum: int | None = None,
            kind: str = "int") -> Property:
        lo, hi = INT_LIMITS[kind]
        return cls(name, kind, default, doc, lo if minimum is None else minimum, hi if maximum is None else maximum)

    @classmethod
    def uint(cls, name: str, default: int, doc: str, minimum: int | None = None, maximum: int | None = None) -> Property:
        return cls.int(name, default, doc, minimum, maximum, kind="uint")

    @classmethod
    def int64(cls, name: str, default: int, doc: str, minimum: int | None = None, maximum: int | None = None) -> Property:
        return cls.int(name, default, doc, minimum, maximum, kind="int64")

    @classmethod
    def float(cls, name: str, default: float, doc: str, minimum: float | None = None,
              maximum: float | None = None) -> Property:
        return cls(name, "double", default, doc, minimum, maximum)

    @classmethod
    def bool(cls, name: str, default: bool, doc: str) -> Property:
        return cls(name, "bool", default, doc)

    @classmethod
    def string(cls, name: str, default: str | None, doc: str) -> Property:
        return cls(name, "string", default, doc)

    @classmethod
    def enum(cls, name: str, default: int, doc: str, choices: list[tuple[int, str, str]]) -> Property:
        return cls(name, "enum", default, doc, choices=tuple(choices))

    @classmethod
    def fraction(cls, name: str, default: Fraction, doc: str) -> Property:
        return cls(name, "fraction", default, doc)

    @classmethod
    def caps(cls, name: str, doc: str) -> Property:
        return cls(name, "caps", None, doc)

    @classmethod
    def object(cls, name: str, doc: str, default: Any = None) -> Property:
        return cls(name, "object", default, doc)

    # --- value handling ---------------------------------------------------------------------------------
    def coerce(self, value: Any, element: str | None = None) -> Any:
        """Convert ``value`` (a Python value or the string a user typed) to this property's type.

        Raises :class:`PropertyError` naming the element and property when the value is invalid.
        """

        def fail(msg: str) -> PropertyError:
            return PropertyError(msg, element, self.name)

        t = self.type
        if t in INT_LIMITS:
            if isinstance(value, bool):
                value = int(value)
            if isinstance(value, str):
                try:
                    value = int(value.strip(), 0)
                except ValueError:
                    raise fail(f"invalid value {value!r}: expected an integer") from None
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int):
                raise fail(f"invalid value {value!r}: expected an integer")
            if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
                raise fail(f"value {value} out of range {self.minimum}..{self.maximum}")
            return value
        if t in ("float", "double"):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise fail(f"invalid value {value!r}: expected a number") from None
            if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
                raise fail(f"value {value:g} out of range {self.minimum:g}..{self.maximum:g}")
            return value
        if t == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            s = str(value).strip().lower()
            if s in _TRUE:
                return True
            if s in _FALSE:
                return False
            raise fail(f"invalid value {value!r}: expected true or false")
        if t == "string":
            return None if value is None else str(value)
        if t == "enum":
            return self._coerce_enum(value, fail)
        if t == "fraction":
            try:
                frac = value if isinstance(value, Fraction) else Fraction(str(value).strip())
            except (ValueError, ZeroDivisionError):
                raise fail(f"invalid value {value!r}: expected a fraction such as 30/1") from None
            return frac
        if t == "caps":
            if isinstance(value, Caps) or value is None:
                return value
            try:
                return Caps.from_string(str(value))
            except CapsError as e:
                raise fail(str(e)) from None
        return value

    def _coerce_enum(self, value: Any, fail) -> int:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            if any(v == value for v, _, _ in self.choices):
                return value
            raise fail(f"invalid value {value}: expected one of {self.choices_text()}")
        s = str(value).strip()
        try:
            return self._coerce_enum(int(s, 0), fail)
        except ValueError:
            pass
        for v, nick, desc in self.choices:
            if s.lower() in (nick.lower(), desc.lower()):
                return v
        raise fail(f"invalid value {s!r}: expected one of {self.choices_text()}")

    def choices_text(self) -> str:
        return ", ".join(f"{v} ({nick})" for v, nick, _ in self.choices)

    def nick(self, value: int) -> str:
        for v, nick, _ in self.choices:
            if v == value:
                return nick
        return str(value)

    def format(self, value: Any) -> str:
        """The value as gst-launch would print it."""
        if self.type == "enum":
            return f"{self.nick(value)}"
        if self.type == "bool":
            return "true" if value else "false"
        if isinstance(value, Fraction):
            return f"{value.numerator}/{value.denominator}"
        if value is None:
            return '"(null)"' if self.type == "string" else "NULL"
        return str(value)

    def type_text(self) -> str:
        names = {"int": "Integer", "uint": "Unsigned Integer", "int64": "Integer64", "uint64": "Unsigned Integer64",
                 "double": "Double", "float": "Float", "bool": "Boolean", "string": "String", "enum": "Enum",
                 "fraction": "Fraction", "caps": "Caps", "object": "Object"}
        return names.get(self.type, self.type)


def suggest(name: str, candidates: list[str]) -> str:
    """`` (did you mean "x"?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
