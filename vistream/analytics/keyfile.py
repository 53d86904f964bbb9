"""A reader for DeepStream's GKeyFile-style config files that remembers where every key came from.

DeepStream reads its ``.txt`` configs with GLib's ``GKeyFile``: ``[group]`` headers, ``key=value`` lines,
``#`` comment lines, lists separated by ``;`` (a trailing ``;`` is allowed). ``configparser`` cannot be used
as is: it treats ``;`` as a comment marker in places and forgets line numbers, and every error here must
name ``file:line``. Besides GKeyFile, a trailing ``  # comment`` after a value is tolerated because many
published DeepStream configs carry one.

>>> kf = KeyFile.parse("[property]\\nenable=1\\n", "example.txt")
>>> kf.group("property").get_bool("enable")
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_TRAILING_COMMENT = re.compile(r"\s+#.*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class KeyFileError(ValueError):
    """A config file problem; the message starts with ``file:line:``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path, self.line, self.detail = path, line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


class ConfigWarning(UserWarning):
    """An unknown group or key in a config file (ignored); the message starts with ``file:line:``."""


@dataclass(slots=True)
class Entry:
    """One ``key=value`` line."""

    key: str
    value: str
    line: int


@dataclass
class Group:
    """One ``[name]`` section: its entries in file order (a repeated key keeps the last value, as GKeyFile)."""

    name: str
    line: int
    path: str
    entries: dict[str, Entry] = field(default_factory=dict)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def entry(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def error(self, key_or_entry: str | Entry | None, message: str) -> KeyFileError:
        """A :class:`KeyFileError` located at a key's line (or the group header when the key is absent)."""
        e = self.entries.get(key_or_entry) if isinstance(key_or_entry, str) else key_or_entry
        line = e.line if e is not None else self.line
        where = f"[{self.name}] {e.key}: " if e is not None else f"[{self.name}]: "
        return KeyFileError(self.path, line, where + message)

    def get_str(self, key: str, default: str | None = None) -> str | None:
        e = self.entries.get(key)
        return default if e is None else e.value

    def get_int(self, key: str, default: int | None = None, *, min_value: int | None = None,
                max_value: int | None = None) -> int | None:
        e = self.entries.get(key)
        if e is None:
            return default
        v = parse_int(e.value)
        if v is None:
            raise self.error(e, f"expected an integer, got {e.value!r}")
        if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
            lo = "-inf" if min_value is None else min_value
            hi = "inf" if max_value is None else max_value
            raise self.error(e, f"value {v} is out of range [{lo}, {hi}]")
        return v

    def get_float(self, key: str, default: float | None = None, *, min_value: float | None = None) -> float | None:
        e = self.entries.get(key)
        if e is None:
            return default
        try:
            v = float(e.value)
        except ValueError:
            raise self.error(e, f"expected a number, got {e.value!r}") from None
        if min_value is not None and v < min_value:
            raise self.error(e, f"value {v} must be >= {min_value}")
        return v

    def get_bool(self, key: str, default: bool | None = None) -> bool | None:
        e = self.entries.get(key)
        if e is None:
            return default
        v = e.value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
        raise self.error(e, f"expected 0/1 or true/false, got {e.value!r}")

    def get_choice(self, key: str, choices: dict[str, object], default: object = None) -> object:
        """The value mapped through ``choices`` (matched case-insensitively)."""
        e = self.entries.get(key)
        if e is None:
            return default
        v = e.value.strip().lower()
        if v not in choices:
            raise self.error(e, f"expected one of {', '.join(sorted(choices))}, got {e.value!r}")
        return choices[v]

    def get_int_list(self, key: str, default: list[int] | None = None) -> list[int] | None:
        e = self.entries.get(key)
        if e is None:
            return default
        return int_list(self, e)

    def get_float_list(self, key: str, default: list[float] | None = None) -> list[float] | None:
        e = self.entries.get(key)
        if e is None:
            return default
        return float_list(self, e)


def split_list(value: str) -> list[str]:
    """GKeyFile list items: ``"1;2;3;"`` → ``["1", "2", "3"]`` (blank items dropped)."""
    return [p.strip() for p in value.split(";") if p.strip() != ""]


def parse_int(text: str) -> int | None:
    t = text.strip()
    try:
        return int(t, 0) if t.lower().startswith(("0x", "-0x")) else int(t)
    except ValueError:
        return None


def int_list(group: Group, e: Entry) -> list[int]:
    out = []
    for item in split_list(e.value):
        v = parse_int(item)
        if v is None:
            raise group.error(e, f"expected a ';'-separated list of integers, got {item!r} in {e.value!r}")
        out.append(v)
    return out


def float_list(group: Group, e: Entry) -> list[float]:
    out = []
    for item in split_list(e.value):
        try:
            out.append(float(item))
        except ValueError:
            raise group.error(e, f"expected a ';'-separated list of numbers, got {item!r} in {e.value!r}") from None
    return out


@dataclass
class KeyFile:
    """A parsed config file: its groups in file order (a repeated group header merges into the first)."""

    path: str
    groups: dict[str, Group] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> KeyFile:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyFileError(str(p), 0, "config file not found") from None
        except UnicodeDecodeError as exc:
            raise KeyFileError(str(p), 0, f"config file is not UTF-8 text ({exc})") from None
        return cls.parse(text, str(p))

    @classmethod
    def parse(cls, text: str, path: str = "<string>") -> KeyFile:
        kf = cls(path)
        current: Group | None = None
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                if not line.endswith("]") or len(line) < 3:
                    raise KeyFileError(path, lineno, f"malformed group header {line!r}")
                name = line[1:-1].strip()
                current = kf.groups.get(name)
                if current is None:
                    current = kf.groups[name] = Group(name, lineno, path)
                continue
            if "=" not in line:
                raise KeyFileError(path, lineno, f"expected 'key=value' or '[group]', got {line!r}")
            if current is None:
                raise KeyFileError(path, lineno, f"key outside any group: {line!r}")
            key, value = line.split("=", 1)
            key = key.strip()
            if not key:
                raise KeyFileError(path, lineno, f"empty key in {line!r}")
            value = _TRAILING_COMMENT.sub("", value).strip()
            current.entries.pop(key, None)  # keep file order of the last occurrence
            current.entries[key] = Entry(key, value, lineno)
        return kf

    def __contains__(self, name: str) -> bool:
        return name in self.groups

    def __iter__(self) -> Iterator[Group]:
        return iter(self.groups.values())

    def group(self, name: str) -> Group | None:
        return self.groups.get(name)
