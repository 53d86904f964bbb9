"""Caps: a media type, optional features such as ``memory:NVMM`` and typed fields, as in GStreamer."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from vistream.core.errors import VistreamError

NVMM = "memory:NVMM"

_TYPED = re.compile(r"^\(\s*(\w+)\s*\)\s*(.*)$")


class CapsError(VistreamError, ValueError):
    pass


def _parse_value(text: str) -> Any:
    text = text.strip()
    m = _TYPED.match(text)
    if m:
        kind, raw = m.group(1).lower(), m.group(2).strip()
        if kind in ("int", "i", "uint"):
            return int(raw)
        if kind in ("float", "double", "f", "d"):
            return float(raw)
        if kind in ("fraction",):
            return Fraction(raw)
        if kind in ("boolean", "bool", "b"):
            return raw.lower() in ("true", "1", "yes")
        if kind in ("string", "s"):
            return raw.strip('"')
        text = raw
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+/\d+", text):
        return Fraction(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?", text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        return f"(boolean){'true' if v else 'false'}"
    if isinstance(v, int):
        return f"(int){v}"
    if isinstance(v, Fraction):
        return f"(fraction){v.numerator}/{v.denominator}"
    if isinstance(v, float):
        return f"(double){v:g}"
    if isinstance(v, (bytes, bytearray)):
        return f"(buffer){bytes(v[:16]).hex()}{'…' if len(v) > 16 else ''}"
    if isinstance(v, str):
        return f"(string){v}"
    return f"(object){type(v).__name__}"


class Caps:
    """Capabilities of a stream, e.g. ``Caps.from_string("video/x-raw(memory:NVMM),format=RGBA,width=640")``.

    Fields hold Python values (int, float, Fraction, str, bool, bytes).
    """

    __slots__ = ("media_type", "features", "fields")

    def __init__(self, media_type: str = "ANY", features: tuple[str, ...] = (), **fields: Any):
        self.media_type = media_type
        self.features = tuple(features)
        self.fields: dict[str, Any] = {k.replace("_", "-"): v for k, v in fields.items()}

    @classmethod
    def from_string(cls, text: str) -> Caps:
        text = text.strip()
        if not text:
            raise CapsError("empty caps")
        if text == "ANY":
            return cls()
        parts = _split_commas(text)
        head = parts[0].strip()
        m = re.fullmatch(r"([\w.+-]+/[\w.+-]+)\s*(?:\(([^)]*)\))?", head)
        if not m:
            raise CapsError(f"invalid caps media type {head!r} (expected e.g. video/x-raw)")
        features = tuple(f.strip() for f in m.group(2).split(",")) if m.group(2) else ()
        caps = cls(m.group(1), features)
        for part in parts[1:]:
            if "=" not in part:
                raise CapsError(f"invalid caps field {part.strip()!r} (expected name=value)")
            key, value = part.split("=", 1)
            caps.fields[key.strip()] = _parse_value(value)
        return caps

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def copy(self, **updates: Any) -> Caps:
        c = Caps(self.media_type, self.features)
        c.fields = dict(self.fields)
        for k, v in updates.items():
            c.fields[k.replace("_", "-")] = v
        return c

    @property
    def is_any(self) -> bool:
        return self.media_type == "ANY"

    @property
    def is_nvmm(self) -> bool:
        return NVMM in self.features

    def is_compatible(self, other: Caps) -> bool:
        """True if the two caps can describe the same stream (same media type, no conflicting fields)."""
        if self.is_any or other.is_any:
            return True
        if self.media_type != other.media_type:
            return False
        for k, v in self.fields.items():
            if k in other.fields and type(v) in (int, float, str, bool, Fraction) and other.fields[k] != v:
                return False
        return True

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Caps):
            return False
        if self.media_type != other.media_type or self.features != other.features:
            return False
        public = {k: v for k, v in self.fields.items() if not k.startswith("_")}
        return public == {k: v for k, v in other.fields.items() if not k.startswith("_")}

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        if self.is_any:
            return "ANY"
        head = self.media_type + (f"({','.join(self.features)})" if self.features else "")
        fields = "".join(f", {k}={_format_value(v)}" for k, v in self.fields.items() if not k.startswith("_"))
        return head + fields

    __repr__ = __str__


def _split_commas(text: str) -> list[str]:
    """Split on commas that are not inside parentheses or quotes."""
    parts, depth, quote, cur = [], 0, False, []
    for ch in text:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


# Raw video formats understood by the CPU path: name -> (channels, numpy layout note)
VIDEO_FORMATS: dict[str, int] = {
    "RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4, "BGRx": 4, "RGBx": 4, "GRAY8": 1, "NV12": 1, "I420": 1,
}
